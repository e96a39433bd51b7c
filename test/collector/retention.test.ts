// Retention (collector/fleet/retention.ts) on a real store: summaries past retention go once the
// rollups hold them, devices' counts follow, buckets go by resolution; a revision of a window past
// retention is not merged again from what is left of it.
import { afterEach, describe, expect, it } from 'vitest';
import { FleetAggregator, HOUR_MS, Pruner } from '../../collector/fleet/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { harness, profile, revision, summary, T0, windowBody, type Harness } from './messages.js';

const log = createCollectorLogger({ write: () => {} });
const DAY = 24 * HOUR_MS;
let h: Harness;
afterEach(() => h?.close());

const count = (sql: string, ...args: unknown[]) => (h.store.db.prepare(sql).get(...args) as { n: number }).n;
const put = (m: { topic: string; bytes: Uint8Array }) => expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');

describe('retention', () => {
  it('deletes summaries past retention once folded, keeps the rest and the dedupe log, and counts per device', () => {
    h = harness();
    // d1: 30 windows on day 0 and 30 on day 3; d2: 10 on day 3.
    for (let w = 0; w < 30; w++) put(summary({ device: 'd1', seq: w + 1 }, windowBody(profile({ index: w, records: 10, seed: w }))));
    for (let w = 0; w < 30; w++) put(summary({ device: 'd1', seq: 100 + w }, windowBody(profile({ index: 3 * 24 * 60 + w, records: 10, seed: w }))));
    for (let w = 0; w < 10; w++) put(summary({ device: 'd2', seq: w + 1 }, windowBody(profile({ index: 3 * 24 * 60 + w, records: 10, seed: w }))));
    const retention = { summaries: 2 * DAY, fleet_windows: null, fleet_hours: null, fleet_days: null };
    const now = T0 + 3 * DAY + HOUR_MS;
    // Nothing folded yet: nothing goes.
    expect(new Pruner(h.store.db, retention).prune(now).summaries).toBe(0);
    new FleetAggregator(h.store.db, { log }).catchUp();
    const r = new Pruner(h.store.db, retention).prune(now);
    expect(r.summaries).toBe(30);
    expect(count('SELECT count(*) AS n FROM summaries')).toBe(40);
    expect(count('SELECT count(*) AS n FROM summaries WHERE end_ms < ?', T0 + DAY)).toBe(0);
    expect(count('SELECT count(*) AS n FROM messages')).toBe(70);
    expect(h.store.device('d1')).toMatchObject({ summaries: 30 });
    expect(h.store.device('d2')).toMatchObject({ summaries: 10 });
    // The day-0 rollups stay (their own retention is separate).
    expect(count("SELECT count(*) AS n FROM fleet_buckets WHERE resolution = 'day' AND start_ms = ?", T0)).toBe(2);
    expect(new Pruner(h.store.db, retention).prune(now).summaries).toBe(0);
  });

  it('deletes rollup buckets by resolution: windows first, then hours, then days', () => {
    h = harness();
    for (let w = 0; w < 5; w++) put(summary({ device: 'd1', seq: w + 1 }, windowBody(profile({ index: w, records: 10, seed: w }))));
    for (let w = 0; w < 5; w++) put(summary({ device: 'd1', seq: 50 + w }, windowBody(profile({ index: 10 * 24 * 60 + w, records: 10, seed: w }))));
    new FleetAggregator(h.store.db, { log }).catchUp();
    const buckets = (res: string) => count('SELECT count(*) AS n FROM fleet_buckets WHERE resolution = ?', res);
    expect([buckets('window'), buckets('hour'), buckets('day')]).toEqual([20, 4, 4]);
    const r = new Pruner(h.store.db, { summaries: null, fleet_windows: 2 * DAY, fleet_hours: 5 * DAY, fleet_days: null }).prune(T0 + 10 * DAY + HOUR_MS);
    expect(r).toEqual({ summaries: 0, buckets: { window: 10, hour: 2, day: 0 } });
    expect([buckets('window'), buckets('hour'), buckets('day')]).toEqual([10, 2, 4]);
  });

  it('leaves a revision of a window past retention out of the rollups, which keep what they hold', () => {
    h = harness();
    put(summary({ device: 'd1', seq: 1 }, windowBody(profile({ index: 0, records: 10, seed: 1 }))));
    put(summary({ device: 'd2', seq: 1 }, windowBody(profile({ index: 0, records: 20, seed: 2 }))));
    const agg = new FleetAggregator(h.store.db, { log, now: () => T0 + 40 * DAY, summariesRetentionMs: 30 * DAY });
    agg.catchUp();
    put(revision({ device: 'd1', seq: 2 }, windowBody(profile({ index: 0, records: 99, seed: 3 }), { revision: 1 })));
    const r = agg.catchUp();
    expect(r).toMatchObject({ folded: 1, frozen: 1, remerged: { window: 0 } });
    expect(count("SELECT records AS n FROM fleet_buckets WHERE resolution = 'window' AND scope = '' AND start_ms = ?", T0)).toBe(30);
  });
});
