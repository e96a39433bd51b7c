// Fleet rollups (collector/fleet/aggregate.ts) on a real store filled through ingest. The reference
// is the merge, done here, of the raw window profiles each bucket should hold: counts must be
// exact; means to 1e-9; t-digest quantiles, which depend on merge order, within 0.02 of a unit
// normal's at p50 and p90 and 0.05 at p99 (rank errors well under 1%).
import { afterEach, describe, expect, it } from 'vitest';
import { WindowProfile } from '../../agent/profile/index.js';
import { FleetAggregator, bucketStart, DAY_MS, FLEET, HOUR_MS, siteScope, type Resolution } from '../../collector/fleet/aggregate.js';
import { createCollectorLogger } from '../../collector/log.js';
import { harness, MIN, profile, revision, summary, T0, windowBody, type Harness } from './messages.js';

let h: Harness;
afterEach(() => h?.close());

const log = createCollectorLogger({ write: () => {} });
const SITES: Record<string, string> = { d1: 's1', d2: 's1', d3: 's2', d4: 's2' };
/** Windows from 22:30 to 01:30 UTC: three hours of two days. */
const FIRST = 22 * 60 + 30;
const WINDOWS = 180;

interface Sent {
  device: string;
  site: string;
  p: WindowProfile;
}

function fill(opts: { devices?: string[]; windows?: number; records?: (d: number, w: number) => number } = {}): Sent[] {
  const devices = opts.devices ?? Object.keys(SITES);
  const sent: Sent[] = [];
  devices.forEach((device, d) => {
    for (let w = 0; w < (opts.windows ?? WINDOWS); w++) {
      const p = profile({ index: FIRST + w, records: opts.records?.(d, w) ?? 40 + d * 7, seed: 1 + d * 1000 + w });
      const m = summary({ device, site: SITES[device]!, seq: w + 1 }, windowBody(p));
      expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
      sent.push({ device, site: SITES[device]!, p });
    }
  });
  return sent;
}

function bucket(res: Resolution, scope: string, start: number): { p: WindowProfile; windows: number; records: number } | null {
  const row = h.store.db
    .prepare("SELECT profile, windows, records FROM fleet_buckets WHERE model = 'm' AND model_version = 'v1' AND resolution = ? AND scope = ? AND start_ms = ?")
    .get(res, scope, start) as { profile: Buffer; windows: number; records: number } | undefined;
  return row === undefined ? null : { p: WindowProfile.decode(row.profile), windows: row.windows, records: row.records };
}

function reference(sent: Sent[], res: Resolution, scope: string, start: number): { p: WindowProfile; windows: number } {
  const inBucket = sent.filter((s) => bucketStart(res, s.p.start) === start && (scope === FLEET || scope === siteScope(s.site)));
  const p = inBucket[0]!.p.clone();
  for (const s of inBucket.slice(1)) p.merge(s.p);
  return { p, windows: inBucket.length };
}

function expectSame(got: { p: WindowProfile; windows: number; records: number } | null, want: { p: WindowProfile; windows: number }): void {
  expect(got).not.toBeNull();
  const g = got!;
  expect(g.windows).toBe(want.windows);
  expect(g.records).toBe(want.p.count);
  expect(g.p.count).toBe(want.p.count);
  expect([g.p.start, g.p.end]).toEqual([want.p.start, want.p.end]);
  for (const name of want.p.featureNames()) {
    const a = g.p.toJSON().features[name]!;
    const b = want.p.toJSON().features[name]!;
    expect(a.type).toBe('numeric');
    if (a.type !== 'numeric' || b.type !== 'numeric') continue;
    expect(a.count).toBe(b.count);
    expect(a.mean!).toBeCloseTo(b.mean!, 9);
    for (const [q, tol] of [['p50', 0.02], ['p90', 0.02], ['p99', 0.05]] as const) expect(Math.abs(a.quantiles![q]! - b.quantiles![q]!)).toBeLessThan(tol);
  }
  expect(g.p.toJSON().prediction).toEqual(want.p.toJSON().prediction);
  expect(g.p.latencyMs.count).toBe(want.p.latencyMs.count);
}

const hours = [0, 1, 2, 3].map((i) => bucketStart('hour', T0 + (FIRST - 30) * MIN + i * HOUR_MS));
const days = [T0, T0 + DAY_MS];

describe('fleet rollups', () => {
  it('hold every window once, per window, hour and day, for the fleet and per site: the merge of the raw windows', () => {
    h = harness();
    const sent = fill();
    const agg = new FleetAggregator(h.store.db, { log });
    const r = agg.catchUp();
    expect(r).toMatchObject({ folded: 4 * WINDOWS, added: 4 * WINDOWS, undecodable: 0, more: false });
    expect(agg.backlog()).toBe(0);
    for (const scope of [FLEET, siteScope('s1'), siteScope('s2')]) {
      for (const w of [0, 29, 30, 95, 179]) {
        const start = T0 + (FIRST + w) * MIN;
        expectSame(bucket('window', scope, start), reference(sent, 'window', scope, start));
      }
      for (const start of hours) expectSame(bucket('hour', scope, start), reference(sent, 'hour', scope, start));
      for (const start of days) expectSame(bucket('day', scope, start), reference(sent, 'day', scope, start));
    }
    // 22:30-23:00 is half an hour, then two full hours, then half of 01:00.
    expect(hours.map((start) => bucket('hour', FLEET, start)!.windows)).toEqual([4 * 30, 4 * 60, 4 * 60, 4 * 30]);
    expect(bucket('day', FLEET, days[0]!)!.windows).toBe(4 * 90);
    expect(bucket('day', FLEET, days[1]!)!.windows).toBe(4 * 90);
  });

  it('folds in steps; a new aggregator (a restart) goes on from the watermark and folds nothing twice', () => {
    h = harness();
    const sent = fill({ windows: 70 });
    const first = new FleetAggregator(h.store.db, { log, batch: 37 });
    first.step();
    first.step();
    expect(first.backlog()).toBe(4 * 70 - 74);
    const again = new FleetAggregator(h.store.db, { log, batch: 37 });
    const r = again.catchUp();
    expect(r.folded).toBe(4 * 70 - 74);
    expect(again.step()).toMatchObject({ folded: 0, more: false });
    for (const start of [hours[0]!, hours[1]!]) expectSame(bucket('hour', FLEET, start), reference(sent, 'hour', FLEET, start));
    expectSame(bucket('day', FLEET, days[0]!), reference(sent, 'day', FLEET, days[0]!));
  });

  it('a revision replaces its window in every rollup: merged again, not added twice', () => {
    h = harness();
    const sent = fill({ windows: 40 });
    const agg = new FleetAggregator(h.store.db, { log });
    agg.catchUp();
    // d2's window 35 (23:05) comes again with more records, as late labels revise it.
    const i = sent.findIndex((s) => s.device === 'd2' && s.p.start === T0 + (FIRST + 35) * MIN);
    const revised = profile({ index: FIRST + 35, records: 500, seed: 99 });
    const m = revision({ device: 'd2', site: 's1', seq: 1000 }, windowBody(revised, { revision: 1 }));
    expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
    sent[i] = { device: 'd2', site: 's1', p: revised };
    const r = agg.catchUp();
    expect(r).toMatchObject({ folded: 1, added: 0, remerged: { window: 1, hour: 1, day: 1 } });
    const start = revised.start;
    for (const scope of [FLEET, siteScope('s1')]) {
      expectSame(bucket('window', scope, start), reference(sent, 'window', scope, start));
      expectSame(bucket('hour', scope, bucketStart('hour', start)), reference(sent, 'hour', scope, bucketStart('hour', start)));
      expectSame(bucket('day', scope, bucketStart('day', start)), reference(sent, 'day', scope, bucketStart('day', start)));
    }
    // The other site's rollups kept their windows.
    expectSame(bucket('day', siteScope('s2'), days[0]!), reference(sent, 'day', siteScope('s2'), days[0]!));
  });

  it('a summary sent in parts counts once, when every part is there', () => {
    h = harness();
    const whole = profile({ index: FIRST, records: 120, seed: 7 });
    const parts = whole.splitFeatures([['x0'], ['x1', 'x2']]);
    const send = (k: number) => {
      const m = summary({ device: 'd1', site: 's1', seq: k + 1 }, windowBody(parts[k]!, { part: { index: k, of: parts.length } }));
      expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
    };
    const agg = new FleetAggregator(h.store.db, { log });
    send(0);
    agg.catchUp();
    expect(bucket('window', FLEET, whole.start)).toBeNull();
    send(1);
    agg.catchUp();
    expectSame(bucket('window', FLEET, whole.start), { p: whole, windows: 1 });
    expectSame(bucket('day', FLEET, days[0]!), { p: whole, windows: 1 });
  });

  it('leaves out a profile that does not decode, counts it, and folds the rest', () => {
    h = harness();
    const sent = fill({ devices: ['d1', 'd3'], windows: 3 });
    h.store.db.prepare("UPDATE summaries SET body = x'00ff' WHERE device = 'd3' AND start_ms = ?").run(T0 + FIRST * MIN);
    const r = new FleetAggregator(h.store.db, { log }).catchUp();
    expect(r).toMatchObject({ folded: 6, added: 5, undecodable: 1 });
    const kept = sent.filter((s) => !(s.device === 'd3' && s.p.start === T0 + FIRST * MIN));
    expectSame(bucket('hour', FLEET, hours[0]!), reference(kept, 'hour', FLEET, hours[0]!));
  });
});
