// Window profiles: the mergeable summary of one (model, version, window) of inference records.
// Merging equals profiling the records together (exact, quantiles within the t-digest's error);
// encode/decode round-trip exactly; WindowJson below is the contract `windows --json` prints.

import type { Task } from '../config/types.js';
import type { RejectReason } from '../records/types.js';
import type { RejectionExample } from './codec.js';

export { WindowProfile, isErrorStatus } from './window-profile.js';
export { NumericSummary, binEdgesProblem, finiteOrNull, type NumericBins } from './numeric.js';
export { CategoricalSummary } from './categorical.js';
export {
  ClassificationQuality,
  RegressionQuality,
  SegmentSplit,
  SegmentStats,
  CONFUSION_CAP,
  OTHER_KEY,
  STATUS_CAP,
  type Quality,
} from './quality.js';
export {
  ProfileDecodeError,
  PROFILE_FORMAT_VERSION,
  ERROR_MESSAGE_CAP,
  EXAMPLES_PER_REASON,
  type FeatureSummary,
  type RejectionExample,
} from './codec.js';
export { TDigest } from './tdigest.js';
export { SystemSummary, SYSTEM_METRIC_CAP, type SystemJson } from './system.js';
import type { SystemJson } from './system.js';

export interface ProfileOptions {
  task: Task;
  categoricalCap: number;
  segmentCap: number;
  segmentPaths: string[];
  /**
   * Feature name -> inner bin edges (a baseline's deciles): a numeric feature of that name counts
   * its values exactly in those bins, so PSI against the baseline needs no sketch.
   */
  binEdges?: ReadonlyMap<string, readonly number[]>;
  /** The same for a regression model's prediction. */
  predictionBinEdges?: readonly number[] | null;
}

/** The bin-edge part of ProfileOptions, as drift's binEdgesFor(baseline) makes it. */
export type ProfileBinEdges = Pick<ProfileOptions, 'binEdges' | 'predictionBinEdges'>;

export interface ProfileMeta {
  model: string;
  modelVersion: string;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
}

export interface NumericQuantiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface NumericJson {
  type: 'numeric';
  /** Finite values. */
  count: number;
  /** For features: accepted records with the feature null, absent or a string; else null values. */
  missing: number;
  non_finite: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  quantiles: NumericQuantiles | null;
}

export interface CategoricalJson {
  type: 'categorical';
  /** Values counted, `other` included. */
  count: number;
  missing: number;
  /** The values with their own counter (at most the cap), largest first. */
  values: Record<string, number>;
  other: number;
}

export interface ClassificationQualityJson {
  labelled: number;
  correct: number;
  accuracy: number | null;
  /** label -> prediction -> records */
  confusion: Record<string, Record<string, number>>;
  /** Labelled records whose (label, prediction) pair is past the cap; accuracy still counts them. */
  confusion_other: number;
}

export interface RegressionQualityJson {
  labelled: number;
  mae: number | null;
  mse: number | null;
  rmse: number | null;
  /** Mean of |error| / |label| over labels other than 0, as a fraction (0.05 = 5%). */
  mape: number | null;
}

export type QualityJson = ClassificationQualityJson | RegressionQualityJson;

export interface SegmentJson {
  count: number;
  errors: number;
  latency_ms: NumericJson;
  /** Status code -> records; codes past STATUS_CAP under OTHER_KEY. */
  status: Record<string, number>;
  quality: QualityJson;
}

export interface WindowJson {
  model: string;
  model_version: string;
  start: number;
  end: number;
  count: number;
  rejected: number;
  rejected_by_reason: Partial<Record<RejectReason, number>>;
  examples: Partial<Record<RejectReason, RejectionExample[]>>;
  late: number;
  features: Record<string, NumericJson | CategoricalJson>;
  latency_ms: NumericJson;
  confidence: NumericJson;
  prediction: NumericJson | CategoricalJson;
  label: NumericJson | CategoricalJson;
  /** Status code -> records; codes past STATUS_CAP under OTHER_KEY. */
  status: Record<string, number>;
  /** Failed records; messages of those with an error field, the top ERROR_MESSAGE_CAP, rest under OTHER_KEY. */
  errors: { count: number; messages: Record<string, number> };
  quality: QualityJson;
  /** Segment path -> value -> figures; values past the segment cap under OTHER_KEY. */
  segments: Record<string, Record<string, SegmentJson>>;
  system: SystemJson;
}
