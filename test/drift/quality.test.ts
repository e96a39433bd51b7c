// Quality metrics from a profile's counts, against a direct computation on the raw pairs, and the
// concept-drift rule.
import { describe, expect, it } from 'vitest';
import { conceptDrift, qualityMetrics, type ClassificationMetrics, type RegressionMetrics } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import type { InferenceRecord } from '../../agent/records/types.js';
import { testRecord } from '../helpers/records.js';
import { mulberry32, normal } from './prng.js';

function record(prediction: string | number, label: string | number | null): InferenceRecord {
  return testRecord({ prediction, label });
}

function profileOf(task: 'classification' | 'regression', pairs: Array<[string | number, string | number | null]>): WindowProfile {
  const p = new WindowProfile({ model: 'm', modelVersion: 'v1', start: 0, end: 60_000 }, { task, categoricalCap: 256, segmentCap: 8, segmentPaths: [] });
  for (const [pred, label] of pairs) p.add(record(pred, label));
  return p;
}

/** scikit-learn's definitions (zero_division=0), straight from the pairs. */
function reference(pairs: Array<[string, string]>) {
  const classes = [...new Set(pairs.flat())].sort();
  const per = classes.map((c) => {
    const tp = pairs.filter(([p, l]) => p === c && l === c).length;
    const predicted = pairs.filter(([p]) => p === c).length;
    const actual = pairs.filter(([, l]) => l === c).length;
    const precision = predicted ? tp / predicted : 0;
    const recall = actual ? tp / actual : 0;
    return { c, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support: actual };
  });
  return { classes: per, accuracy: pairs.filter(([p, l]) => p === l).length / pairs.length };
}

describe('quality metrics', () => {
  it('computes accuracy, per-class and macro precision, recall and F1 as scikit-learn does', () => {
    const rng = mulberry32(17);
    const names = ['cat', 'dog', 'emu', 'fox'];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < 5_000; i++) {
      const label = names[Math.floor(rng() * 3)]!; // 'fox' is only ever predicted
      const pred = rng() < 0.7 ? label : names[Math.floor(rng() * 4)]!;
      pairs.push([pred, label]);
    }
    const m = qualityMetrics(profileOf('classification', pairs).toJSON().quality) as ClassificationMetrics;
    const ref = reference(pairs);
    expect(m.labelled).toBe(5_000);
    expect(m.accuracy).toBeCloseTo(ref.accuracy, 12);
    for (const r of ref.classes) {
      const got = m.classes[r.c]!;
      expect(got.precision).toBeCloseTo(r.precision, 12);
      expect(got.recall).toBeCloseTo(r.recall, 12);
      expect(got.f1).toBeCloseTo(r.f1, 12);
      expect(got.support).toBe(r.support);
    }
    expect(m.classes['fox']).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0 });
    const mean = (k: 'precision' | 'recall' | 'f1') => ref.classes.reduce((s, r) => s + r[k], 0) / ref.classes.length;
    expect(m.macro!.precision).toBeCloseTo(mean('precision'), 12);
    expect(m.macro!.recall).toBeCloseTo(mean('recall'), 12);
    expect(m.macro!.f1).toBeCloseTo(mean('f1'), 12);
  });

  it('computes MAE, MSE, RMSE and MAPE for regression', () => {
    const rng = mulberry32(5);
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < 2_000; i++) {
      const label = 10 + normal(rng) * 3;
      pairs.push([label + normal(rng), label]);
    }
    const m = qualityMetrics(profileOf('regression', pairs).toJSON().quality) as RegressionMetrics;
    const err = pairs.map(([p, l]) => p - l);
    const mae = err.reduce((s, e) => s + Math.abs(e), 0) / err.length;
    const mse = err.reduce((s, e) => s + e * e, 0) / err.length;
    const mape = pairs.reduce((s, [p, l]) => s + Math.abs(p - l) / Math.abs(l), 0) / pairs.length;
    expect(m.mae).toBeCloseTo(mae, 10);
    expect(m.mse).toBeCloseTo(mse, 10);
    expect(m.rmse).toBeCloseTo(Math.sqrt(mse), 10);
    expect(m.mape).toBeCloseTo(mape, 10);
  });
});

describe('concept drift', () => {
  const cls = (accuracy: number, labelled: number): ClassificationMetrics => ({ task: 'classification', labelled, accuracy, classes: {}, macro: null });
  const reg = (mae: number, labelled: number): RegressionMetrics => ({ task: 'regression', labelled, mae, mse: null, rmse: null, mape: null });

  it('flags an accuracy drop of at least 0.05, and says nothing with fewer than 30 labels', () => {
    expect(conceptDrift(cls(0.9, 1_000), cls(0.84, 100))).toMatchObject({ metric: 'accuracy', drift: true });
    expect(conceptDrift(cls(0.9, 1_000), cls(0.86, 100)).drift).toBe(false);
    expect(conceptDrift(cls(0.9, 1_000), cls(0.95, 100)).drift).toBe(false);
    expect(conceptDrift(cls(0.9, 1_000), cls(0.5, 29)).drift).toBeNull();
    expect(conceptDrift(cls(0.9, 1_000), cls(0.5, 29)).change).toBeCloseTo(-0.4, 12);
  });

  it('flags an MAE at least 10% above the baseline', () => {
    expect(conceptDrift(reg(2, 500), reg(2.3, 50))).toMatchObject({ metric: 'mae', drift: true });
    expect(conceptDrift(reg(2, 500), reg(2.1, 50)).drift).toBe(false);
    expect(conceptDrift(reg(0, 500), reg(1, 50)).drift).toBeNull();
  });
});
