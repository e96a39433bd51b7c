// /api/models and a version's fleet profile, over a real store filled by ingest and folded by the
// fleet aggregator, driven with fastify's inject.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBaselineFile } from '../../agent/wire/index.js';
import { DAY_MS, FleetAggregator, HOUR_MS } from '../../collector/fleet/index.js';
import { buildApi } from '../../collector/http/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { harness, MIN, profile, status, summary, T0, windowBody, type Harness } from './messages.js';

const log = createCollectorLogger({ write: () => {} });
const RECORDS = { d1: 30, d2: 50, d3: 70 } as const;
const SITE = { d1: 's1', d2: 's1', d3: 's2' } as const;
const WINDOWS = 250;
const TOKEN = 'fleet-api-test-token-0123';
const ADMIN = 'fleet-api-admin-token-0123';

function baselineFile(over: { model?: string; shift?: Record<string, number> } = {}): Buffer {
  const p = profile({ model: over.model ?? 'm', records: 4000, seed: 4242, ...(over.shift === undefined ? {} : { shift: over.shift }) });
  return Buffer.from(encodeBaselineFile({ model: p.model, model_version: 'v1', source: 'reference.jsonl', created_at: T0 - DAY_MS, records: p.count, profile: p.encode() }));
}

describe('fleet API', () => {
  let h: Harness;
  let app: FastifyInstance;

  beforeAll(async () => {
    h = harness();
    // Tags come with the status: d1 and d2 on line-a, d3 outdoor, d1 outdoor too.
    const tags = { d1: ['line-a', 'outdoor'], d2: ['line-a'], d3: ['outdoor'] } as const;
    for (const device of ['d1', 'd2', 'd3'] as const) {
      const st = status({ device, site: SITE[device], tags: [...tags[device]] });
      expect(h.ingest.fromMqtt(st.topic, st.bytes).status).toBe('status');
    }
    for (const device of ['d1', 'd2', 'd3'] as const) {
      // d3 runs v2 for its last 50 windows
      for (let w = 0; w < WINDOWS; w++) {
        const version = device === 'd3' && w >= 200 ? 'v2' : 'v1';
        const m = summary({ device, site: SITE[device], seq: w + 1 }, windowBody(profile({ index: w, version, records: RECORDS[device], seed: w + 1 })));
        expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
      }
    }
    new FleetAggregator(h.store.db, { log }).catchUp();
    app = buildApi(h.store, {
      log,
      now: () => T0 + WINDOWS * MIN,
      tokens: [
        { name: 'tests', token: TOKEN, role: 'read' },
        { name: 'ops', token: ADMIN, role: 'admin' },
      ],
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    h.close();
  });

  const get = async (url: string) => {
    const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };

  it('lists the models and versions the fleet runs, with their windows, records and sites', async () => {
    const { status, body } = await get('/api/models');
    expect(status).toBe(200);
    expect(body).toEqual({
      models: [
        {
          model: 'm',
          versions: [
            { version: 'v1', windows: 2 * WINDOWS + 200, records: WINDOWS * (30 + 50) + 200 * 70, first_day: T0, last_day: T0, sites: ['s1', 's2'], tags: ['line-a', 'outdoor'] },
            { version: 'v2', windows: 50, records: 50 * 70, first_day: T0, last_day: T0, sites: ['s2'], tags: ['outdoor'] },
          ],
        },
      ],
    });
  });

  it("compares a model's versions side by side: devices, windows, records, latency, quality", async () => {
    const { status, body } = await get('/api/models/m/compare');
    expect(status).toBe(200);
    expect(body).toMatchObject({ model: 'm', resolution: 'hour' });
    const versions = body['versions'] as { version: string; devices: number; windows: number; records: number; latency_ms: { p50: number }; quality: unknown; drift: unknown }[];
    expect(versions.map((v) => [v.version, v.devices, v.windows, v.records])).toEqual([
      ['v1', 3, 2 * WINDOWS + 200, WINDOWS * (30 + 50) + 200 * 70],
      ['v2', 1, 50, 50 * 70],
    ]);
    expect(versions[0]!.latency_ms.p50).toBeGreaterThan(5);
    expect(versions[0]!.drift).toBeNull();
    expect((await get('/api/models/nothing/compare')).body['versions']).toEqual([]);
  });

  it("merges a version's hours for the fleet and for one site", async () => {
    const to = T0 + 3 * HOUR_MS;
    const fleet = await get(`/api/models/m/versions/v1/fleet?from=${T0}&to=${to}&resolution=hour`);
    expect(fleet.status).toBe(200);
    // Hours 0-2 hold windows 0-179 (d3 ran v1 for all of them).
    expect(fleet.body).toMatchObject({ model: 'm', version: 'v1', scope: 'fleet', resolution: 'hour', buckets: 3, from: T0, to: T0 + 180 * MIN, windows: 3 * 180 });
    expect(fleet.body['records']).toBe(180 * (30 + 50 + 70));
    const p = fleet.body['profile'] as { count: number; features: Record<string, { count: number }> };
    expect(p.count).toBe(180 * 150);
    expect(p.features['x0']!.count).toBe(180 * 150);
    const s1 = await get(`/api/models/m/versions/v1/fleet?from=${T0}&to=${to}&resolution=hour&site=s1`);
    expect(s1.body).toMatchObject({ scope: 'site:s1', buckets: 3, windows: 2 * 180, records: 180 * 80 });
    // Per tag: a device in several tags counts in each.
    const outdoor = await get(`/api/models/m/versions/v1/fleet?from=${T0}&to=${to}&resolution=hour&tag=outdoor`);
    expect(outdoor.body).toMatchObject({ scope: 'tag:outdoor', buckets: 3, windows: 2 * 180, records: 180 * (30 + 70) });
    const lineA = await get(`/api/models/m/versions/v1/fleet?from=${T0}&to=${to}&resolution=hour&tag=line-a`);
    expect(lineA.body).toMatchObject({ scope: 'tag:line-a', windows: 2 * 180, records: 180 * 80 });
    expect((await get(`/api/models/m/versions/v1/fleet?site=s1&tag=outdoor`)).body['message']).toBe('give site or tag, not both');
  });

  it('takes windows by default for a short range, and refuses to merge more than 240 buckets in one request', async () => {
    const short = await get(`/api/models/m/versions/v1/fleet?from=${T0 + 10 * MIN}&to=${T0 + 20 * MIN}`);
    expect(short.body).toMatchObject({ resolution: 'window', buckets: 10, windows: 30, records: 10 * 150 });
    const tooMany = await get(`/api/models/m/versions/v1/fleet?from=${T0}&to=${T0 + 250 * MIN}&resolution=window`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body['message']).toBe('the range holds 250 window buckets, more than 240 merged in one request: ask for a coarser resolution or a shorter range');
  });

  it('answers an empty range, an unknown version and bad parameters plainly', async () => {
    expect((await get(`/api/models/m/versions/v9/fleet?from=${T0}&to=${T0 + HOUR_MS}`)).body).toMatchObject({ buckets: 0, windows: 0, records: 0, profile: null, from: null });
    const bad = await get(`/api/models/m/versions/v1/fleet?resolution=week`);
    expect(bad).toEqual({ status: 400, body: { error: 'bad_request', message: 'resolution: got "week", expected window, hour or day' } });
    expect((await get(`/api/models/m/versions/v1/fleet?from=${T0 + 5}&to=${T0}`)).status).toBe(400);
  });

  const put = async (url: string, body: Buffer, token: string) => {
    const r = await app.inject({ method: 'PUT', url, payload: body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };

  it('takes a baseline file from an admin token only, and checks it', async () => {
    const url = '/api/models/m/versions/v1/baseline';
    expect(await put(url, baselineFile(), TOKEN)).toEqual({
      status: 403,
      body: { error: 'forbidden', message: "this route changes things and needs an admin token; tests's token is read-only" },
    });
    const bad = await put(url, Buffer.from('not a baseline'), ADMIN);
    expect(bad.status).toBe(400);
    expect(bad.body['message']).toMatch(/^the body is not a baseline file/);
    expect((await put(url, baselineFile({ model: 'other' }), ADMIN)).body['message']).toBe('the baseline file is of model "other", not "m"');
    expect((await get(url)).status).toBe(404);
  });

  it('compares the fleet profile with the version baseline: the shifted feature drifts, the others do not', async () => {
    const up = await put('/api/models/m/versions/v1/baseline', baselineFile({ shift: { x0: 1.5 } }), ADMIN);
    expect(up).toMatchObject({ status: 201, body: { model: 'm', version: 'v1', records: 4000, source: 'reference.jsonl', uploaded_by: 'ops' } });
    expect((await get('/api/models/m/versions/v1/baseline')).body).toMatchObject({ version: 'v1', records: 4000 });
    const fleet = await get(`/api/models/m/versions/v1/fleet?from=${T0}&to=${T0 + 3 * HOUR_MS}&resolution=hour`);
    const drift = fleet.body['drift'] as { dataset: { drifted: string[] }; features: Record<string, { drift: boolean }> };
    expect(fleet.body['baseline']).toMatchObject({ version: 'v1', uploaded_by: 'ops' });
    expect(drift.dataset.drifted).toEqual(['x0']);
    expect(drift.features['x1']!.drift).toBe(false);
    expect(drift.features['x0']!.drift).toBe(true);
    // v2 has no baseline of its own until one for every version ("*") is uploaded.
    const v2 = `/api/models/m/versions/v2/fleet?from=${T0}&to=${T0 + 5 * HOUR_MS}&resolution=hour`;
    expect((await get(v2)).body).toMatchObject({ baseline: null, drift: null });
    expect((await put('/api/models/m/versions/*/baseline', baselineFile(), ADMIN)).status).toBe(201);
    expect((await get(v2)).body['baseline']).toMatchObject({ version: '*' });
  });
});
