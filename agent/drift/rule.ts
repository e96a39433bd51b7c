// The default rule that decides, per feature, whether it drifted. Every score is computed and kept
// whatever the rule decides; the rule only sets `method` and `drift`.
//
// Evidently's published defaults switch on the reference size: up to 1,000 values a test at
// p < 0.05 decides, above it a distance (Wasserstein >= 0.1 std, Jensen-Shannon >= 0.1). Measured on
// the same data (docs/drift-benchmark.md) that fires on ~5% of stationary windows with a small
// reference and on ~40% with 100-record windows, and never sees a 5-10 point category shift. This
// rule asks for both a significant test and an effect worth reporting, at every size:
//   numeric:     KS p < 0.001  and  Wasserstein-1 >= 0.05 baseline std
//   categorical: chi-squared p < 0.001  and  Jensen-Shannon >= 0.02
//   fewer than 30 values in the window: no drift (too few to say).
// The dataset drifts when at least half of the compared features drift (Evidently's share).
import type { DriftRuleConfig } from '../config/types.js';

/** The rule's thresholds; per model in the config (`drift:`), with per-feature overrides. */
export type DriftRule = DriftRuleConfig;

export const DEFAULT_DRIFT_RULE: Readonly<DriftRule> = Object.freeze({
  min_count: 30,
  ks_alpha: 0.001,
  chi2_alpha: 0.001,
  wasserstein_floor: 0.05,
  js_floor: 0.02,
  dataset_share: 0.5,
});

export type DriftMethod = 'ks' | 'chi2';

export interface NumericScores {
  count_cur: number;
  ks: { statistic: number; p_value: number };
  wasserstein: number;
}

export interface CategoricalScores {
  count_cur: number;
  chi2: { p_value: number };
  js: number;
}

export function decideNumeric(s: NumericScores, rule: DriftRule): { method: DriftMethod; drift: boolean } {
  const drift = s.count_cur >= rule.min_count && s.ks.p_value < rule.ks_alpha && s.wasserstein >= rule.wasserstein_floor;
  return { method: 'ks', drift };
}

export function decideCategorical(s: CategoricalScores, rule: DriftRule): { method: DriftMethod; drift: boolean } {
  const drift = s.count_cur >= rule.min_count && s.chi2.p_value < rule.chi2_alpha && s.js >= rule.js_floor;
  return { method: 'chi2', drift };
}
