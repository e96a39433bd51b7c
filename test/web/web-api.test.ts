// The web page's routes over a real store filled by real ingest and folded by the fleet aggregator:
// a device's drift per feature, the fleet drift heatmap, the devices drifting most, the paged
// device list (and 10,000 devices), the token check, and the page itself (open, with its CSP).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareProfiles } from '../../agent/drift/index.js';
import { FleetAggregator } from '../../collector/fleet/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { driftFeatures } from '../../collector/http/routes/web.js';
import { harness, MIN, profile, status, summary, T0, windowBody, type Harness } from '../collector/messages.js';
import { buildWeb, buildWebApp } from './app.js';

const log = createCollectorLogger({ write: () => {} });
const TOKEN = 'web-api-test-token-0123';
const TOKENS = [{ name: 'page', token: TOKEN, role: 'read' as const }];
const WINDOWS = 40;
const DRIFT_FROM = 20;
const SITE = { d1: 's1', d2: 's1', d3: 's2' } as const;
const base = profile({ records: 3000, seed: 4242 });

describe('web API', () => {
  let h: Harness;
  let app: FastifyInstance;
  let webDir: string;

  beforeAll(async () => {
    webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-web-'));
    await buildWeb(webDir);
    h = harness();
    const put = (m: { topic: string; bytes: Uint8Array }) => expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
    for (const device of ['d1', 'd2', 'd3'] as const) {
      for (let w = 0; w < WINDOWS; w++) {
        // d3's x0 moves by 3 from window 20; d2 has no baseline (no report); d1's window 5 has a report that does not parse.
        const p = profile({ index: w, records: 60, seed: w + 100 * device.charCodeAt(1), ...(device === 'd3' && w >= DRIFT_FROM ? { shift: { x0: 3 } } : {}) });
        const report = compareProfiles(base, p);
        const drift = device === 'd2' ? null : device === 'd1' && w === 5 ? '{"features": not json}' : JSON.stringify(report);
        const stats = { ...windowBody(p).stats, drift_share: drift === null ? null : report.dataset.share, drifted: drift === null ? [] : report.dataset.drifted };
        put(summary({ device, site: SITE[device], seq: w + 1 }, windowBody(p, { drift, stats })));
      }
    }
    for (const st of [status({ device: 'd1', site: 's1', state: 'online' }), status({ device: 'd2', site: 's1', state: 'offline' })]) {
      expect(h.ingest.fromMqtt(st.topic, st.bytes).status).toBe('status');
    }
    new FleetAggregator(h.store.db, { log }).catchUp();
    h.store.putBaseline({ model: 'm', model_version: 'v1', profile: base.encode(), records: base.count, source: 'test', created_at: T0, uploaded_at: T0, uploaded_by: 'tests', agents: 0 });
    app = await buildWebApp(h.store, { log, tokens: TOKENS, now: () => T0 + WINDOWS * MIN, webDir });
  });

  afterAll(async () => {
    await app.close();
    h.close();
    fs.rmSync(webDir, { recursive: true, force: true });
  });

  const get = async (url: string) => {
    const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };

  interface DriftWindow { start: number; drift_share: number | null; report: boolean; features: Record<string, { drift: boolean; psi: number; p_value: number | null }> }

  it("answers a device's drift per feature per window from its stored reports", async () => {
    const { status: code, body } = await get('/api/devices/d3/drift?model=m');
    expect(code).toBe(200);
    expect(body['model']).toBe('m');
    const windows = body['windows'] as DriftWindow[];
    expect(windows.map((w) => w.start)).toEqual(Array.from({ length: WINDOWS }, (_, i) => T0 + i * MIN));
    for (const w of windows) {
      const moved = w.start >= T0 + DRIFT_FROM * MIN;
      expect(w.report).toBe(true);
      expect(Object.keys(w.features).sort()).toEqual(['x0', 'x1', 'x2']);
      expect(w.features['x0']!.drift, `x0 at window ${(w.start - T0) / MIN}`).toBe(moved);
      expect(w.features['x1']!.drift).toBe(false);
      expect(typeof w.features['x0']!.p_value).toBe('number');
      if (moved) expect(w.features['x0']!.psi).toBeGreaterThan(0.25);
    }
    // The model defaults to the device's first; from/to narrow the windows.
    const some = await get(`/api/devices/d3/drift?from=${T0 + 10 * MIN}&to=${T0 + 15 * MIN}`);
    expect((some.body['windows'] as DriftWindow[]).map((w) => (w.start - T0) / MIN)).toEqual([10, 11, 12, 13, 14]);
  });

  it('counts a report that does not parse, or none, as absent', async () => {
    const d1 = (await get('/api/devices/d1/drift?model=m')).body['windows'] as DriftWindow[];
    expect(d1[5]).toMatchObject({ report: false, features: {} });
    expect(d1[6]!.report).toBe(true);
    const d2 = (await get('/api/devices/d2/drift?model=m')).body['windows'] as DriftWindow[];
    expect(d2).toHaveLength(WINDOWS);
    expect(d2.every((w) => !w.report && w.drift_share === null)).toBe(true);
    expect(driftFeatures('{"features": {"a": {"type": "numeric", "drift": true, "psi": 0.4, "ks": {"p_value": 0.001}}, "b": {"psi": "x"}}}')).toEqual({ a: { drift: true, psi: 0.4, p_value: 0.001 } });
    expect(driftFeatures('[1, 2]')).toBeNull();
    expect((await get('/api/devices/nope/drift')).status).toBe(404);
    expect((await get('/api/devices/d1/drift?from=5&to=4')).status).toBe(400);
  });

  it('draws the fleet drift heatmap: each bucket against the baseline', async () => {
    const { status: code, body } = await get(`/api/models/m/versions/v1/heatmap?from=${T0}&to=${T0 + WINDOWS * MIN}&resolution=window`);
    expect(code).toBe(200);
    expect(body['resolution']).toBe('window');
    const buckets = body['buckets'] as { start: number; windows: number; share: number; features: Record<string, { psi: number; drift: boolean }> }[];
    expect(buckets).toHaveLength(WINDOWS);
    expect(buckets.every((b) => b.windows === 3)).toBe(true);
    // A third of each bucket's records moved by 3: the fleet sees x0 drift from window 20, and only x0.
    for (const [i, b] of buckets.entries()) {
      expect(b.features['x0']!.drift, `bucket ${i}`).toBe(i >= DRIFT_FROM);
      expect(b.features['x1']!.drift).toBe(false);
    }
    expect(buckets[30]!.share).toBeCloseTo(1 / 3, 9);
    const hours = await get(`/api/models/m/versions/v1/heatmap?from=${T0}&to=${T0 + WINDOWS * MIN}&resolution=hour`);
    expect(hours.body['buckets']).toHaveLength(1);
    // Per site: s2 is d3 alone, which drifts; s1 does not.
    type Buckets = { windows: number; features: Record<string, { drift: boolean }> }[];
    const s2 = await get(`/api/models/m/versions/v1/heatmap?from=${T0}&to=${T0 + WINDOWS * MIN}&resolution=window&site=s2`);
    expect(s2.body['scope']).toBe('site:s2');
    const s2b = s2.body['buckets'] as Buckets;
    expect(s2b.every((b) => b.windows === 1)).toBe(true);
    expect(s2b[DRIFT_FROM + 5]!.features['x0']!.drift).toBe(true);
    const s1b = (await get(`/api/models/m/versions/v1/heatmap?from=${T0}&to=${T0 + WINDOWS * MIN}&resolution=window&site=s1`)).body['buckets'] as Buckets;
    expect(s1b.some((b) => b.features['x0']!.drift)).toBe(false);
    expect((await get(`/api/models/m/versions/v1/heatmap?site=s1&tag=x`)).body['message']).toBe('give site or tag, not both');
  });

  it('answers 404 without a baseline and 400 for bad parameters', async () => {
    const none = await get(`/api/models/other/versions/v1/heatmap?from=${T0}&to=${T0 + MIN}`);
    expect(none.status).toBe(404);
    expect(none.body['message']).toMatch(/^no baseline for other version v1/);
    expect((await get(`/api/models/m/versions/v1/heatmap?resolution=week`)).status).toBe(400);
  });

  it('ranks the devices drifting most', async () => {
    const { body } = await get(`/api/models/m/versions/v1/top-devices?from=${T0}&to=${T0 + WINDOWS * MIN}&limit=5`);
    const devices = body['devices'] as { device: string; windows: number; drifted_windows: number }[];
    // d2 sent no reports; d1's unparsable one still carried its stats.
    expect(devices.map((d) => d.device)).toEqual(['d3', 'd1']);
    expect(devices[0]).toMatchObject({ device: 'd3', site: 's2', windows: WINDOWS, drifted_windows: WINDOWS - DRIFT_FROM });
    expect((await get('/api/models/m/versions/v1/top-devices?limit=0')).status).toBe(400);
  });

  it('pages, searches and sorts the devices, with the fleet counts and each row\'s models', async () => {
    const all = await get('/api/fleet/devices');
    expect(all.body['counts']).toEqual({ online: 1, offline: 1, unknown: 1, total: 3, matched: 3 });
    const rows = all.body['devices'] as { id: string; site: string; models: unknown }[];
    expect(rows.map((d) => d.id)).toEqual(['d1', 'd2', 'd3']);
    expect(rows[0]!.models).toEqual([{ model: 'm', versions: ['v1'] }]);
    const s2 = await get('/api/fleet/devices?q=S2');
    expect((s2.body['devices'] as { id: string }[]).map((d) => d.id)).toEqual(['d3']);
    expect(s2.body['counts']).toMatchObject({ total: 3, matched: 1 });
    const online = await get('/api/fleet/devices?sort=online&order=desc');
    expect((online.body['devices'] as { id: string }[]).map((d) => d.id)).toEqual(['d1', 'd2', 'd3']);
    const page = await get('/api/fleet/devices?sort=site&order=desc&offset=1&limit=1');
    expect((page.body['devices'] as { id: string }[]).map((d) => d.id)).toEqual(['d1']);
    expect((await get('/api/fleet/devices?sort=colour')).body['message']).toBe('sort: got "colour", expected one of id, site, last_seen, online, summaries');
    expect((await get('/api/fleet/devices?offset=-1')).status).toBe(400);
    expect((await get('/api/fleet/devices?order=up')).status).toBe(400);
  });

  it('needs the token: none or a wrong one is 401', async () => {
    const none = await app.inject({ method: 'GET', url: '/api/fleet/devices' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="edgewatch"');
    const wrong = await app.inject({ method: 'GET', url: '/api/devices/d3/drift', headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.statusCode).toBe(401);
  });

  it('serves the page open, with its content types and a CSP of this origin only', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self';/);
    expect(page.headers['content-security-policy']).not.toMatch(/https?:|\*/);
    expect(page.body).toContain('<script defer src="/assets/app.js"></script>');
    const js = await app.inject({ method: 'GET', url: '/assets/app.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body.length).toBeGreaterThan(10_000);
    expect((await app.inject({ method: 'GET', url: '/assets/app.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    const missing = await app.inject({ method: 'GET', url: '/assets/../collector.db' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers 503 JSON when the page is not built', async () => {
    const store = CollectorStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ew-web-nobuild-')));
    const bare = await buildWebApp(store, { log, tokens: TOKENS, webDir: path.join(os.tmpdir(), 'ew-no-such-web-dir') });
    try {
      const r = await bare.inject({ method: 'GET', url: '/' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ error: 'unavailable', message: expect.stringMatching(/run node scripts\/build-web\.mjs/) as unknown });
    } finally {
      await bare.close();
      fs.rmSync(path.dirname(store.file), { recursive: true, force: true });
      store.close();
    }
  });
});

describe('web API at fleet scale', () => {
  it('pages 10,000 devices quickly: sorted and searched in memory, only the page answered', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-web-10k-'));
    const store = CollectorStore.open(dir);
    try {
      store.transaction(() => {
        for (let i = 0; i < 10_000; i++) {
          const m = { v: 1, device: `dev-${String(i).padStart(5, '0')}`, site: `site-${i % 50}`, state: i % 3 === 0 ? 'offline' : 'online', at: T0 + i, agent_version: '0.1.0', sync: { mode: 'continuous', cron: null } } as const;
          store.commitStatus(m, T0 + i);
        }
      });
      const app = await buildWebApp(store, { log, tokens: TOKENS, webDir: dir });
      const started = performance.now();
      const r = await app.inject({ method: 'GET', url: '/api/fleet/devices?q=site-7&sort=last_seen&order=desc&offset=50', headers: { authorization: `Bearer ${TOKEN}` } });
      const ms = performance.now() - started;
      const body = r.json() as { counts: Record<string, number>; devices: { id: string; last_seen: number }[] };
      expect(body.counts).toEqual({ online: 6666, offline: 3334, unknown: 0, total: 10_000, matched: 200 });
      expect(body.devices).toHaveLength(50);
      expect(body.devices[0]!.last_seen).toBeGreaterThan(body.devices[49]!.last_seen);
      expect(ms).toBeLessThan(1_000);
      await app.close();
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
