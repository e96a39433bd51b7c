// A closed window's alert metrics: every name of the grammar in metric-names.ts, computed on demand
// from the window's profile, its drift report and its baseline. A metric that has no value for this
// window (no records, no baseline, a feature it does not have) is null: its rules are not evaluated.
import type { DriftReport, FeatureDrift } from '../drift/compare.js';
import { qualityMetrics, type QualityMetrics } from '../drift/quality.js';
import type { NumericSummary, WindowJson, WindowProfile } from '../profile/index.js';
import { parseMetric, type DriftScore, type LatencyStat, type MetricRef, type QualityMetric } from './metric-names.js';

/** A metric's value for one window, or null when it has none. */
export type MetricLookup = (metric: string) => number | null;

const QUANTILES: Record<Exclude<LatencyStat, 'mean' | 'max'>, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

function finite(x: number | null | undefined): number | null {
  return x !== null && x !== undefined && Number.isFinite(x) ? x : null;
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : finite(a / b);
}

function latencyStat(s: NumericSummary, stat: LatencyStat): number | null {
  if (stat === 'mean') return s.mean;
  if (stat === 'max') return s.max;
  return s.quantile(QUANTILES[stat]);
}

function driftScore(d: FeatureDrift | null | undefined, score: DriftScore): number | null {
  if (d === null || d === undefined) return null;
  switch (score) {
    case 'psi':
      return d.psi;
    case 'js':
      return d.js;
    case 'drifted':
      return d.drift ? 1 : 0;
    case 'ks':
      return d.type === 'numeric' ? d.ks.statistic : null;
    case 'ks_p':
      return d.type === 'numeric' ? d.ks.p_value : null;
    case 'wasserstein':
      return d.type === 'numeric' ? d.wasserstein : null;
    case 'chi2':
      return d.type === 'categorical' ? d.chi2.statistic : null;
    case 'chi2_p':
      return d.type === 'categorical' ? d.chi2.p_value : null;
  }
}

function quality(q: QualityMetrics, metric: QualityMetric): number | null {
  if (metric === 'labelled') return q.labelled;
  if (q.task === 'classification') {
    switch (metric) {
      case 'accuracy':
        return q.accuracy;
      case 'macro_precision':
        return q.macro?.precision ?? null;
      case 'macro_recall':
        return q.macro?.recall ?? null;
      case 'macro_f1':
        return q.macro?.f1 ?? null;
      default:
        return null;
    }
  }
  switch (metric) {
    case 'mae':
    case 'mse':
    case 'rmse':
    case 'mape':
      return q[metric];
    default:
      return null;
  }
}

/**
 * The lookup for one closed window. `drift` is the window's report against `baseline` (both null
 * when the version has no baseline). Values are computed when first asked for, then kept.
 */
export function windowMetrics(profile: WindowProfile, drift: DriftReport | null, baseline: WindowProfile | null): MetricLookup {
  let json: WindowJson | undefined;
  let baseJson: WindowJson | undefined;
  let q: QualityMetrics | undefined;
  const cache = new Map<string, number | null>();
  const count = profile.count;

  const compute = (m: MetricRef): number | null => {
    switch (m.kind) {
      case 'records':
        return count;
      case 'throughput':
        return count / ((profile.end - profile.start) / 1000);
      case 'error_rate':
        return count === 0 ? null : profile.errors / count;
      case 'rejected_rate': {
        const all = count + profile.rejected;
        return all === 0 ? null : profile.rejected / all;
      }
      case 'latency': {
        const own = latencyStat(profile.latencyMs, m.stat);
        if (!m.ratio) return own;
        return baseline === null ? null : ratio(own, latencyStat(baseline.latencyMs, m.stat));
      }
      case 'confidence': {
        const own = profile.confidence.mean;
        if (m.stat === 'mean') return own;
        const base = baseline?.confidence.mean ?? null;
        return own === null || base === null ? null : base - own;
      }
      case 'drift_share':
        return drift === null ? null : drift.dataset.share;
      case 'drift_dataset':
        return drift === null ? null : drift.dataset.drift ? 1 : 0;
      case 'drift': {
        if (drift === null) return null;
        const t = m.target;
        const d = t === 'prediction' ? drift.prediction : t === 'label' ? drift.label : drift.features[t.feature];
        return driftScore(d, m.score);
      }
      case 'missing_rate': {
        if (count === 0) return null;
        json ??= profile.toJSON();
        const f = Object.hasOwn(json.features, m.feature) ? json.features[m.feature] : undefined;
        if (f !== undefined) return f.missing / count;
        // Absent from every record of the window: missing everywhere when the baseline knows the
        // feature (it vanished from the input), no value when nothing ever had it (a typo, say).
        if (baseline === null) return null;
        baseJson ??= baseline.toJSON();
        return Object.hasOwn(baseJson.features, m.feature) ? 1 : null;
      }
      case 'quality':
        q ??= qualityMetrics(profile.quality.toJSON());
        return quality(q, m.metric);
      case 'silence':
        // Evaluated on a timer from the model's last record, never from a window.
        return null;
      case 'system': {
        const s = profile.system.metric(m.metric);
        if (s === undefined || s.count === 0) return null;
        switch (m.stat) {
          case 'min':
            return s.min;
          case 'max':
            return s.max;
          case 'mean':
            return s.mean;
          case 'p50':
            return s.quantile(0.5);
          case 'p95':
            return s.quantile(0.95);
          case 'p99':
            return s.quantile(0.99);
        }
      }
    }
  };

  return (metric) => {
    const known = cache.get(metric);
    if (known !== undefined) return known;
    const parsed = parseMetric(metric);
    const value = typeof parsed === 'string' ? null : finite(compute(parsed));
    cache.set(metric, value);
    return value;
  };
}
