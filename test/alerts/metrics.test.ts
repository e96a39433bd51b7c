// Every metric form computed from a real window profile, its drift report and its baseline, and
// null wherever a window has no value.
import { describe, expect, it } from 'vitest';
import { windowMetrics } from '../../agent/alerts/index.js';
import { compareProfiles } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import type { InferenceRecord } from '../../agent/records/types.js';
import { testRecord } from '../helpers/records.js';
import { baselineProfile, MIN, T0, windowProfile } from './profiles.js';

describe('window metrics', () => {
  it('serving figures: rates, throughput, latency quantiles and confidence', () => {
    const p = windowProfile(0, { records: 600, rejected: 200, errors: 60, latency: 10 });
    const m = windowMetrics(p, null, null);
    expect(m('records')).toBe(600);
    expect(m('rejected_rate')).toBe(200 / 800);
    expect(m('error_rate')).toBe(60 / 600);
    expect(m('throughput')).toBe(10);
    expect(m('latency_ms.p50')).toBeCloseTo(p.latencyMs.quantile(0.5)!, 12);
    expect(m('latency_ms.p50')!).toBeGreaterThan(10);
    expect(m('latency_ms.p99')!).toBeLessThanOrEqual(15);
    expect(m('latency_ms.p95')!).toBeLessThan(m('latency_ms.p99')!);
    expect(m('latency_ms.max')).toBe(p.latencyMs.max);
    expect(m('latency_ms.mean')).toBe(p.latencyMs.mean);
    expect(m('confidence.mean')!).toBeCloseTo(0.9, 2);
    // Against nothing: no ratios, no drop, no drift.
    for (const name of ['latency_ms.p99_ratio', 'confidence.drop', 'drift.share', 'drift.dataset', 'drift.x.psi']) {
      expect(m(name)).toBeNull();
    }
    expect(m('log.silence_seconds')).toBeNull();
    expect(m('not.a.metric')).toBeNull();
  });

  it('an empty window has no rates, and a throughput of 0', () => {
    const p = windowProfile(0, { records: 0 });
    const m = windowMetrics(p, null, null);
    expect([m('error_rate'), m('rejected_rate'), m('latency_ms.p99'), m('confidence.mean'), m('missing_rate.x')]).toEqual([null, null, null, null, null]);
    expect(m('throughput')).toBe(0);
  });

  it('against a baseline: ratios, the confidence drop and every drift score', () => {
    const base = baselineProfile();
    const p = windowProfile(0, { shift: 1, latency: 20, confidence: 0.8 });
    const drift = compareProfiles(base, p);
    const m = windowMetrics(p, drift, base);
    expect(m('latency_ms.p99_ratio')).toBeCloseTo(p.latencyMs.quantile(0.99)! / base.latencyMs.quantile(0.99)!, 12);
    expect(m('latency_ms.p50_ratio')!).toBeGreaterThan(1.8);
    expect(m('confidence.drop')).toBeCloseTo(base.confidence.mean! - p.confidence.mean!, 12);
    expect(m('drift.dataset')).toBe(1);
    expect(m('drift.share')).toBe(1);
    const x = drift.features['x'];
    if (x?.type !== 'numeric') throw new Error('x should be numeric');
    expect(m('drift.x.psi')).toBe(x.psi);
    expect(m('drift.x.ks')).toBe(x.ks.statistic);
    expect(m('drift.x.ks_p')).toBe(x.ks.p_value);
    expect(m('drift.x.wasserstein')).toBe(x.wasserstein);
    expect(m('drift.x.js')).toBe(x.js);
    expect(m('drift.x.drifted')).toBe(1);
    expect(m('drift.x.chi2')).toBeNull();
    expect(m('drift.nope.psi')).toBeNull();
    const pred = drift.prediction;
    if (pred?.type !== 'categorical') throw new Error('prediction should be categorical');
    expect(m('drift.prediction.chi2')).toBe(pred.chi2.statistic);
    expect(m('drift.prediction.chi2_p')).toBe(pred.chi2.p_value);
    expect(m('drift.prediction.ks')).toBeNull();
    expect(m('drift.label.psi')).toBeNull(); // no labels on either side
  });

  it('missing_rate: of a feature, 1 for a feature that vanished from the input, null for one never seen', () => {
    const base = baselineProfile();
    const p = windowProfile(0, { records: 100, over: (i): Partial<InferenceRecord> => ({ features: i < 25 ? { x: 1 } : { x: null, y: 2 } }) });
    const m = windowMetrics(p, compareProfiles(base, p), base);
    expect(m('missing_rate.x')).toBe(0.75);
    expect(m('missing_rate.y')).toBe(0.25);
    const q = windowProfile(1, { records: 100, over: () => ({ features: { x: 1 } }) });
    expect(windowMetrics(q, null, base)('missing_rate.y')).toBe(1);
    expect(windowMetrics(q, null, null)('missing_rate.y')).toBeNull();
    expect(windowMetrics(q, null, base)('missing_rate.zzz')).toBeNull();
  });

  it('quality: accuracy and macro scores for classification, errors for regression', () => {
    const p = windowProfile(0, { records: 100, over: (i) => ({ prediction: 'a', label: i < 80 ? 'a' : 'b' }) });
    const m = windowMetrics(p, null, null);
    expect(m('quality.accuracy')).toBe(0.8);
    expect(m('quality.labelled')).toBe(100);
    expect(m('quality.macro_recall')).toBe(0.5);
    expect(m('quality.mae')).toBeNull();

    const r = new WindowProfile({ model: 'm', modelVersion: 'v1', start: T0, end: T0 + MIN }, { task: 'regression', categoricalCap: 8, segmentCap: 8, segmentPaths: [] });
    r.add(testRecord({ prediction: 10, label: 12 }));
    r.add(testRecord({ prediction: 10, label: 6 }));
    const rm = windowMetrics(r, null, null);
    expect(rm('quality.mae')).toBe(3);
    expect(rm('quality.rmse')).toBeCloseTo(Math.sqrt(10), 12);
    expect(rm('quality.accuracy')).toBeNull();
    // No labels yet: no accuracy.
    expect(windowMetrics(windowProfile(0, { records: 10 }), null, null)('quality.accuracy')).toBeNull();
  });
});

describe('system.* metrics', () => {
  it('read a window’s sampled readings: the statistic is the last part, mean when there is none', async () => {
    const { parseMetric } = await import('../../agent/alerts/metric-names.js');
    const { windowMetrics } = await import('../../agent/alerts/metrics.js');
    const { WindowProfile } = await import('../../agent/profile/index.js');
    expect(parseMetric('system.gpu.0.temperature.max')).toEqual({ kind: 'system', metric: 'gpu.0.temperature', stat: 'max' });
    expect(parseMetric('system.process.triton.up')).toEqual({ kind: 'system', metric: 'process.triton.up', stat: 'mean' });
    const p = new WindowProfile({ model: 'm', modelVersion: 'v1', start: 0, end: 60_000 }, { task: 'classification', categoricalCap: 8, segmentCap: 8, segmentPaths: [] });
    for (const [t, up] of [[61, 1], [70, 0], [65, 1]] as const) {
      p.addSystemRound(new Map([['gpu.0.temperature', t], ['process.triton.up', up]]));
    }
    const m = windowMetrics(p, null, null);
    expect(m('system.gpu.0.temperature.max')).toBe(70);
    expect(m('system.gpu.0.temperature.min')).toBe(61);
    expect(m('system.gpu.0.temperature')).toBeCloseTo(196 / 3, 12);
    expect(m('system.process.triton.up.min')).toBe(0);
    expect(m('system.process.triton.up')).toBeCloseTo(2 / 3, 12);
    expect(m('system.gpu.1.temperature.max')).toBeNull();
  });
});
