// The HTTP API over a real store (SQLite in a tmp dir) filled by real ingest, driven with fastify's
// inject; one test listens for real to check the port handling.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, listenHttp, parseInstant } from '../../collector/http/index.js';
import { Ingest } from '../../collector/ingest/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { gap, gapBody, MIN, profile, status, summary, T0, windowBody } from './messages.js';

const log = createCollectorLogger({ write: () => {} });
const READ = 'read-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const TOKENS = [
  { name: 'dashboards', token: READ, role: 'read' as const },
  { name: 'ops', token: ADMIN, role: 'admin' as const },
];

describe('HTTP API', () => {
  let dir: string;
  let store: CollectorStore;
  let app: FastifyInstance;
  let clock = T0 + 60 * MIN;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-http-'));
    store = CollectorStore.open(dir);
    const ingest = new Ingest(store, { maxMessageBytes: 1024 * 1024, log, now: () => clock });
    const put = (m: { topic: string; bytes: Uint8Array }) => expect(ingest.fromMqtt(m.topic, m.bytes).status).not.toBe('refused');
    for (let i = 0; i < 5; i++) put(summary({ device: 'd1', seq: i + 1 }, windowBody(profile({ index: i, records: 20 }))));
    put(summary({ device: 'd1', seq: 6 }, windowBody(profile({ index: 0, model: 'other', records: 20 }))));
    put(gap({ device: 'd1', seq: 7 }, gapBody({ from_seq: 100, to_seq: 102, messages: 3 })));
    put(status({ device: 'd1', state: 'online', at: T0 }));
    put(summary({ device: 'd2', site: 's2', seq: 1 }, windowBody(profile({ index: 0, records: 20 }))));
    app = buildApi(store, { log, now: () => clock, tokens: TOKENS });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = async (url: string, token: string | null = READ) => {
    const res = await app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, body: res.json() as Record<string, unknown>, type: res.headers['content-type'] };
  };

  it('GET /healthz answers without auth: ok, devices, uptime', async () => {
    clock += 90_000;
    const res = await get('/healthz', null);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, devices: 2, uptime_s: 90 });
  });

  it('needs a bearer token of http.tokens on every /api route: none, a wrong one or another scheme is 401', async () => {
    for (const url of ['/api/devices', '/api/devices/d1', '/api/devices/d1/windows', '/api/models', '/api/models/m/versions/v1/fleet']) {
      const none = await app.inject({ method: 'GET', url });
      expect(none.statusCode, url).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="edgewatch"');
      expect(none.json()).toEqual({ error: 'unauthorized', message: 'send the header Authorization: Bearer <token>, with a token of http.tokens' });
    }
    const wrong = await get('/api/devices', `${READ.slice(0, -1)}x`);
    expect(wrong).toMatchObject({ status: 401, body: { error: 'unauthorized', message: 'the token is not one of http.tokens' } });
    const basic = await app.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Basic ${Buffer.from(`x:${READ}`).toString('base64')}` } });
    expect(basic.statusCode).toBe(401);
    expect((await get('/api/devices', READ)).status).toBe(200);
    expect((await get('/api/devices', ADMIN)).status).toBe(200);
  });

  it('keeps admin routes from read-only tokens (403), and sends no CORS headers', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/models/m/versions/v1/baseline',
      payload: Buffer.from('x'),
      headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/octet-stream', origin: 'http://elsewhere.example' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: 'forbidden', message: "this route changes things and needs an admin token; dashboards's token is read-only" });
    const read = await app.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Bearer ${READ}`, origin: 'http://elsewhere.example' } });
    expect(Object.keys(read.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('refuses every /api request when no token is configured, saying where to add one', async () => {
    const open = buildApi(store, { log, tokens: [] });
    const res = await open.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Bearer ${READ}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json()['message']).toBe('no API tokens are configured: add one to http.tokens in the collector config');
    expect((await open.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await open.close();
  });

  it('GET /api/devices lists every device', async () => {
    const res = await get('/api/devices');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    const devices = res.body['devices'] as Array<Record<string, unknown>>;
    expect(devices.map((d) => d['id']).sort()).toEqual(['d1', 'd2']);
    expect(devices.find((d) => d['id'] === 'd1')).toMatchObject({ site: 's1', online: true, last_seq: 7, summaries: 6 });
    expect(devices.find((d) => d['id'] === 'd2')).toMatchObject({ site: 's2', online: null });
  });

  it('GET /api/devices/:id gives the device with its models and gaps', async () => {
    const res = await get('/api/devices/d1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'd1', site: 's1' });
    const models = (res.body['models'] as Array<Record<string, unknown>>).map((m) => m['model']).sort();
    expect(models).toEqual(['m', 'other']);
    expect(res.body['gaps']).toEqual([expect.objectContaining({ from_seq: 100, to_seq: 102, messages: 3 })]);
  });

  it('answers 404 with a JSON error for an unknown device, on both device routes', async () => {
    for (const url of ['/api/devices/nope', '/api/devices/nope/windows']) {
      const res = await get(url);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'not_found', message: 'no device "nope" has reported to this collector' });
    }
  });

  it('answers 404 with a JSON error for an unknown route', async () => {
    const res = await get('/api/nothing-here?x=1');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'no route GET /api/nothing-here' });
  });

  it('GET /api/devices/:id/windows filters by model, from and to (epoch ms or RFC 3339) and limits', async () => {
    const all = await get('/api/devices/d1/windows');
    expect(all.status).toBe(200);
    expect(all.body['device']).toBe('d1');
    expect((all.body['windows'] as unknown[]).length).toBe(6);

    const starts = (b: Record<string, unknown>) => (b['windows'] as Array<{ start_ms: number; model: string }>).map((w) => w.start_ms).sort((a, b) => a - b);
    const m = await get('/api/devices/d1/windows?model=m');
    expect(starts(m.body)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * MIN));

    const byMs = await get(`/api/devices/d1/windows?model=m&from=${T0 + MIN}&to=${T0 + 3 * MIN}`);
    const byRfc = await get(`/api/devices/d1/windows?model=m&from=${new Date(T0 + MIN).toISOString()}&to=2026-03-01T01:03:00%2B01:00`);
    expect(starts(byMs.body)).toEqual([T0 + MIN, T0 + 2 * MIN]);
    expect(starts(byRfc.body)).toEqual(starts(byMs.body));

    const limited = await get('/api/devices/d1/windows?model=m&limit=2');
    expect((limited.body['windows'] as unknown[]).length).toBe(2);
  });

  it('answers 400 naming the parameter for bad values', async () => {
    const cases: Array<[string, RegExp]> = [
      ['from=yesterday', /^from: got "yesterday", expected epoch ms .* or an RFC 3339 time/],
      ['to=2026-03-01', /^to: got "2026-03-01", expected epoch ms/],
      ['from=1.5', /^from: got "1.5"/],
      ['limit=0', /^limit: got "0", expected a whole number from 1 to 10000$/],
      ['limit=20000', /^limit: got "20000"/],
      ['limit=ten', /^limit: got "ten"/],
      ['model=', /^model: expected one non-empty value$/],
      ['from=1&from=2', /^from: give it once/],
      [`from=${T0 + MIN}&to=${T0}`, /^to \(\d+\) is before from \(\d+\)$/],
    ];
    for (const [q, message] of cases) {
      const res = await get(`/api/devices/d1/windows?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body['error'], q).toBe('bad_request');
      expect(res.body['message'], q).toMatch(message);
    }
  });
});

describe('parseInstant', () => {
  it('reads epoch ms and RFC 3339 with Z or an offset', () => {
    expect(parseInstant('from', '1772323200000')).toBe(1772323200000);
    expect(parseInstant('from', '2026-03-01T00:00:00Z')).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(parseInstant('from', '2026-03-01T01:00:00.250+01:00')).toBe(Date.parse('2026-03-01T00:00:00.250Z'));
    expect(parseInstant('from', undefined)).toBeUndefined();
  });
});

describe('listenHttp', () => {
  it('listens on a free port for port 0 and closes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-http-'));
    const store = CollectorStore.open(dir);
    const server = await listenHttp(buildApi(store, { log, tokens: TOKENS }), { host: '127.0.0.1', port: 0 }, null);
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const res = await fetch(`${server.url}/healthz`);
      expect(await res.json()).toMatchObject({ ok: true, devices: 0 });
    } finally {
      await server.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names http.listen and the config file when the port is taken', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-http-'));
    const store = CollectorStore.open(dir);
    try {
      await expect(listenHttp(buildApi(store, { log, tokens: TOKENS }), { host: '127.0.0.1', port }, '/etc/edgewatch/collector.yaml')).rejects.toThrow(
        `port ${port} is in use (http.listen in collector.yaml): set http.listen to a free port, e.g. 127.0.0.1:8081`,
      );
    } finally {
      holder.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
