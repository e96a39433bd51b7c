// Window profiles against exact computation on the raw records: moments, extremes, counts,
// categorical caps, quality, segments, rejections, and merges (concatenation and associativity).

import { describe, expect, it } from 'vitest';
import {
  CategoricalSummary,
  ClassificationQuality,
  CONFUSION_CAP,
  isErrorStatus,
  NumericSummary,
  WindowProfile,
  type ProfileOptions,
  type WindowJson,
} from '../../agent/profile/index.js';
import type { InferenceRecord } from '../../agent/records/types.js';
import { testRecord } from '../helpers/records.js';

/** Rank error allowed for p50/p90/p99 on these sizes (n <= 20k); the digest's author targets ~0.001 at 1e6. */
const RANK_EPS = 0.005;
const REL = 1e-9;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const rec = testRecord;

const CLS: ProfileOptions = { task: 'classification', categoricalCap: 16, segmentCap: 8, segmentPaths: ['region', 'device'] };
const REG: ProfileOptions = { ...CLS, task: 'regression' };

function profile(opts: ProfileOptions, start = 0, end = 60_000): WindowProfile {
  return new WindowProfile({ model: 'm', modelVersion: 'v1', start, end }, opts);
}

/** Varied records: four numeric and two categorical features, nulls, absent keys, labels, errors, segments. */
function records(n: number, seed: number, task: 'classification' | 'regression'): InferenceRecord[] {
  const u = mulberry32(seed);
  const out: InferenceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const features: Record<string, number | string | null> = {
      normal: 1000 + 25 * gauss(u),
      expo: -Math.log(1 - u()) * 3 + 1,
      logn: Math.exp(1 + gauss(u)),
      uni: u() < 0.1 ? null : 5 + u(),
      cat: `c${Math.floor(u() * u() * 12)}`,
    };
    if (u() < 0.8) features['dev'] = u() < 0.05 ? null : `d${Math.floor(u() * 4)}`;
    const cls = `k${Math.floor(u() * 4)}`;
    const y = 50 + 10 * gauss(u);
    const r = rec({
      ts: i,
      features,
      prediction: task === 'classification' ? (u() < 0.7 ? cls : `k${Math.floor(u() * 4)}`) : y + gauss(u),
      label: u() < 0.6 ? (task === 'classification' ? cls : y) : null,
      confidence: u() < 0.95 ? u() : null,
      latencyMs: u() < 0.97 ? Math.exp(3 + 0.5 * gauss(u)) : null,
      status: (['200', '200', '200', '503', 'timeout', 'OK', null] as const)[Math.floor(u() * 7)] ?? null,
      error: u() < 0.03 ? `err ${Math.floor(u() * 3)}` : null,
      segments: {},
    });
    if (u() < 0.9) r.segments['region'] = `r${Math.floor(u() * 5)}`;
    if (u() < 0.5) r.segments['device'] = `dev${Math.floor(u() * 3)}`;
    out.push(r);
  }
  return out;
}

function build(recs: InferenceRecord[], opts: ProfileOptions): WindowProfile {
  const p = profile(opts);
  for (const r of recs) p.add(r);
  return p;
}

function relClose(a: number, b: number, rel: number): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

const APPROX_KEYS = new Set(['mean', 'std', 'mae', 'mse', 'rmse', 'mape']);

/** Exact equality except float moments (relative 1e-9) and quantiles (checked against raw data elsewhere). */
function expectSameFigures(a: unknown, b: unknown, path = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    const key = path.slice(path.lastIndexOf('.') + 1);
    if (APPROX_KEYS.has(key)) expect(relClose(a, b, REL), `${path}: ${a} vs ${b}`).toBe(true);
    else expect(a, path).toBe(b);
    return;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    expect(a, path).toEqual(b);
    return;
  }
  const ka = Object.keys(a).sort();
  expect(ka, path).toEqual(Object.keys(b).sort());
  for (const k of ka) {
    if (k === 'quantiles') {
      expect((a as Record<string, unknown>)[k] === null, path).toBe((b as Record<string, unknown>)[k] === null);
      continue;
    }
    expectSameFigures((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
  }
}

function rankError(sorted: Float64Array, v: number, q: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  let upper = lo;
  while (upper < sorted.length && sorted[upper] === v) upper++;
  const below = lo / sorted.length;
  const atOrBelow = upper / sorted.length;
  return Math.max(0, below - q, q - atOrBelow);
}

function exactStats(values: number[]): { mean: number; std: number; min: number; max: number; sorted: Float64Array } {
  const n = values.length;
  const mean = values.reduce((s, x) => s + x, 0) / n;
  const ss = values.reduce((s, x) => s + (x - mean) ** 2, 0);
  const sorted = Float64Array.from(values).sort();
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min: sorted[0] ?? NaN, max: sorted[n - 1] ?? NaN, sorted };
}

function numericJson(j: WindowJson, name: string) {
  const f = j.features[name];
  if (f?.type !== 'numeric') throw new Error(`${name} is not numeric`);
  return f;
}

function expectMatchesRaw(json: WindowJson, recs: InferenceRecord[]): void {
  for (const name of ['normal', 'expo', 'logn', 'uni']) {
    const raw = recs.map((r) => r.features[name]).filter((v): v is number => typeof v === 'number');
    const ex = exactStats(raw);
    const f = numericJson(json, name);
    expect(f.count).toBe(raw.length);
    expect(f.missing).toBe(recs.length - raw.length);
    expect(f.min).toBe(ex.min);
    expect(f.max).toBe(ex.max);
    expect(relClose(f.mean ?? NaN, ex.mean, REL), `${name} mean`).toBe(true);
    expect(relClose(f.std ?? NaN, ex.std, REL), `${name} std`).toBe(true);
    const qs = f.quantiles;
    if (qs === null) throw new Error('no quantiles');
    for (const [q, v] of [[0.5, qs.p50], [0.9, qs.p90], [0.99, qs.p99]] as const) {
      expect(rankError(ex.sorted, v ?? NaN, q), `${name} p${q * 100}`).toBeLessThanOrEqual(RANK_EPS);
    }
  }
}

describe('numeric summary', () => {
  it('matches exact moments and extremes, and keeps non-finite values out of them', () => {
    const u = mulberry32(7);
    const s = new NumericSummary();
    const raw: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = 1e6 + 1e3 * gauss(u);
      raw.push(x);
      s.add(x);
    }
    s.add(NaN);
    s.add(Infinity);
    s.add(-Infinity);
    s.addMissing(2);
    const ex = exactStats(raw);
    const j = s.toJSON();
    expect([j.count, j.non_finite, j.missing]).toEqual([20_000, 3, 2]);
    expect([j.min, j.max]).toEqual([ex.min, ex.max]);
    expect(relClose(j.mean ?? NaN, ex.mean, REL)).toBe(true);
    expect(relClose(j.std ?? NaN, ex.std, REL)).toBe(true);
  });

  it('reports null figures when empty and std 0 for one value', () => {
    const s = new NumericSummary();
    s.add(NaN);
    expect(s.toJSON()).toEqual({
      type: 'numeric', count: 0, missing: 0, non_finite: 1, min: null, max: null, mean: null, std: null, quantiles: null,
    });
    s.add(-0);
    expect(s.toJSON()).toMatchObject({ count: 1, min: 0, max: 0, mean: 0, std: 0, quantiles: { p50: 0, p90: 0, p99: 0 } });
    expect(Object.is(s.min, -0)).toBe(false);
  });

  it('merges with Chan et al. to the moments of the concatenation', () => {
    const u = mulberry32(11);
    const parts = [0, 1, 2].map(() => new NumericSummary());
    const raw: number[] = [];
    for (let i = 0; i < 9000; i++) {
      const x = (i % 3) * 50 + 10 * gauss(u) + 500;
      raw.push(x);
      parts[i % 3]?.add(x);
    }
    const [a, b, c] = parts as [NumericSummary, NumericSummary, NumericSummary];
    a.merge(b);
    a.merge(c);
    const ex = exactStats(raw);
    expect(a.count).toBe(9000);
    expect([a.min, a.max]).toEqual([ex.min, ex.max]);
    expect(relClose(a.mean ?? NaN, ex.mean, REL)).toBe(true);
    expect(relClose(a.std ?? NaN, ex.std, REL)).toBe(true);
    expect(rankError(ex.sorted, a.quantile(0.5) ?? NaN, 0.5)).toBeLessThanOrEqual(RANK_EPS);
  });
});

describe('categorical summary', () => {
  it('gives the first `cap` distinct values a counter and folds later ones into other', () => {
    const s = new CategoricalSummary(3);
    for (const v of ['a', 'b', 'a', 'c', 'd', 'e', 'd', 'a']) s.add(v);
    s.addMissing();
    expect(s.toJSON()).toEqual({ type: 'categorical', count: 8, missing: 1, values: { a: 3, b: 1, c: 1 }, other: 3 });
  });

  it('merges by union and keeps the `cap` largest, ties by name, with exact totals', () => {
    const a = new CategoricalSummary(3);
    const b = new CategoricalSummary(3);
    for (const v of ['x', 'x', 'y', 'z']) a.add(v);
    for (const v of ['w', 'w', 'w', 'y', 'q', 'q']) b.add(v);
    a.merge(b);
    // union: w3 x2 y2 q2 z1 -> keep w, then the x/y/q tie by name: q, x
    expect(a.toJSON()).toEqual({ type: 'categorical', count: 10, missing: 0, values: { w: 3, q: 2, x: 2 }, other: 3 });
  });

  it('keeps "__proto__" as an ordinary value', () => {
    const s = new CategoricalSummary(4);
    s.add('__proto__');
    s.add('__proto__');
    const j = s.toJSON();
    expect(Object.getPrototypeOf(j.values)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(j.values))).toEqual(JSON.parse('{"__proto__":2}'));
  });
});

describe('window profile', () => {
  it('matches exact figures computed from the raw records', () => {
    const recs = records(20_000, 1, 'classification');
    const json = build(recs, CLS).toJSON();
    expectMatchesRaw(json, recs);
    expect(json.count).toBe(20_000);
    const labelled = recs.filter((r) => r.label !== null);
    const quality = json.quality;
    if (!('accuracy' in quality)) throw new Error('expected classification quality');
    expect(quality.labelled).toBe(labelled.length);
    expect(quality.correct).toBe(labelled.filter((r) => r.label === r.prediction).length);
    const cell = quality.confusion['k1']?.['k2'];
    expect(cell).toBe(labelled.filter((r) => r.label === 'k1' && r.prediction === 'k2').length);
    expect(json.errors.count).toBe(
      recs.filter((r) => r.error !== null || r.status === '503' || r.status === 'timeout').length,
    );
    expect(json.status['200']).toBe(recs.filter((r) => r.status === '200').length);
    const dev = json.features['dev'];
    expect(dev?.type === 'categorical' && dev.missing).toBe(recs.filter((r) => typeof r.features['dev'] !== 'string').length);
    const r2 = recs.filter((r) => r.segments['region'] === 'r2');
    const seg = json.segments['region']?.['r2'];
    expect(seg?.count).toBe(r2.length);
    expect(seg?.errors).toBe(r2.filter((r) => r.error !== null || r.status === '503' || r.status === 'timeout').length);
    expect(seg?.latency_ms.count).toBe(r2.filter((r) => r.latencyMs !== null).length);
    expect(json.segments['device']?.['dev0']?.count).toBe(recs.filter((r) => r.segments['device'] === 'dev0').length);
  });

  it('computes regression quality from error sums', () => {
    const recs = records(5000, 2, 'regression');
    const q = build(recs, REG).toJSON().quality;
    const pairs = recs.filter((r) => typeof r.label === 'number').map((r) => [r.label as number, r.prediction as number]);
    const errs = pairs.map(([y, p]) => (p as number) - (y as number));
    const mse = errs.reduce((s, e) => s + e * e, 0) / errs.length;
    const mape = pairs.reduce((s, [y, p]) => s + Math.abs((p as number) - (y as number)) / Math.abs(y as number), 0) / pairs.length;
    if (!('mae' in q)) throw new Error('expected regression quality');
    expect(q.labelled).toBe(pairs.length);
    expect(relClose(q.mae ?? NaN, errs.reduce((s, e) => s + Math.abs(e), 0) / errs.length, REL)).toBe(true);
    expect(relClose(q.mse ?? NaN, mse, REL)).toBe(true);
    expect(relClose(q.rmse ?? NaN, Math.sqrt(mse), REL)).toBe(true);
    expect(relClose(q.mape ?? NaN, mape, REL)).toBe(true);
    expect(profile(REG).toJSON().quality).toEqual({ labelled: 0, mae: null, mse: null, rmse: null, mape: null });
  });

  it('merges to the profile of the concatenated records', () => {
    for (const [task, opts] of [['classification', CLS], ['regression', REG]] as const) {
      const recs = records(12_000, 3, task);
      const parts = [0, 1, 2, 3].map((k) => build(recs.slice(k * 3000, (k + 1) * 3000), opts));
      const merged = profile(opts, 0, 60_000);
      for (const p of parts) merged.merge(p);
      const whole = build(recs, opts);
      expectSameFigures(merged.toJSON(), whole.toJSON());
      expectMatchesRaw(merged.toJSON(), recs);
    }
  });

  it('merges associatively and widens the window to cover both', () => {
    const recs = records(6000, 4, 'classification');
    const mk = (k: number, start: number): WindowProfile => {
      const p = profile(CLS, start, start + 60_000);
      for (const r of recs.slice(k * 2000, (k + 1) * 2000)) p.add(r);
      return p;
    };
    const left = mk(0, 0);
    left.merge(mk(1, 60_000));
    left.merge(mk(2, 120_000));
    const bc = mk(1, 60_000);
    bc.merge(mk(2, 120_000));
    const right = mk(0, 0);
    right.merge(bc);
    expectSameFigures(left.toJSON(), right.toJSON());
    expect([right.start, right.end]).toEqual([0, 180_000]);
  });

  it('leaves the merged-in profile unchanged and merges with itself as a copy', () => {
    const a = build(records(500, 5, 'classification'), CLS);
    const b = build(records(500, 6, 'classification'), CLS);
    const before = JSON.stringify(b.toJSON());
    a.merge(b);
    expect(JSON.stringify(b.toJSON())).toBe(before);
    const c = b.clone();
    c.merge(c);
    expect(c.count).toBe(1000);
    expect(b.count).toBe(500);
  });

  it('refuses to merge another model, version or task', () => {
    const a = profile(CLS);
    expect(() => a.merge(new WindowProfile({ model: 'x', modelVersion: 'v1', start: 0, end: 1 }, CLS))).toThrow(/cannot merge x@v1/);
    expect(() => a.merge(new WindowProfile({ model: 'm', modelVersion: 'v2', start: 0, end: 1 }, CLS))).toThrow(/cannot merge/);
    expect(() => a.merge(profile(REG))).toThrow(/regression/);
  });

  it('caps categorical features and folds the rest into other, also across merges with a smaller cap', () => {
    const p = profile({ ...CLS, categoricalCap: 2 });
    for (const v of ['a', 'b', 'c', 'a', 'd']) p.add(rec({ features: { f: v } }));
    expect(p.toJSON().features['f']).toEqual({ type: 'categorical', count: 5, missing: 0, values: { a: 2, b: 1 }, other: 2 });
    const wide = profile({ ...CLS, categoricalCap: 10 });
    for (const v of ['c', 'c', 'c', 'e']) wide.add(rec({ features: { f: v } }));
    wide.merge(p);
    expect(wide.options.categoricalCap).toBe(2);
    // p's "c" sits in its other bucket, so only wide's three are attributed to "c"
    expect(wide.toJSON().features['f']).toEqual({ type: 'categorical', count: 9, missing: 0, values: { c: 3, a: 2 }, other: 4 });
  });

  it('caps segment values under "__other__"', () => {
    const p = profile({ ...CLS, segmentCap: 2 });
    for (const v of ['eu', 'us', 'ap', 'sa', 'eu']) p.add(rec({ segments: { region: v }, latencyMs: 5, status: '500' }));
    p.add(rec({ segments: {}, latencyMs: 5 }));
    const seg = p.toJSON().segments['region'] ?? {};
    expect(Object.keys(seg).sort()).toEqual(['__other__', 'eu', 'us']);
    expect([seg['eu']?.count, seg['us']?.count, seg['__other__']?.count]).toEqual([2, 1, 2]);
    expect(seg['__other__']?.errors).toBe(2);
    expect(seg['__other__']?.status).toEqual({ '500': 2 });
    expect(p.toJSON().segments['device']).toEqual({});
  });

  it('types a feature by its values: numbers win over strings, nulls wait for the first value', () => {
    const p = profile(CLS);
    p.add(rec({ features: { f: null, g: 'x', h: null } }));
    p.add(rec({ features: { f: 'a', g: 'y' } }));
    p.add(rec({ features: { f: 2, g: 'y' } }));
    p.add(rec({ features: { f: 'b', g: null } }));
    const j = p.toJSON();
    expect(j.features['f']).toMatchObject({ type: 'numeric', count: 1, missing: 3, min: 2 });
    expect(j.features['g']).toEqual({ type: 'categorical', count: 3, missing: 1, values: { y: 2, x: 1 }, other: 0 });
    // seen only as null: reported as an empty categorical; absent records count as missing
    expect(j.features['h']).toEqual({ type: 'categorical', count: 0, missing: 4, values: {}, other: 0 });
    const q = profile(CLS);
    q.add(rec({ features: { h: 1.5 } }));
    p.merge(q);
    expect(p.toJSON().features['h']).toMatchObject({ type: 'numeric', count: 1, missing: 4 });
  });

  it('counts serving errors by error field, numeric status >= 500 and error words', () => {
    for (const s of ['500', '503', '599', 'error', 'FAILED', 'Failure', 'timeout', 'INTERNAL', ' 502 ']) expect(isErrorStatus(s), s).toBe(true);
    for (const s of ['200', '404', '499', 'ok', 'OK', '', 'errors', 'cancelled']) expect(isErrorStatus(s), s).toBe(false);
    const p = profile(CLS);
    p.add(rec({ status: '200', error: 'oom' }));
    p.add(rec({ status: '502' }));
    p.add(rec({ status: 'ok' }));
    p.add(rec({ error: 'oom' }));
    expect(p.toJSON().errors).toEqual({ count: 3, messages: { oom: 2 } });
    expect(p.toJSON().status).toEqual({ '200': 1, '502': 1, ok: 1 });
  });

  it('keeps error messages to the ten largest', () => {
    const p = profile(CLS);
    for (let i = 0; i < 12; i++) for (let k = 0; k <= i; k++) p.add(rec({ error: `m${i}` }));
    const msgs = p.toJSON().errors.messages;
    expect(Object.keys(msgs)).toHaveLength(11);
    expect(msgs['__other__']).toBe(11 + 12);
  });

  it('counts rejections by reason and keeps five examples per reason, also across merges', () => {
    const a = profile(CLS);
    const b = profile(CLS);
    for (let i = 0; i < 7; i++) a.addRejection({ reason: 'unparseable', detail: `d${i}`, example: `x${i}`, ts: null });
    for (let i = 0; i < 3; i++) b.addRejection({ reason: 'too_long', detail: 'long', example: `y${i}`, ts: 5 });
    b.addRejection({ reason: 'unparseable', detail: 'late one', example: 'z', ts: null });
    a.addLate(4);
    b.addLate();
    a.merge(b);
    const j = a.toJSON();
    expect([j.rejected, a.rejected, j.late]).toEqual([11, 11, 5]);
    expect(j.rejected_by_reason).toEqual({ unparseable: 8, too_long: 3 });
    expect(j.examples.unparseable?.map((e) => e.example)).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
    expect(j.examples.too_long).toHaveLength(3);
    expect(() => a.addLate(-1)).toThrow(RangeError);
  });

  it('counts confusion pairs up to the cap and the rest as overflow, accuracy staying exact', () => {
    const q = new ClassificationQuality();
    for (let i = 0; i < CONFUSION_CAP + 50; i++) q.add(`l${i}`, i % 2 === 0 ? `l${i}` : 'x');
    const j = q.toJSON();
    expect(j.labelled).toBe(CONFUSION_CAP + 50);
    expect(j.correct).toBe((CONFUSION_CAP + 50) / 2);
    expect(j.confusion_other).toBe(50);
    expect(Object.values(j.confusion).reduce((s, row) => s + Object.keys(row).length, 0)).toBe(CONFUSION_CAP);
    expect(q.toJSON().confusion['l0']).toEqual({ l0: 1 });
  });

  it('has no NaN or Infinity in its JSON, even for empty and non-finite inputs', () => {
    const p = profile(REG);
    expectFiniteJson(p.toJSON());
    p.add(rec({ features: { f: NaN, g: Infinity }, prediction: NaN, label: Infinity, latencyMs: -Infinity, confidence: NaN }));
    p.add(rec({ features: { f: 1e308, g: -1e308 }, prediction: 1e308, label: -1e308 }));
    p.add(rec({ features: { f: -1e308 }, prediction: -1e308, label: 1e308 }));
    const j = p.toJSON();
    expectFiniteJson(j);
    expect(j.features['f']).toMatchObject({ count: 2, non_finite: 1 });
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it('keeps its clone independent', () => {
    const p = build(records(300, 8, 'classification'), CLS);
    const c = p.clone();
    expect(c.toJSON()).toEqual(p.toJSON());
    expect(c.encode()).toEqual(p.encode());
    c.add(rec({ features: { normal: 5 } }));
    expect(p.count).toBe(300);
    expect(c.count).toBe(301);
  });

  it('adds records quickly (printed, not asserted)', () => {
    const u = mulberry32(9);
    const recs: InferenceRecord[] = [];
    for (let i = 0; i < 2000; i++) {
      const features: Record<string, number | string> = {};
      for (let k = 0; k < 16; k++) features[`n${k}`] = u() * 100 * (k + 1);
      for (let k = 0; k < 4; k++) features[`c${k}`] = `v${Math.floor(u() * 10 * (k + 1))}`;
      recs.push(rec({ features, prediction: `k${i % 5}`, confidence: u(), latencyMs: u() * 50, status: '200', label: i % 3 === 0 ? 'k1' : null }));
    }
    const n = 200_000;
    const p = profile({ ...CLS, segmentPaths: [] });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) p.add(recs[i % recs.length] as InferenceRecord);
    const ms = performance.now() - t0;
    console.log(`profile add(): ${Math.round((n / ms) * 1000)} records/s (16 numeric + 4 categorical features, one core)`);
    expect(p.count).toBe(n);
  });
});

function expectFiniteJson(v: unknown, path = '$'): void {
  if (typeof v === 'number') expect(Number.isFinite(v), path).toBe(true);
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) expectFiniteJson(x, `${path}.${k}`);
}
