// Side-by-side report from real profiles: every figure checked against a direct computation over the
// same records, quantiles within the t-digest's rank error, drift only where the data moved.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT_RULE } from '../../agent/drift/index.js';
import { isErrorStatus, OTHER_KEY, WindowProfile, type ProfileOptions } from '../../agent/profile/index.js';
import type { InferenceRecord } from '../../agent/records/types.js';
import { CompareError, compareSegments, compareVersions, TOP_CLASSES, type CompareInput } from '../../agent/report/index.js';
import { mulberry32, normal } from '../drift/prng.js';
import { testRecord } from '../helpers/records.js';

const WINDOW = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const REGIONS = ['north', 'south', 'east'];
const OPTS: ProfileOptions = { task: 'classification', categoricalCap: 256, segmentCap: 64, segmentPaths: ['features.region'] };
const drift = { rule: { ...DEFAULT_DRIFT_RULE }, features: {} };

/** Records of one version: x ~ N(shift, 1), y ~ N(0, 1), c in a/b/c, region, labels on half. */
function records(version: string, n: number, seed: number, shift: number, errorRate: number): InferenceRecord[] {
  const rng = mulberry32(seed);
  const out: InferenceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const x = normal(rng) + shift;
    const y = normal(rng);
    const c = ['a', 'b', 'c'][Math.floor(rng() * 3)] ?? 'a';
    const region = REGIONS[Math.floor(rng() * REGIONS.length)] ?? 'north';
    const prediction = rng() < 0.3 ? 'yes' : 'no';
    const labelled = rng() < 0.5;
    const correct = rng() < (region === 'east' ? 0.6 : 0.9);
    out.push(
      testRecord({
        ts: T0 + Math.floor((i / n) * 4 * WINDOW),
        model: 'm',
        modelVersion: version,
        features: { x, y, c, region },
        prediction,
        confidence: 0.5 + rng() / 2,
        label: labelled ? (correct ? prediction : prediction === 'yes' ? 'no' : 'yes') : null,
        latencyMs: Math.exp(3 + 0.5 * normal(rng)),
        status: rng() < errorRate ? '500' : '200',
        segments: { 'features.region': region },
      }),
    );
  }
  return out;
}

/** One profile per (version, window), as the agent would have closed them. */
function windowsOf(recs: InferenceRecord[], opts: ProfileOptions = OPTS): WindowProfile[] {
  const byKey = new Map<string, WindowProfile>();
  for (const r of recs) {
    const start = Math.floor(r.ts / WINDOW) * WINDOW;
    const key = `${r.modelVersion}@${start}`;
    let p = byKey.get(key);
    if (p === undefined) byKey.set(key, (p = new WindowProfile({ model: r.model, modelVersion: r.modelVersion, start, end: start + WINDOW }, opts)));
    p.add(r);
  }
  return [...byKey.values()];
}

function profileOf(recs: InferenceRecord[], version: string): WindowProfile {
  const p = new WindowProfile({ model: 'm', modelVersion: version, start: T0, end: T0 + WINDOW }, OPTS);
  for (const r of recs) p.add(r);
  return p;
}

/** The share of values at or below x: a quantile estimate is good when this is close to q. */
function rankOf(sorted: number[], x: number): number {
  let k = 0;
  while (k < sorted.length && (sorted[k] ?? Infinity) <= x) k++;
  return k / sorted.length;
}

function macroF1(recs: InferenceRecord[]): number {
  const lab = recs.filter((r) => r.label !== null);
  const classes = [...new Set(lab.flatMap((r) => [String(r.label), String(r.prediction)]))];
  const f1s = classes.map((c) => {
    const tp = lab.filter((r) => r.label === c && r.prediction === c).length;
    const predicted = lab.filter((r) => r.prediction === c).length;
    const actual = lab.filter((r) => r.label === c).length;
    const p = predicted ? tp / predicted : 0;
    const rc = actual ? tp / actual : 0;
    return p + rc ? (2 * p * rc) / (p + rc) : 0;
  });
  return f1s.reduce((a, b) => a + b, 0) / f1s.length;
}

const accuracy = (recs: InferenceRecord[]): number => {
  const lab = recs.filter((r) => r.label !== null);
  return lab.filter((r) => r.label === r.prediction).length / lab.length;
};
const failed = (r: InferenceRecord): boolean => r.error !== null || (r.status !== null && isErrorStatus(r.status));

describe('compareVersions', () => {
  const v1 = records('v1', 3000, 1, 0, 0.02);
  const v2 = records('v2', 1000, 2, 1, 0.06);
  const windows = windowsOf([...v1, ...v2]);
  // A few rejections and late records in v2's windows, as the agent attributes them.
  const firstV2 = windows.find((w) => w.modelVersion === 'v2');
  for (let i = 0; i < 7; i++) firstV2?.addRejection({ reason: 'unparseable', detail: 'bad', example: '{', ts: null });
  firstV2?.addLate(3);
  const input: CompareInput = { model: 'm', from: T0, to: null, windows, drift };
  const baselines = {
    v1: { version: 'v1', profile: profileOf(records('v1', 3000, 11, 0, 0.02), 'v1') },
    '*': { version: '*', profile: profileOf(records('base', 3000, 12, 0, 0.02), '*') },
  };
  const report = compareVersions(input, { baselineOf: (v) => (v === 'v1' ? baselines.v1 : baselines['*']) });
  const col = (v: string) => {
    const c = report.columns.find((x) => x.version === v);
    if (c === undefined) throw new Error(`no column ${v}`);
    return c;
  };

  it('has one column per version; the reference defaults to the version with the most records', () => {
    expect(report.columns.map((c) => c.version)).toEqual(['v1', 'v2']);
    expect(report.reference).toBe('v1');
    expect(col('v1').reference_drift).toBeNull();
  });

  it('counts, rates and throughput equal a direct computation on the records', () => {
    for (const [v, recs] of [['v1', v1], ['v2', v2]] as const) {
      const c = col(v);
      const errors = recs.filter(failed).length;
      expect(c.records).toBe(recs.length);
      expect(c.errors).toBe(errors);
      expect(c.error_rate).toBeCloseTo(errors / recs.length, 12);
      expect(c.windows).toBe(4);
      expect(c.throughput_per_s).toBeCloseTo(recs.length / 240, 12);
      const conf = recs.reduce((s, r) => s + (r.confidence ?? 0), 0) / recs.length;
      expect(c.confidence_mean).toBeCloseTo(conf, 9);
      expect(c.quality).toMatchObject({ task: 'classification', labelled: recs.filter((r) => r.label !== null).length });
      if (c.quality.task !== 'classification') throw new Error('task');
      expect(c.quality.accuracy).toBeCloseTo(accuracy(recs), 12);
      expect(c.quality.macro_f1).toBeCloseTo(macroF1(recs), 12);
      if (c.prediction.type !== 'categorical') throw new Error('prediction type');
      const yes = recs.filter((r) => r.prediction === 'yes').length / recs.length;
      expect(c.prediction.top.find((t) => t.value === 'yes')?.share).toBeCloseTo(yes, 12);
      expect(c.prediction.top.length).toBeLessThanOrEqual(TOP_CLASSES);
    }
    expect(col('v1')).toMatchObject({ rejected: 0, rejected_rate: 0, late: 0 });
    expect(col('v2')).toMatchObject({ rejected: 7, late: 3 });
    expect(col('v2').rejected_rate).toBeCloseTo(7 / (v2.length + 7), 12);
  });

  it('latency quantiles lie within the digest rank error of the exact ones', () => {
    for (const [v, recs] of [['v1', v1], ['v2', v2]] as const) {
      const sorted = recs.map((r) => r.latencyMs ?? 0).sort((a, b) => a - b);
      const q = col(v).latency_ms;
      if (q === null) throw new Error('no latency');
      // t-digest: rank error under 0.005 from 1,000 values on; merging windows may add a little.
      expect(Math.abs(rankOf(sorted, q.p50) - 0.5)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(sorted, q.p95) - 0.95)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(sorted, q.p99) - 0.99)).toBeLessThan(0.005);
    }
  });

  it('the canary drifts from the reference in exactly the shifted feature', () => {
    const d = col('v2').reference_drift;
    expect(d).not.toBeNull();
    expect(d?.against).toBe('v1');
    expect(d?.dataset.drifted).toEqual(['x']);
    expect(d?.compared).toBe(4); // x, y, c, region
    expect(d?.prediction?.drift).toBe(false);
  });

  it('drift against the stored baseline: own baseline for v1, the model-wide one for v2', () => {
    expect(col('v1').baseline_drift).toMatchObject({ against: 'v1', dataset: { drift: false, drifted: [] } });
    expect(col('v2').baseline_drift).toMatchObject({ against: '*', dataset: { drifted: ['x'] } });
  });

  it('a named reference turns the comparison round; an unknown one is refused', () => {
    const r = compareVersions(input, { reference: 'v2', baselineOf: () => null });
    expect(r.reference).toBe('v2');
    expect(r.columns.find((c) => c.version === 'v1')?.reference_drift?.dataset.drifted).toEqual(['x']);
    expect(r.columns.every((c) => c.baseline_drift === null)).toBe(true);
    expect(() => compareVersions(input, { reference: 'v9', baselineOf: () => null })).toThrow(CompareError);
  });

  it('no windows: no columns, no reference', () => {
    const r = compareVersions({ ...input, windows: [] }, { baselineOf: () => null });
    expect(r).toMatchObject({ columns: [], reference: null });
  });

  it('regression: prediction mean and std, MAE and RMSE', () => {
    const rng = mulberry32(5);
    const recs = Array.from({ length: 500 }, (_, i) => {
      const label = 10 + normal(rng);
      return testRecord({ ts: T0 + i * 100, model: 'm', modelVersion: 'r1', prediction: label + 0.5 * normal(rng), label: i % 2 ? label : null });
    });
    const r = compareVersions({ ...input, windows: windowsOf(recs, { ...OPTS, task: 'regression' }) }, { baselineOf: () => null });
    const c = r.columns[0];
    if (c?.prediction.type !== 'numeric' || c.quality.task !== 'regression') throw new Error('regression column');
    const preds = recs.map((x) => x.prediction as number);
    const mean = preds.reduce((a, b) => a + b, 0) / preds.length;
    const std = Math.sqrt(preds.reduce((s, p) => s + (p - mean) ** 2, 0) / (preds.length - 1));
    const errs = recs.filter((x) => x.label !== null).map((x) => (x.prediction as number) - (x.label as number));
    expect(c.prediction.mean).toBeCloseTo(mean, 9);
    expect(c.prediction.std).toBeCloseTo(std, 9);
    expect(c.quality.labelled).toBe(250);
    expect(c.quality.mae).toBeCloseTo(errs.reduce((s, e) => s + Math.abs(e), 0) / errs.length, 9);
    expect(c.quality.rmse).toBeCloseTo(Math.sqrt(errs.reduce((s, e) => s + e * e, 0) / errs.length), 9);
  });
});

describe('compareSegments', () => {
  const v1 = records('v1', 3000, 1, 0, 0.02);
  const v2 = records('v2', 1000, 2, 1, 0.06);
  const input: CompareInput = { model: 'm', from: T0, to: null, windows: windowsOf([...v1, ...v2]), drift };

  function check(cols: ReturnType<typeof compareSegments>['columns'], recs: InferenceRecord[]): void {
    expect(cols.map((c) => c.value).sort()).toEqual([...REGIONS].sort());
    for (const c of cols) {
      const mine = recs.filter((r) => r.segments['features.region'] === c.value);
      expect(c.path).toBe('features.region');
      expect(c.count).toBe(mine.length);
      expect(c.share).toBeCloseTo(mine.length / recs.length, 12);
      expect(c.errors).toBe(mine.filter(failed).length);
      expect(c.quality).toMatchObject({ task: 'classification', labelled: mine.filter((r) => r.label !== null).length });
      if (c.quality.task !== 'classification') throw new Error('task');
      expect(c.quality.accuracy).toBeCloseTo(accuracy(mine), 12);
      expect(c.quality.macro_f1).toBeCloseTo(macroF1(mine), 12);
      const sorted = mine.map((r) => r.latencyMs ?? 0).sort((a, b) => a - b);
      expect(Math.abs(rankOf(sorted, c.latency_ms?.p50 ?? NaN) - 0.5)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(sorted, c.latency_ms?.p95 ?? NaN) - 0.95)).toBeLessThan(0.015);
    }
    // Ranked by records.
    expect(cols.map((c) => c.count)).toEqual([...cols.map((c) => c.count)].sort((a, b) => b - a));
  }

  it('merges every version: counts, errors, quality per value equal a direct computation', () => {
    const r = compareSegments(input, { segmentPaths: ['features.region'] });
    expect(r.versions).toEqual(['v1', 'v2']);
    expect(r.paths).toEqual(['features.region']);
    check(r.columns, [...v1, ...v2]);
  });

  it('--version restricts to one version', () => {
    const r = compareSegments(input, { segmentPaths: ['features.region'], version: 'v2' });
    expect(r.versions).toEqual(['v2']);
    check(r.columns, v2);
    expect(() => compareSegments(input, { segmentPaths: [], version: 'v9' })).toThrow(CompareError);
  });

  it('values past the segment cap come last, as one other column', () => {
    const capped = windowsOf(v1, { ...OPTS, segmentCap: 2 });
    const r = compareSegments({ ...input, windows: capped }, { segmentPaths: ['features.region'] });
    expect(r.columns.length).toBe(3);
    expect(r.columns.at(-1)?.value).toBe(OTHER_KEY);
    expect(r.columns.reduce((n, c) => n + c.count, 0)).toBe(v1.length);
  });

  it('a configured path without records is listed with no columns', () => {
    const r = compareSegments(input, { segmentPaths: ['features.tier', 'features.region'] });
    expect(r.paths).toEqual(['features.tier', 'features.region']);
    expect(r.columns.every((c) => c.path === 'features.region')).toBe(true);
  });
});
