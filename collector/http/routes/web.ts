// The fleet web page and the reads it needs that the rest of the API does not give.
//
// `webPage` (open, at the root) serves the page built by scripts/build-web.mjs from dist/web: read
// once at start, so a rebuild needs a restart, and a missing build is a 503 that says how to make
// one. The page holds no data; every figure comes from /api with the token the user typed, so the
// page itself needs none. Its Content-Security-Policy allows this origin only: no CDN, no inline
// script, no remote connection.
//
// `webApiRoutes` (inside the /api scope, behind its token check): a device's drift per feature per
// window, a model version's fleet drift heatmap (feature x time), the devices drifting most, and a
// paged, searchable, sortable device list with the fleet's online counts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { compareProfiles } from '../../../agent/drift/index.js';
import { seaText } from '../../../agent/sea.js';
import { WindowProfile } from '../../../agent/profile/index.js';
import { decodeBody } from '../../../agent/wire/index.js';
import { DAY_MS, FLEET, MAX_BUCKETS, defaultResolution, type Resolution } from '../../fleet/index.js';
import type { DeviceRow } from '../../store/index.js';
import type { RouteContext } from '../api.js';
import { parseScope } from './fleet.js';
import { badRequest, notFound, parseInstant, parseLimit, parseText } from '../query.js';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** dist/web beside the bundle (dist/edgewatch-collector.js), or the repository's dist/web from source. */
export function defaultWebDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(here) === 'dist' ? path.join(here, 'web') : path.resolve(here, '../../../dist/web');
}

interface PageFile {
  body: Buffer;
  type: string;
}

/** The built page's files by name, or why there are none. */
function readPage(dir: string): Map<string, PageFile> | string {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return `the web page is not built (no ${dir}): run node scripts/build-web.mjs (npm run build) and restart the collector`;
  }
  const files = new Map<string, PageFile>();
  for (const name of names) {
    const type = CONTENT_TYPES[path.extname(name)];
    const file = path.join(dir, name);
    if (type !== undefined && fs.statSync(file).isFile()) files.set(name, { body: fs.readFileSync(file), type });
  }
  if (!files.has('index.html')) return `the web page is not built (no index.html in ${dir}): run node scripts/build-web.mjs and restart the collector`;
  return files;
}

export interface WebPageOptions {
  /** Where the built page is; defaultWebDir() unless a test builds it elsewhere. */
  dir?: string;
}

/** The asset holding the built page in the single executable: JSON, file name -> base64. */
export const WEB_PAGE_ASSET = 'web-page.json';

/** The page packed into the single executable, or null when not running as one. */
function packedPage(): Map<string, PageFile> | null {
  const packed = seaText(WEB_PAGE_ASSET);
  if (packed === null) return null;
  const files = new Map<string, PageFile>();
  for (const [name, base64] of Object.entries(JSON.parse(packed) as Record<string, string>)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type !== undefined) files.set(name, { body: Buffer.from(base64, 'base64'), type });
  }
  return files;
}

export const webPage: FastifyPluginAsync<WebPageOptions> = async (app, opts) => {
  const page = (opts.dir === undefined ? packedPage() : null) ?? readPage(opts.dir ?? defaultWebDir());
  const send = (reply: FastifyReply, name: string) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    if (typeof page === 'string') return reply.code(503).send({ error: 'unavailable', message: page });
    const file = page.get(name);
    if (file === undefined) return reply.code(404).send({ error: 'not_found', message: `no asset ${JSON.stringify(name)}; the page's assets are ${[...page.keys()].filter((n) => n !== 'index.html').join(', ')}` });
    // Asset names carry no hash, so the browser asks again each time (an unchanged file is small).
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
  };
  app.get('/', async (_req, reply) => send(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => send(reply, req.params['*']));
};

// ---- JSON routes for the page, under /api ----

/** A device's drift answer covers its newest windows, at most this many. */
export const MAX_DRIFT_WINDOWS = 500;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const SORTS = ['id', 'site', 'last_seen', 'online', 'summaries'] as const;
type DeviceSort = (typeof SORTS)[number];
const RESOLUTIONS: readonly Resolution[] = ['window', 'hour', 'day'];

export interface FeatureDriftCell {
  drift: boolean;
  psi: number;
  p_value: number | null;
}

interface VersionParams {
  model: string;
  version: string;
}

type Query = Record<string, unknown>;

export const webApiRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get<{ Params: { id: string }; Querystring: Query }>('/devices/:id/drift', async (req) => {
    const id = req.params.id;
    const device = store.device(id);
    if (device === null) throw notFound(`no device ${JSON.stringify(id)} has reported to this collector`);
    const q = req.query;
    const model = parseText('model', q['model']) ?? device.models[0]?.model;
    const from = parseInstant('from', q['from']);
    const to = parseInstant('to', q['to']);
    if (from !== undefined && to !== undefined && to <= from) throw badRequest(`to (${to}) must be after from (${from})`);
    if (model === undefined) return { device: id, model: null, windows: [] };
    // The newest windows' starts bound the bodies read, so an old device is not read whole.
    const recent = store.windows(id, { model, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), limit: MAX_DRIFT_WINDOWS });
    const first = recent[0];
    const last = recent.at(-1);
    if (first === undefined || last === undefined) return { device: id, model, windows: [] };
    const windows = new Map<string, { start: number; end: number; version: string; drift_share: number | null; report: boolean; features: Record<string, FeatureDriftCell> }>();
    for (const b of store.summaryBodies(id, model, first.start_ms, last.start_ms + 1)) {
      const decoded = decodeBody('summary', b.body);
      if (!decoded.ok || (decoded.value.kind !== 'summary' && decoded.value.kind !== 'revision')) continue;
      const body = decoded.value.body;
      const key = `${b.model_version}\u0000${b.start_ms}`;
      let w = windows.get(key);
      if (w === undefined) {
        w = { start: b.start_ms, end: b.end_ms, version: b.model_version, drift_share: null, report: false, features: {} };
        windows.set(key, w);
      }
      w.drift_share ??= body.stats.drift_share;
      // A summary in parts carries its features across the parts: their reports add up.
      const features = driftFeatures(body.drift);
      if (features !== null) {
        w.report = true;
        Object.assign(w.features, features);
      }
    }
    return { device: id, model, windows: [...windows.values()] };
  });

  app.get<{ Params: VersionParams; Querystring: Query }>('/models/:model/versions/:version/heatmap', async (req) => {
    const { model, version } = req.params;
    const q = req.query;
    const { from, to } = range(q, ctx.now());
    const res = parseText('resolution', q['resolution']);
    if (res !== undefined && !RESOLUTIONS.includes(res as Resolution)) throw badRequest(`resolution: got ${JSON.stringify(res)}, expected window, hour or day`);
    const resolution = (res as Resolution | undefined) ?? defaultResolution(from, to);
    const baseline = store.baselineFor(model, version);
    if (baseline === null) throw notFound(`no baseline for ${model} version ${version} (nor for every version, "*"): upload one to see fleet drift`);
    const scope = parseScope(q);
    const query = { model, version, scope, resolution, from, to };
    const n = store.fleetBucketCount(query);
    if (n > MAX_BUCKETS) throw badRequest(`the range holds ${n} ${resolution} buckets, more than ${MAX_BUCKETS} compared in one request: ask for a coarser resolution or a shorter range`);
    const base = WindowProfile.decode(baseline.profile);
    const buckets = store.fleetBuckets(query).map((b) => {
      const report = compareProfiles(base, b.profile);
      const features: Record<string, { psi: number; drift: boolean }> = {};
      for (const [name, f] of Object.entries(report.features)) features[name] = { psi: f.psi, drift: f.drift };
      return { start: b.start, windows: b.windows, share: report.dataset.share, features };
    });
    return { model, version, scope: scope === FLEET ? 'fleet' : scope, baseline: baseline.model_version, resolution, from, to, buckets };
  });

  app.get<{ Params: VersionParams; Querystring: Query }>('/models/:model/versions/:version/top-devices', async (req) => {
    const { model, version } = req.params;
    const { from, to } = range(req.query, ctx.now());
    const limit = parseLimit('limit', req.query['limit'], 10, 100);
    return { model, version, from, to, devices: store.topDriftingDevices(model, version, from, to, limit) };
  });

  app.get<{ Querystring: Query }>('/fleet/devices', async (req) => {
    const q = req.query;
    const offset = parseOffset(q['offset']);
    const limit = parseLimit('limit', q['limit'], DEFAULT_PAGE, MAX_PAGE);
    const search = parseText('q', q['q'])?.toLowerCase();
    const sort = (parseText('sort', q['sort']) ?? 'id') as DeviceSort;
    if (!SORTS.includes(sort)) throw badRequest(`sort: got ${JSON.stringify(sort)}, expected one of ${SORTS.join(', ')}`);
    const order = parseText('order', q['order']) ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw badRequest(`order: got ${JSON.stringify(order)}, expected asc or desc`);

    const all = store.devices();
    const counts = { online: 0, offline: 0, unknown: 0, total: all.length, matched: 0 };
    for (const d of all) {
      if (d.online === true) counts.online++;
      else if (d.online === false) counts.offline++;
      else counts.unknown++;
    }
    const matched = search === undefined ? all : all.filter((d) => d.id.toLowerCase().includes(search) || d.site.toLowerCase().includes(search));
    counts.matched = matched.length;
    const key = sortKey(sort);
    const sign = order === 'asc' ? 1 : -1;
    matched.sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      return (x < y ? -sign : x > y ? sign : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    });
    // Models and versions only for the page's rows: a query per device, 50 at a time.
    const devices = matched.slice(offset, offset + limit).map((d) => ({
      ...d,
      models: (store.device(d.id)?.models ?? []).map((m) => ({ model: m.model, versions: m.versions })),
    }));
    return { counts, offset, limit, sort, order, devices };
  });
};

/** [from, to): `to` defaults to now, `from` to a day before `to`, as the fleet route does. */
function range(q: Query, now: number): { from: number; to: number } {
  const to = parseInstant('to', q['to']) ?? now;
  const from = parseInstant('from', q['from']) ?? to - DAY_MS;
  if (to <= from) throw badRequest(`to (${to}) must be after from (${from})`);
  return { from, to };
}

function parseOffset(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) throw badRequest(`offset: got ${JSON.stringify(value)}, expected a whole number from 0`);
  return Number(value);
}

function sortKey(sort: DeviceSort): (d: DeviceRow) => string | number {
  switch (sort) {
    case 'id':
      return (d) => d.id;
    case 'site':
      return (d) => d.site;
    case 'last_seen':
      return (d) => d.last_seen;
    case 'summaries':
      return (d) => d.summaries;
    case 'online':
      // online, then offline, then never heard, when descending
      return (d) => (d.online === null ? 0 : d.online ? 2 : 1);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The per-feature verdicts of a stored drift report (the agent's JSON text), or null when there is
 * none or it does not parse: a report from another agent version must not fail the whole answer.
 */
export function driftFeatures(text: string | null): Record<string, FeatureDriftCell> | null {
  if (text === null) return null;
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(report) || !isObject(report['features'])) return null;
  const out: Record<string, FeatureDriftCell> = {};
  for (const [name, f] of Object.entries(report['features'])) {
    if (!isObject(f) || typeof f['drift'] !== 'boolean' || typeof f['psi'] !== 'number') continue;
    const test = f['type'] === 'numeric' ? f['ks'] : f['chi2'];
    const p = isObject(test) ? test['p_value'] : null;
    out[name] = { drift: f['drift'], psi: f['psi'], p_value: typeof p === 'number' ? p : null };
  }
  return out;
}
