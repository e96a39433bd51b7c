// /api/models: the models and versions the fleet runs; one version's fleet profile over a time range
// (the merge of every device's windows in it, for the fleet or one site, from the rollups) with its
// drift against the version's baseline; and the baselines themselves (uploading one is admin).
import type { FastifyPluginAsync } from 'fastify';
import { compareProfiles } from '../../../agent/drift/index.js';
import { WindowProfile } from '../../../agent/profile/index.js';
import { BaselineFileError, decodeBaselineFile, NAME_CHARS } from '../../../agent/wire/index.js';
import { DAY_MS, FLEET, MAX_BUCKETS, defaultResolution, siteScope, tagScope, type Resolution } from '../../fleet/index.js';
import type { RouteContext } from '../api.js';
import { callerOf, type RouteAuth } from '../auth.js';
import { badRequest, notFound, parseInstant, parseText } from '../query.js';

/** A baseline file is a profile of a few tens of KB; this leaves room for wide models. */
const MAX_BASELINE_BYTES = 16 * 1024 * 1024;
const ADMIN: RouteAuth = { role: 'admin' };

interface VersionParams {
  model: string;
  version: string;
}

const RESOLUTIONS: readonly Resolution[] = ['window', 'hour', 'day'];

/** The rollup scope a request asks for: `site=` or `tag=` (not both), else the whole fleet. */
export function parseScope(q: Record<string, unknown>): string {
  const site = parseText('site', q['site']);
  const tag = parseText('tag', q['tag']);
  if (site !== undefined && tag !== undefined) throw badRequest('give site or tag, not both');
  return site !== undefined ? siteScope(site) : tag !== undefined ? tagScope(tag) : FLEET;
}

export const fleetRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get('/models', async () => ({ models: store.fleetModels() }));

  app.get<{ Params: VersionParams; Querystring: Record<string, unknown> }>('/models/:model/versions/:version/fleet', async (req) => {
    const q = req.query;
    const to = parseInstant('to', q['to']) ?? ctx.now();
    const from = parseInstant('from', q['from']) ?? to - DAY_MS;
    if (to <= from) throw badRequest(`to (${to}) must be after from (${from})`);
    const scope = parseScope(q);
    const res = parseText('resolution', q['resolution']);
    if (res !== undefined && !RESOLUTIONS.includes(res as Resolution)) {
      throw badRequest(`resolution: got ${JSON.stringify(res)}, expected window, hour or day`);
    }
    const resolution = (res as Resolution | undefined) ?? defaultResolution(from, to);
    const query = { model: req.params.model, version: req.params.version, scope, resolution, from, to };
    const n = store.fleetBucketCount(query);
    if (n > MAX_BUCKETS) {
      throw badRequest(`the range holds ${n} ${resolution} buckets, more than ${MAX_BUCKETS} merged in one request: ask for a coarser resolution or a shorter range`);
    }
    const fleet = store.fleetProfile(query);
    // Fleet drift: the merged profile against the version's baseline, by the agents' default rule.
    const baseline = store.baselineFor(query.model, query.version);
    let drift: unknown = null;
    if (baseline !== null && fleet.merged !== null) drift = compareProfiles(WindowProfile.decode(baseline.profile), fleet.merged);
    const { merged: _merged, ...rest } = fleet;
    return { ...rest, baseline: baseline === null ? null : baselineInfo(baseline), drift };
  });

  // The same model's versions side by side over a range: devices, windows, records, latency,
  // quality and fleet drift against each version's baseline.
  app.get<{ Params: { model: string }; Querystring: Record<string, unknown> }>('/models/:model/compare', async (req) => {
    const q = req.query;
    const to = parseInstant('to', q['to']) ?? ctx.now();
    const from = parseInstant('from', q['from']) ?? to - DAY_MS;
    if (to <= from) throw badRequest(`to (${to}) must be after from (${from})`);
    const model = req.params.model;
    const resolution = defaultResolution(from, to);
    const devices = new Map(store.versionDeviceCounts(model, from, to).map((v) => [v.version, v.devices]));
    const listed = store.fleetModels().find((m) => m.model === model)?.versions.map((v) => v.version) ?? [];
    const versions = [...new Set([...listed, ...devices.keys()])].sort();
    const out = versions.map((version) => {
      const query = { model, version, scope: FLEET, resolution, from, to };
      if (store.fleetBucketCount(query) > MAX_BUCKETS) throw badRequest(`the range holds more than ${MAX_BUCKETS} ${resolution} buckets for version ${version}: shorten it`);
      const fleet = store.fleetProfile(query);
      const baseline = store.baselineFor(model, version);
      const p = fleet.profile;
      const drift = baseline !== null && fleet.merged !== null ? compareProfiles(WindowProfile.decode(baseline.profile), fleet.merged).dataset : null;
      return {
        version,
        devices: devices.get(version) ?? 0,
        windows: fleet.windows,
        records: fleet.records,
        errors: p?.errors.count ?? null,
        latency_ms: p === null || p.latency_ms.quantiles === null ? null : p.latency_ms.quantiles,
        quality: p?.quality ?? null,
        drift,
        baseline: baseline === null ? null : baselineInfo(baseline),
      };
    });
    return { model, from, to, resolution, versions: out };
  });

  app.get<{ Params: VersionParams }>('/models/:model/versions/:version/baseline', async (req) => {
    const b = store.baselineFor(req.params.model, req.params.version);
    if (b === null) throw notFound(`no baseline for ${req.params.model} version ${req.params.version} (nor for every version, "*")`);
    // Every distinct baseline the agents sent under the same key, merged in or kept out.
    return { ...baselineInfo(b), sent_by_agents: store.agentBaselines(b.model, b.model_version) };
  });

  // The body is a baseline file as `edgewatch-agent baseline --export` writes it; version "*" makes
  // it every version's. The file must be of the model named in the path.
  app.register(async (admin) => {
    admin.addContentTypeParser(['application/octet-stream', 'application/cbor'], { parseAs: 'buffer', bodyLimit: MAX_BASELINE_BYTES }, (_req, body, done) => done(null, body));
    admin.put<{ Params: VersionParams; Body: Buffer }>('/models/:model/versions/:version/baseline', { config: ADMIN }, async (req, reply) => {
      const { model, version } = req.params;
      if (!NAME_CHARS.test(model) || !(version === '*' || NAME_CHARS.test(version))) throw badRequest('model and version: expected 1-64 characters of A-Z a-z 0-9 . _ - (version "*": every version)');
      if (!Buffer.isBuffer(req.body)) throw badRequest('send the baseline file as the body, Content-Type: application/octet-stream');
      let parsed: ReturnType<typeof decodeBaselineFile>;
      try {
        parsed = decodeBaselineFile(req.body);
      } catch (err) {
        if (err instanceof BaselineFileError) throw badRequest(`the body ${err.why}`);
        throw err;
      }
      if (parsed.file.model !== model) throw badRequest(`the baseline file is of model ${JSON.stringify(parsed.file.model)}, not ${JSON.stringify(model)}`);
      const row = {
        model,
        model_version: version,
        profile: parsed.file.profile,
        records: parsed.file.records,
        source: parsed.file.source,
        created_at: parsed.file.created_at,
        uploaded_at: ctx.now(),
        uploaded_by: callerOf(req)?.name ?? 'unknown',
        agents: 0,
      };
      store.putBaseline(row);
      return reply.code(201).send(baselineInfo(row));
    });
  });
};

function baselineInfo(b: { model: string; model_version: string; records: number; source: string; created_at: number; uploaded_at: number; uploaded_by: string; agents: number }) {
  return {
    model: b.model,
    version: b.model_version,
    records: b.records,
    source: b.source,
    created_at: b.created_at,
    uploaded_at: b.uploaded_at,
    uploaded_by: b.uploaded_by,
    from: b.agents === 0 ? 'upload' : 'agents',
    agents: b.agents,
  };
}
