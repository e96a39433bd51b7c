// Fleet alerts (collector/alerts) on a real store filled by ingest: agent alerts grouped across
// devices, the device_share and fleet_drift rules with their `for`, the built-in offline, overdue
// and gap alerts, silences and acknowledgements; then the API over them with fastify's inject.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEngine, fingerprint } from '../../collector/alerts/engine.js';
import { defaultCollectorConfig, type AlertsConfig, type FleetRule } from '../../collector/config/index.js';
import { FleetAggregator } from '../../collector/fleet/index.js';
import { buildApi } from '../../collector/http/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { alert, alertBody, gap, gapBody, harness, MIN, profile, status, summary, T0, windowBody, wireAlert, type Harness } from './messages.js';

const log = createCollectorLogger({ write: () => {} });
let h: Harness;
afterEach(() => h?.close());

function config(rules: FleetRule[] = [], over: Partial<AlertsConfig> = {}): AlertsConfig {
  return { ...defaultCollectorConfig().alerts, rules, ...over };
}

const put = (m: { topic: string; bytes: Uint8Array }) => expect(h.ingest.fromMqtt(m.topic, m.bytes).status).not.toBe('refused');

/** A window of device `device` whose stats say these features drifted. */
function window(device: string, site: string, seq: number, index: number, drifted: string[]) {
  const p = profile({ index, records: 30, seed: seq });
  const body = windowBody(p);
  body.stats.drifted = drifted;
  body.stats.drift_share = drifted.length / 3;
  return summary({ device, site, seq }, body);
}

describe('fleet alerts', () => {
  it('groups agent alerts by name, model, version and severity into one alert that lists the devices', () => {
    h = harness();
    const engine = new AlertEngine(h.store.db, config(), log);
    put(alert({ device: 'd1', seq: 1 }, alertBody([wireAlert({ id: 1, rule: 'drift', state: 'firing' })])));
    put(alert({ device: 'd2', site: 's2', seq: 1 }, alertBody([wireAlert({ id: 4, rule: 'drift', state: 'firing' })])));
    put(alert({ device: 'd3', seq: 1 }, alertBody([wireAlert({ id: 2, rule: 'drift', state: 'firing' })])));
    put(alert({ device: 'd3', seq: 2 }, alertBody([wireAlert({ id: 2, rule: 'drift', state: 'resolved' })])));
    put(alert({ device: 'd4', seq: 1 }, alertBody([wireAlert({ id: 1, rule: 'drift', severity: 'critical', state: 'pending' })])));

    const t1 = engine.evaluate(T0);
    expect(t1.map((t) => [t.alert.name, t.alert.severity, t.from, t.alert.state])).toEqual([
      ['drift', 'warning', null, 'firing'],
      ['drift', 'critical', null, 'pending'],
    ]);
    const [warning] = engine.alerts(T0).filter((a) => a.severity === 'warning');
    expect(warning).toMatchObject({
      name: 'drift',
      labels: { alertname: 'drift', model: 'm', version: 'v1', severity: 'warning' },
      source: 'devices',
      state: 'firing',
      firing: 2,
      resolved: 1,
      summary: 'drift on m v1: 2 devices firing, 0 pending, 1 resolved',
      devices: [
        { device: 'd1', site: 's1', state: 'firing' },
        { device: 'd2', site: 's2', state: 'firing' },
        { device: 'd3', site: 's1', state: 'resolved' },
      ],
    });
    expect(warning!.id).toBe(fingerprint('drift', warning!.labels));
    // Nothing changed: no transition. Both firing devices resolve: the fleet alert resolves.
    expect(engine.evaluate(T0 + MIN)).toEqual([]);
    put(alert({ device: 'd1', seq: 2 }, alertBody([wireAlert({ id: 1, rule: 'drift', state: 'resolved' })])));
    put(alert({ device: 'd2', site: 's2', seq: 2 }, alertBody([wireAlert({ id: 4, rule: 'drift', state: 'resolved' })])));
    const t3 = engine.evaluate(T0 + 2 * MIN);
    expect(t3.map((t) => [t.alert.severity, t.from, t.alert.state])).toEqual([['warning', 'firing', 'resolved']]);
    expect(engine.alerts(T0 + 2 * MIN).find((a) => a.severity === 'warning')).toMatchObject({ resolved_at: T0 + 2 * MIN, firing: 0, resolved: 3 });
  });

  it('device_share: pending while the share holds less than `for`, firing after, resolved when it drops', () => {
    h = harness();
    const rule: FleetRule = {
      name: 'x0_drift',
      kind: 'device_share',
      model: 'm',
      version: null,
      site: null,
      condition: { drifted: 'x0' },
      min_share: 0.5,
      min_devices: 2,
      over: 15 * MIN,
      for: 5 * MIN,
      severity: 'critical',
    };
    const engine = new AlertEngine(h.store.db, config([rule], { device_offline: null, sync_overdue: null, gap: null }), log);
    put(window('d1', 's1', 1, 0, ['x0']));
    put(window('d2', 's1', 1, 0, ['x0', 'x1']));
    put(window('d3', 's2', 1, 0, []));
    const at = T0 + 2 * MIN;
    expect(engine.evaluate(at).map((t) => t.alert.state)).toEqual(['pending']);
    const a = engine.alerts(at)[0]!;
    expect(a).toMatchObject({ labels: { alertname: 'x0_drift', model: 'm', severity: 'critical' }, firing: 2, summary: 'drift of x0 on 2 of 3 devices running m (67%; the rule fires at 50% and 2 devices)' });
    expect(a.devices.map((d) => d.device)).toEqual(['d1', 'd2']);
    expect(engine.evaluate(at + 4 * MIN)).toEqual([]);
    expect(engine.evaluate(at + 5 * MIN).map((t) => [t.from, t.alert.state])).toEqual([['pending', 'firing']]);
    expect(engine.alerts(at + 5 * MIN)[0]).toMatchObject({ active_since: at, firing_since: at + 5 * MIN });
    // d2's next window has no drift: 1 of 3 devices, below the share: resolved.
    put(window('d2', 's1', 2, 8, []));
    expect(engine.evaluate(at + 9 * MIN).map((t) => [t.from, t.alert.state])).toEqual([['firing', 'resolved']]);
    // Windows older than `over` do not count: nothing in range, nothing fires.
    expect(engine.evaluate(T0 + 60 * MIN)).toEqual([]);
  });

  it('fleet_drift: fires when the drift share of the latest rolled-up hour reaches the rule', () => {
    h = harness();
    for (let w = 0; w < 20; w++) put(summary({ device: 'd1', seq: w + 1 }, windowBody(profile({ index: w, records: 40, seed: w + 1, shift: { x1: 2 } }))));
    const base = profile({ records: 3000, seed: 99 });
    h.store.putBaseline({ model: 'm', model_version: 'v1', profile: base.encode(), records: base.count, source: 't', created_at: T0, uploaded_at: T0, uploaded_by: 'tests', agents: 0 });
    new FleetAggregator(h.store.db, { log }).catchUp();
    const rule = (min: number): FleetRule => ({ name: 'fleet_drift_m', kind: 'fleet_drift', model: 'm', version: null, min_share: min, for: 0, severity: 'critical' });
    const none = { device_offline: null, sync_overdue: null, gap: null };
    expect(new AlertEngine(h.store.db, config([rule(0.5)], none), log).evaluate(T0 + HOUR)).toEqual([]);
    const fires = new AlertEngine(h.store.db, config([rule(0.3)], none), log).evaluate(T0 + HOUR);
    expect(fires.map((t) => t.alert.state)).toEqual(['firing']);
    expect(fires[0]!.alert.summary).toBe('fleet drift of m v1 in the hour from 2026-03-01T00:00:00.000Z: 33% of features drifted (x1); the rule fires at 30%');
  });

  it('built in: devices offline past the grace, syncs overdue for their own schedule, gaps received', () => {
    h = harness();
    const engine = new AlertEngine(h.store.db, config(), log);
    h.clock.now = T0;
    put(status({ device: 'off', state: 'offline' }));
    put(status({ device: 'cont', state: 'online', sync: { mode: 'continuous', cron: null } }));
    put(status({ device: 'sched', state: 'online', sync: { mode: 'scheduled', cron: '0 */6 * * *' } }));
    // Offline for 5 minutes: within the grace; 40 minutes: offline and the continuous one overdue.
    expect(engine.evaluate(T0 + 5 * MIN)).toEqual([]);
    const t = engine.evaluate(T0 + 40 * MIN);
    expect(t.map((x) => [x.alert.name, x.alert.devices.map((d) => d.device)])).toEqual([
      ['device_offline', ['off']],
      ['sync_overdue', ['cont']],
    ]);
    // Six hours and a half: the scheduled one is overdue too.
    engine.evaluate(T0 + 6 * HOUR + 31 * MIN);
    expect(engine.alerts(T0 + 6 * HOUR + 31 * MIN).find((a) => a.name === 'sync_overdue')!.devices.map((d) => d.device)).toEqual(['cont', 'sched']);
    // A gap: an alert listing the device and the lost seqs, held for 24 hours.
    h.clock.now = T0 + 7 * HOUR;
    put(gap({ device: 'cont', seq: 9 }, gapBody({ from_seq: 3, to_seq: 8, records: 1200 })));
    engine.evaluate(T0 + 7 * HOUR);
    const g = engine.alerts(T0 + 7 * HOUR).find((a) => a.name === 'gap_received')!;
    expect(g).toMatchObject({ state: 'firing', devices: [{ device: 'cont', site: 's1', state: 'lost seq 3-8 (1200 records)' }] });
    expect(g.summary).toBe('1 gap received in the last 1d: outboxes overflowed, 1200 records lost');
    engine.evaluate(T0 + 32 * HOUR);
    expect(engine.alerts(T0 + 32 * HOUR).find((a) => a.name === 'gap_received')!.state).toBe('resolved');
  });
});

const HOUR = 60 * MIN;

describe('alerts API', () => {
  let app: FastifyInstance;
  const READ = 'alerts-read-token-012345';
  const ADMIN = 'alerts-admin-token-01234';
  afterEach(async () => app?.close());

  async function setup() {
    h = harness();
    put(alert({ device: 'd1', seq: 1 }, alertBody([wireAlert({ id: 1, rule: 'drift', state: 'firing' })])));
    new AlertEngine(h.store.db, config([], { device_offline: null, sync_overdue: null, gap: null }), log).evaluate(T0);
    app = buildApi(h.store, {
      log,
      now: () => T0 + MIN,
      tokens: [
        { name: 'grafana', token: READ, role: 'read' },
        { name: 'ops', token: ADMIN, role: 'admin' },
      ],
    });
    await app.ready();
  }

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, body?: unknown) => {
    const r = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };

  it('lists active alerts; an admin acknowledges one, a read token may not', async () => {
    await setup();
    const list = await call('GET', '/api/alerts', READ);
    const alerts = list.body['alerts'] as { id: string; name: string; state: string; silenced: boolean; model: string; acknowledged: unknown }[];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ name: 'drift', state: 'firing', model: 'm', model_version: 'v1', silenced: false, acknowledged: null, started_at: T0 });
    const id = alerts[0]!.id;
    expect((await call('POST', `/api/alerts/${id}/ack`, READ)).status).toBe(403);
    const acked = await call('POST', `/api/alerts/${id}/ack`, ADMIN);
    expect(acked).toMatchObject({ status: 200, body: { alert: { id, acknowledged: { by: 'ops', at: T0 + MIN } } } });
    expect((await call('POST', '/api/alerts/nope/ack', ADMIN)).status).toBe(404);
    expect((await call('GET', '/api/alerts?state=resolved', READ)).body).toEqual({ alerts: [] });
    expect((await call('GET', '/api/alerts?state=soon', READ)).status).toBe(400);
  });

  it('silences by labels until they expire; an admin may end one early', async () => {
    await setup();
    const bad = await call('POST', '/api/silences', ADMIN, { matchers: {}, ends_at: T0 + HOUR, comment: 'x' });
    expect(bad.body['message']).toMatch(/^matchers: expected an object of label: value, at least one/);
    expect((await call('POST', '/api/silences', ADMIN, { matchers: { alertname: 'drift' }, ends_at: T0, comment: 'x' })).body['message']).toMatch(/has passed/);
    expect((await call('POST', '/api/silences', ADMIN, { matchers: { alertname: 'drift' }, ends_at: T0 + HOUR, comment: ' ' })).body['message']).toBe('comment: say why (a non-empty string)');
    expect((await call('POST', '/api/silences', READ, { matchers: { alertname: 'drift' }, ends_at: T0 + HOUR, comment: 'x' })).status).toBe(403);
    const made = await call('POST', '/api/silences', ADMIN, { matchers: { alertname: 'drift', model: 'm' }, ends_at: '2026-03-01T01:00:00Z', comment: 'retraining' });
    expect(made).toMatchObject({ status: 201, body: { matchers: { alertname: 'drift', model: 'm' }, starts_at: T0 + MIN, ends_at: T0 + HOUR, comment: 'retraining', created_by: 'ops' } });
    const sid = made.body['id'] as string;
    const alerts = (await call('GET', '/api/alerts', READ)).body['alerts'] as { silenced: boolean; silenced_by: string }[];
    expect(alerts[0]).toMatchObject({ silenced: true, silenced_by: sid });
    expect(((await call('GET', '/api/silences', READ)).body['silences'] as unknown[]).length).toBe(1);
    expect(await call('DELETE', `/api/silences/${sid}`, ADMIN)).toEqual({ status: 200, body: { expired: sid } });
    expect(((await call('GET', '/api/alerts', READ)).body['alerts'] as { silenced: boolean }[])[0]!.silenced).toBe(false);
    expect((await call('DELETE', `/api/silences/${sid}`, ADMIN)).status).toBe(404);
  });
});
