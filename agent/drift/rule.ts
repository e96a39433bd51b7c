// The default rule that picks, per feature, the test whose verdict counts. Every score is computed
// and kept whatever the rule picks; the rule only decides `method` and `drift`.
//
// It starts from Evidently's published defaults: with a small reference (at most 1,000 values) a
// statistical test decides (KS p < 0.05 for numeric, chi-squared p < 0.05 for categorical); with a
// larger one, where every tiny shift becomes "significant", a distance decides (Wasserstein
// normalised by the reference std >= 0.1 for numeric, Jensen-Shannon >= 0.1 for categorical). A
// dataset drifts when at least half of its features do.

export interface DriftRule {
  /** Up to this many reference values, the statistical test decides; above it, the distance. */
  small_reference: number;
  ks_alpha: number;
  chi2_alpha: number;
  wasserstein_threshold: number;
  js_threshold: number;
  /** Share of drifted features at which the dataset counts as drifted. */
  dataset_share: number;
}

export const DEFAULT_DRIFT_RULE: Readonly<DriftRule> = Object.freeze({
  small_reference: 1_000,
  ks_alpha: 0.05,
  chi2_alpha: 0.05,
  wasserstein_threshold: 0.1,
  js_threshold: 0.1,
  dataset_share: 0.5,
});

export type DriftMethod = 'ks' | 'wasserstein' | 'chi2' | 'js';

export interface NumericScores {
  count_ref: number;
  ks: { statistic: number; p_value: number };
  wasserstein: number;
}

export interface CategoricalScores {
  count_ref: number;
  chi2: { p_value: number };
  js: number;
}

export function decideNumeric(s: NumericScores, rule: DriftRule): { method: DriftMethod; drift: boolean } {
  if (s.count_ref <= rule.small_reference) return { method: 'ks', drift: s.ks.p_value < rule.ks_alpha };
  return { method: 'wasserstein', drift: s.wasserstein >= rule.wasserstein_threshold };
}

export function decideCategorical(s: CategoricalScores, rule: DriftRule): { method: DriftMethod; drift: boolean } {
  if (s.count_ref <= rule.small_reference) return { method: 'chi2', drift: s.chi2.p_value < rule.chi2_alpha };
  return { method: 'js', drift: s.js >= rule.js_threshold };
}
