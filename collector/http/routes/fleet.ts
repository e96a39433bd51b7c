// /api/models: the models and versions the fleet runs, and one version's fleet profile over a time
// range (the merge of every device's windows in it, for the fleet or one site), from the rollups.
import type { FastifyPluginAsync } from 'fastify';
import { DAY_MS, FLEET, MAX_BUCKETS, defaultResolution, siteScope, type Resolution } from '../../fleet/index.js';
import type { RouteContext } from '../api.js';
import { badRequest, parseInstant, parseText } from '../query.js';

interface VersionParams {
  model: string;
  version: string;
}

const RESOLUTIONS: readonly Resolution[] = ['window', 'hour', 'day'];

export const fleetRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get('/models', async () => ({ models: store.fleetModels() }));

  app.get<{ Params: VersionParams; Querystring: Record<string, unknown> }>('/models/:model/versions/:version/fleet', async (req) => {
    const q = req.query;
    const to = parseInstant('to', q['to']) ?? ctx.now();
    const from = parseInstant('from', q['from']) ?? to - DAY_MS;
    if (to <= from) throw badRequest(`to (${to}) must be after from (${from})`);
    const site = parseText('site', q['site']);
    const res = parseText('resolution', q['resolution']);
    if (res !== undefined && !RESOLUTIONS.includes(res as Resolution)) {
      throw badRequest(`resolution: got ${JSON.stringify(res)}, expected window, hour or day`);
    }
    const resolution = (res as Resolution | undefined) ?? defaultResolution(from, to);
    const query = { model: req.params.model, version: req.params.version, scope: site === undefined ? FLEET : siteScope(site), resolution, from, to };
    const n = store.fleetBucketCount(query);
    if (n > MAX_BUCKETS) {
      throw badRequest(`the range holds ${n} ${resolution} buckets, more than ${MAX_BUCKETS} merged in one request: ask for a coarser resolution or a shorter range`);
    }
    return store.fleetProfile(query);
  });
};
