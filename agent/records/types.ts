// What the parser hands to the profiles: one inference record, or one rejected line with its reason.

/** A feature value as read: a number (possibly non-finite), a category, or null when missing. */
export type FeatureValue = number | string | null;

export interface InferenceRecord {
  /** Event time, epoch ms (time of reading when the line had none). */
  ts: number;
  model: string;
  modelVersion: string;
  requestId: string | null;
  features: Record<string, FeatureValue>;
  /** Class label (classification) or number (regression). */
  prediction: string | number;
  confidence: number | null;
  probabilities: Record<string, number> | null;
  /** Ground truth when the line carries it: class label or number. */
  label: string | number | null;
  latencyMs: number | null;
  status: string | null;
  error: string | null;
  /** Segment field path -> value as a string ("" never appears; a missing segment is absent). */
  segments: Record<string, string>;
}

export const REJECT_REASONS = [
  'unparseable',
  'not_object',
  'missing_field',
  'wrong_type',
  'non_finite',
  'too_long',
  'unknown_model',
  'bad_timestamp',
  'csv_columns',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  reason: RejectReason;
  /** One line saying what was wrong, e.g. `field "latency_ms": expected a number, got "fast"`. */
  detail: string;
  /** The offending line, truncated for keeping as an example. */
  example: string;
  /** Event time when the line had a usable one; otherwise the rejection lands in the current window. */
  ts: number | null;
}

/**
 * Ground truth in a line of its own: a request_id and a label, no prediction. Only parsed as such
 * when the model's `labels.delayed` is on; the label is joined to the prediction with that id.
 */
export interface DelayedLabel {
  ts: number;
  requestId: string;
  label: string | number;
}

export type ParseResult =
  | { ok: true; record: InferenceRecord; label?: undefined }
  | { ok: true; record: null; label: DelayedLabel }
  | { ok: false; rejection: Rejection };
