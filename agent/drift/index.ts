// The drift stage's statistics: how far a window's distribution moved from its baseline, computed
// from the sketches alone (t-digests, capped category counts), as scipy computes them on raw data.
// Promise: pure functions; an empty side throws (numeric) or gives NaN (categorical), never a guess.
export { PSI_SHARE_FLOOR, jensenShannonFromShares, psiFromShares } from './shares.js';
export {
  DEFAULT_BINS,
  WASSERSTEIN_STD_FLOOR,
  baselineEdges,
  binEdgesFor,
  binShares,
  jensenShannonNumeric,
  kolmogorovSf,
  ksTwoSample,
  numericSide,
  psiNumeric,
  sideShares,
  wasserstein1,
  wassersteinNormalized,
  type NumericSide,
} from './numeric.js';
export {
  categoricalSide,
  categoricalTable,
  chiSquared,
  jensenShannonCategorical,
  newCategories,
  psiCategorical,
  type CategoricalSide,
  type CategoricalTable,
  type ChiSquaredResult,
} from './categorical.js';
export { chiSquaredSf, gammaP, gammaQ, lnGamma } from './special.js';
export { DEFAULT_DRIFT_RULE, type DriftMethod, type DriftRule } from './rule.js';
export { compareProfiles, featureDrift, type CategoricalDrift, type DriftReport, type FeatureDrift, type NumericDrift } from './compare.js';
export {
  CALIBRATION_PRIOR,
  DEFAULT_CONCEPT_RULE,
  MIN_CALIBRATION_RECORDS,
  conceptDrift,
  estimatedAccuracy,
  reliability,
  qualityMetrics,
  type ClassMetrics,
  type ClassificationMetrics,
  type ConceptDrift,
  type ConceptDriftRule,
  type EstimatedAccuracy,
  type QualityMetrics,
  type RegressionMetrics,
} from './quality.js';
