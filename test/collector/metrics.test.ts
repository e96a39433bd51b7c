// The collector's /metrics: what it reads from a real store filled by ingest and folded by the fleet
// aggregator, behind a token, and `promtool check metrics` (Prometheus' own parser and linter) on
// the output.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareProfiles } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { FleetAggregator, HOUR_MS } from '../../collector/fleet/index.js';
import { buildApi } from '../../collector/http/index.js';
import { renderCollectorMetrics } from '../../collector/http/metrics.js';
import { createCollectorLogger } from '../../collector/log.js';
import { promtoolCheck, skipWithout } from '../metrics/tools.js';
import { alert, alertBody, harness, MIN, profile, status, summary, T0, windowBody, wireAlert, type Harness } from './messages.js';

const log = createCollectorLogger({ write: () => {} });
const TOKEN = 'metrics-test-token-012345';


/** The samples of a text exposition, by `name{labels}`. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

describe('collector /metrics', () => {
  let h: Harness;
  let app: FastifyInstance;
  let text: string;
  let baseline: WindowProfile;

  beforeAll(async () => {
    h = harness();
    const put = (m: { topic: string; bytes: Uint8Array }) => expect(h.ingest.fromMqtt(m.topic, m.bytes).status).not.toBe('refused');
    put(status({ device: 'd1', state: 'online' }));
    put(status({ device: 'd2', site: 's2', state: 'offline' }));
    // d1: latency firing then resolved; d2 and d3: drift firing (critical).
    put(alert({ device: 'd1', seq: 100 }, alertBody([wireAlert({ id: 1, rule: 'latency_p99', state: 'firing' })])));
    put(alert({ device: 'd1', seq: 101 }, alertBody([wireAlert({ id: 1, rule: 'latency_p99', state: 'resolved' })])));
    put(alert({ device: 'd2', site: 's2', seq: 100 }, alertBody([wireAlert({ id: 7, rule: 'drift', severity: 'critical', state: 'firing' })])));
    put(alert({ device: 'd3', seq: 100 }, alertBody([wireAlert({ id: 3, rule: 'drift', severity: 'critical', state: 'firing' })])));
    for (let w = 0; w < 90; w++) put(summary({ device: 'd1', seq: w + 1 }, windowBody(profile({ index: w, records: 40, seed: w + 1, shift: { x1: 2 } }))));
    baseline = profile({ records: 3000, seed: 99 });
    h.store.putBaseline({ model: 'm', model_version: '*', profile: baseline.encode(), records: baseline.count, source: 't', created_at: T0, uploaded_at: T0, uploaded_by: 'tests', agents: 0 });
    new FleetAggregator(h.store.db, { log }).catchUp();
    app = buildApi(h.store, {
      log,
      now: () => T0 + 90 * MIN,
      tokens: [{ name: 'prometheus', token: TOKEN, role: 'read' }],
      counters: () => ({ messages: { stored: 94, duplicate: 2 }, refused: { bad_body: 3 }, broker: { acl: 1, connection: 0 } }),
    });
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    text = res.body;
  });

  afterAll(async () => {
    await app.close();
    h.close();
  });

  it('needs a token like /api', async () => {
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  });

  it('shows devices by state, counters, firing alerts by name and severity, the fold backlog', () => {
    const s = samples(text);
    expect(s.get('edgewatch_collector_devices{state="online"}')).toBe(1);
    expect(s.get('edgewatch_collector_devices{state="offline"}')).toBe(1);
    expect(s.get('edgewatch_collector_devices{state="unknown"}')).toBe(1);
    expect(s.get('edgewatch_collector_messages_total{result="stored"}')).toBe(94);
    expect(s.get('edgewatch_collector_messages_total{result="status"}')).toBe(0);
    expect(s.get('edgewatch_collector_messages_refused_total{reason="bad_body"}')).toBe(3);
    expect(s.get('edgewatch_collector_mqtt_refused_total{what="acl"}')).toBe(1);
    expect(s.get('edgewatch_collector_alerts_firing{name="drift",severity="critical"}')).toBe(2);
    // d1's latency alert resolved in its newest message: not firing.
    expect([...s.keys()].filter((k) => k.includes('latency_p99'))).toEqual([]);
    expect(s.get('edgewatch_collector_fleet_backlog_summaries')).toBe(0);
    expect(s.get('edgewatch_collector_uptime_seconds')).toBe(0);
  });

  it("shows the fleet drift share of each version's latest hour against its baseline", () => {
    const s = samples(text);
    // Windows 0-89: the latest hour is the second (windows 60-89); x1 was shifted in every window.
    const hour = T0 + HOUR_MS;
    expect(s.get('edgewatch_collector_fleet_drift_hour_timestamp_seconds{model="m",version="v1"}')).toBe(hour / 1000);
    const merged = profile({ index: 60, records: 40, seed: 61, shift: { x1: 2 } });
    for (let w = 61; w < 90; w++) merged.merge(profile({ index: w, records: 40, seed: w + 1, shift: { x1: 2 } }));
    const want = compareProfiles(baseline, merged).dataset;
    expect(want.drifted).toContain('x1');
    expect(s.get('edgewatch_collector_fleet_drift_share{model="m",version="v1"}')).toBeCloseTo(want.share, 9);
  });

  it('the Grafana dashboard (config/grafana-collector.json) queries only metrics the collector exposes', () => {
    const dash = JSON.parse(fs.readFileSync(path.resolve('config/grafana-collector.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exposed = new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
    const used = dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/edgewatch_[a-z_]+/g) ?? []));
    expect(used.length).toBeGreaterThanOrEqual(10);
    for (const name of used) expect(exposed, name).toContain(name);
    // and every family shown somewhere, but the hour stamp, which explains the drift panel
    for (const name of exposed) if (!name!.endsWith('_hour_timestamp_seconds')) expect(used, name).toContain(name);
  });

  it.skipIf(skipWithout('promtool'))('passes promtool check metrics, odd label values included', async () => {
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
    const odd = renderCollectorMetrics({
      devices: { online: 0, offline: 0, unknown: 0 },
      alertsFiring: [{ name: 'a "quoted"\\name\nwith newline', severity: 'warning', devices: 1 }],
      fleetDrift: [{ model: 'm', version: 'v1', share: Number.NaN, hour: 0 }],
      fleetBacklog: 0,
      counters: { messages: {}, refused: {}, broker: {} },
      uptimeS: 1,
    });
    expect(await promtoolCheck(odd)).toEqual({ code: 0, output: '' });
  });
});
