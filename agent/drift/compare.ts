// Compares a current profile with its baseline: every drift score per feature and for prediction
// and label, the rule's verdict, the dataset share, and both sides' quality.
import type { FeatureDriftConfig } from '../config/types.js';
import { CategoricalSummary, NumericSummary, type FeatureSummary, type WindowProfile } from '../profile/index.js';
import { categoricalSide, chiSquared, jensenShannonCategorical, newCategories, psiCategorical } from './categorical.js';
import { jensenShannonNumeric, ksTwoSample, numericSide, psiNumeric, wassersteinNormalized } from './numeric.js';
import { conceptDrift, estimatedAccuracy, qualityMetrics, type ConceptDrift, type EstimatedAccuracy, type QualityMetrics } from './quality.js';
import { DEFAULT_DRIFT_RULE, decideCategorical, decideNumeric, type DriftMethod, type DriftRule } from './rule.js';

export interface NumericDrift {
  type: 'numeric';
  count_ref: number;
  count_cur: number;
  psi: number;
  ks: { statistic: number; p_value: number };
  wasserstein: number;
  js: number;
  method: DriftMethod;
  drift: boolean;
}

export interface CategoricalDrift {
  type: 'categorical';
  count_ref: number;
  count_cur: number;
  psi: number;
  chi2: { statistic: number; dof: number; p_value: number };
  js: number;
  new_categories: string[];
  method: DriftMethod;
  drift: boolean;
}

export type FeatureDrift = NumericDrift | CategoricalDrift;

export interface DriftReport {
  dataset: { drift: boolean; share: number; drifted: string[] };
  /** Features compared, ranked by the deciding test's p-value, smallest first. */
  features: Record<string, FeatureDrift>;
  /** Features not compared, with why (no values on one side, or a different type). */
  skipped: Record<string, string>;
  prediction: FeatureDrift | null;
  /** When the prediction drifted: the features that drifted in the same window (where to look first). */
  prediction_drift_features: string[];
  label: FeatureDrift | null;
  /** Quality of both sides, and concept drift: the current quality against the baseline's. */
  quality: {
    baseline: QualityMetrics;
    current: QualityMetrics;
    concept: ConceptDrift;
    /** Classification: the accuracy the confidences promise, for windows whose labels have not come. */
    estimated: EstimatedAccuracy | null;
  };
}

/** All scores for one summary pair, or the reason they cannot be compared. */
export function featureDrift(base: FeatureSummary, cur: FeatureSummary, rule: DriftRule = DEFAULT_DRIFT_RULE): FeatureDrift | string {
  if (base instanceof NumericSummary && cur instanceof NumericSummary) {
    if (base.count === 0 || cur.count === 0) return 'no values on one side';
    const b = numericSide(base);
    const c = numericSide(cur);
    const ks = ksTwoSample(b, c);
    const wasserstein = wassersteinNormalized(b, c);
    const scores = { count_cur: cur.count, ks, wasserstein };
    return {
      type: 'numeric',
      count_ref: base.count,
      count_cur: cur.count,
      psi: psiNumeric(b, c).psi,
      ks,
      wasserstein,
      js: jensenShannonNumeric(b, c),
      ...decideNumeric(scores, rule),
    };
  }
  if (base instanceof CategoricalSummary && cur instanceof CategoricalSummary) {
    const b = categoricalSide(base);
    const c = categoricalSide(cur);
    if (b.total === 0 || c.total === 0) return 'no values on one side';
    const chi2 = chiSquared(b, c);
    const js = jensenShannonCategorical(b, c);
    return {
      type: 'categorical',
      count_ref: b.total,
      count_cur: c.total,
      psi: psiCategorical(b, c),
      chi2,
      js,
      new_categories: newCategories(b, c),
      ...decideCategorical({ count_cur: c.total, chi2, js }, rule),
    };
  }
  return `numeric on one side and categorical on the other`;
}

function estimate(base: WindowProfile, cur: WindowProfile): EstimatedAccuracy | null {
  const [b, c] = [base.quality, cur.quality];
  if (b.kind !== 'classification' || c.kind !== 'classification') return null;
  return estimatedAccuracy(b, c, { base: base.confidence.mean, cur: cur.confidence.mean });
}

/** How strongly the deciding test says drift (smaller p first), used to rank features. */
function severity(d: FeatureDrift): number {
  const p = d.type === 'numeric' ? d.ks.p_value : d.chi2.p_value;
  return -Math.log10(Math.max(p, Number.MIN_VALUE));
}

/**
 * `features` overrides the rule per feature (other thresholds, or `ignore` to leave it out, as in
 * the model's `drift.features` config).
 */
export function compareProfiles(
  base: WindowProfile,
  cur: WindowProfile,
  rule: DriftRule = DEFAULT_DRIFT_RULE,
  features: Readonly<Record<string, FeatureDriftConfig>> = {},
): DriftReport {
  const compared: Array<[string, FeatureDrift]> = [];
  const skipped: Record<string, string> = {};
  const names = new Set([...base.featureNames(), ...cur.featureNames()]);
  for (const name of [...names].sort()) {
    const b = base.feature(name);
    const c = cur.feature(name);
    const own = Object.hasOwn(features, name) ? features[name] : undefined;
    if (own?.ignore) {
      skipped[name] = 'ignored by the drift config';
      continue;
    }
    if (!b || !c) {
      skipped[name] = b ? 'not in the current data' : 'not in the baseline';
      continue;
    }
    const d = featureDrift(b, c, own ? { ...rule, ...own.rule } : rule);
    if (typeof d === 'string') skipped[name] = d;
    else compared.push([name, d]);
  }
  compared.sort((x, y) => severity(y[1]) - severity(x[1]) || (x[0] < y[0] ? -1 : 1));
  const drifted = compared.filter(([, d]) => d.drift).map(([name]) => name);
  const share = compared.length === 0 ? 0 : drifted.length / compared.length;
  const orNull = (d: FeatureDrift | string): FeatureDrift | null => (typeof d === 'string' ? null : d);
  const prediction = orNull(featureDrift(base.prediction, cur.prediction, rule));
  const bq = qualityMetrics(base.toJSON().quality);
  const cq = qualityMetrics(cur.toJSON().quality);
  return {
    dataset: { drift: compared.length > 0 && share >= rule.dataset_share, share, drifted },
    features: Object.fromEntries(compared),
    skipped,
    prediction,
    prediction_drift_features: prediction?.drift === true ? drifted : [],
    label: orNull(featureDrift(base.label, cur.label, rule)),
    quality: { baseline: bq, current: cq, concept: conceptDrift(bq, cq), estimated: estimate(base, cur) },
  };
}
