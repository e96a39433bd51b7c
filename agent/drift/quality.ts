// Model quality from a profile's label counts (confusion counts, or regression error sums), and
// concept drift: quality against the baseline's, when labels arrive.
import type { ClassificationQualityJson, QualityJson, RegressionQualityJson } from '../profile/index.js';
import { CALIBRATION_BINS, type ClassificationQuality } from '../profile/quality.js';

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Labelled records of this class. */
  support: number;
}

export interface ClassificationMetrics {
  task: 'classification';
  labelled: number;
  accuracy: number | null;
  /** Per class (every class seen as a label or a prediction), as scikit-learn with zero_division=0. */
  classes: Record<string, ClassMetrics>;
  macro: { precision: number; recall: number; f1: number } | null;
}

export interface RegressionMetrics {
  task: 'regression';
  labelled: number;
  mae: number | null;
  mse: number | null;
  rmse: number | null;
  mape: number | null;
}

export type QualityMetrics = ClassificationMetrics | RegressionMetrics;

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function classification(q: ClassificationQualityJson): ClassificationMetrics {
  const classes = new Set<string>();
  for (const [label, row] of Object.entries(q.confusion)) {
    classes.add(label);
    for (const pred of Object.keys(row)) classes.add(pred);
  }
  const cell = (label: string, pred: string): number => q.confusion[label]?.[pred] ?? 0;
  const out: Record<string, ClassMetrics> = {};
  for (const c of [...classes].sort()) {
    let predicted = 0;
    let actual = 0;
    for (const other of classes) {
      predicted += cell(other, c);
      actual += cell(c, other);
    }
    const tp = cell(c, c);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, actual);
    out[c] = { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support: actual };
  }
  const list = Object.values(out);
  const mean = (f: (m: ClassMetrics) => number) => list.reduce((s, m) => s + f(m), 0) / list.length;
  return {
    task: 'classification',
    labelled: q.labelled,
    accuracy: q.accuracy,
    classes: out,
    macro: list.length === 0 ? null : { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) },
  };
}

function regression(q: RegressionQualityJson): RegressionMetrics {
  return { task: 'regression', labelled: q.labelled, mae: q.mae, mse: q.mse, rmse: q.rmse, mape: q.mape };
}

export function qualityMetrics(q: QualityJson): QualityMetrics {
  return 'confusion' in q ? classification(q) : regression(q);
}

export interface ConceptDriftRule {
  /** Fewer labelled records than this in the window (or the baseline): no verdict. */
  min_labelled: number;
  /** Classification: a drop in accuracy of at least this much (absolute). */
  accuracy_drop: number;
  /** Regression: an MAE at least this much larger, relative to the baseline's. */
  mae_increase: number;
}

export const DEFAULT_CONCEPT_RULE: Readonly<ConceptDriftRule> = Object.freeze({ min_labelled: 30, accuracy_drop: 0.05, mae_increase: 0.1 });

export interface ConceptDrift {
  metric: 'accuracy' | 'mae';
  baseline: number | null;
  current: number | null;
  /** Current minus baseline (accuracy), or current over baseline minus 1 (MAE). */
  change: number | null;
  /** null: not enough labels on one side to say. */
  drift: boolean | null;
}

export function conceptDrift(base: QualityMetrics, cur: QualityMetrics, rule: ConceptDriftRule = DEFAULT_CONCEPT_RULE): ConceptDrift {
  const enough = base.labelled >= rule.min_labelled && cur.labelled >= rule.min_labelled;
  if (base.task === 'classification' && cur.task === 'classification') {
    const change = base.accuracy !== null && cur.accuracy !== null ? cur.accuracy - base.accuracy : null;
    return { metric: 'accuracy', baseline: base.accuracy, current: cur.accuracy, change, drift: enough && change !== null ? -change >= rule.accuracy_drop : null };
  }
  const b = base.task === 'regression' ? base.mae : null;
  const c = cur.task === 'regression' ? cur.mae : null;
  const change = b !== null && c !== null && b > 0 ? c / b - 1 : null;
  return { metric: 'mae', baseline: b, current: c, change, drift: enough && change !== null ? change >= rule.mae_increase : null };
}

// --- expected accuracy without labels ---------------------------------------------------------

/** Labelled baseline records with a confidence needed before its reliability bins are trusted. */
export const MIN_CALIBRATION_RECORDS = 100;
/**
 * Pseudo-records added to each reliability bin at its prior accuracy: a bin with few baseline
 * records leans on the prior, one with many on what the records showed.
 */
export const CALIBRATION_PRIOR = 5;

export interface EstimatedAccuracy {
  /**
   * 'calibrated': each confidence bin's accuracy as measured on the baseline's labelled records;
   * 'confidence': the scores taken as calibrated (the mean confidence), for want of labelled ones.
   */
  method: 'calibrated' | 'confidence';
  /** Labelled baseline records with a confidence behind the calibration (0 for 'confidence'). */
  calibration_records: number;
  /** Expected accuracy of the window's predictions, from their confidences alone. */
  current: number | null;
  /** The baseline's accuracy: measured when it has enough labels, else estimated the same way. */
  baseline: number | null;
  /** baseline - current. */
  drop: number | null;
  /** drop >= the concept rule's accuracy_drop; null when one side has no estimate. */
  drift: boolean | null;
}

/**
 * Accuracy per calibration bin: measured on the baseline's labelled records, shrunk towards the
 * bin's midpoint moved by the baseline's overall gap (accuracy minus confidence), so bins the
 * baseline hardly saw inherit its general over- or under-confidence.
 */
export function reliability(base: ClassificationQuality): number[] | null {
  const { n, correct } = base.calibration;
  let total = 0;
  let right = 0;
  let promised = 0;
  for (let b = 0; b < n.length; b++) {
    total += n[b]!;
    right += correct[b]!;
    promised += n[b]! * midpoint(b);
  }
  if (total < MIN_CALIBRATION_RECORDS) return null;
  const gap = (right - promised) / total;
  return n.map((k, b) => {
    const prior = Math.min(1, Math.max(0, midpoint(b) + gap));
    return (correct[b]! + CALIBRATION_PRIOR * prior) / (k + CALIBRATION_PRIOR);
  });
}

function midpoint(bin: number): number {
  return (bin + 0.5) / CALIBRATION_BINS;
}

/** Expected accuracy of the confidences counted in `q`'s bins under `acc` (null: the bins' midpoints). */
function expected(q: ClassificationQuality, acc: number[] | null): number | null {
  const all = q.calibration.all;
  let n = 0;
  let sum = 0;
  for (let b = 0; b < all.length; b++) {
    n += all[b]!;
    sum += all[b]! * (acc ? acc[b]! : midpoint(b));
  }
  return n > 0 ? sum / n : null;
}

/**
 * Without labels, how accurate the window probably is: the share of right answers its confidences
 * promise, read through the baseline's reliability bins when the baseline has labelled records
 * (fitted calibration), else the mean confidence itself.
 */
export function estimatedAccuracy(
  base: ClassificationQuality,
  cur: ClassificationQuality,
  meanConfidence: { base: number | null; cur: number | null },
  rule: ConceptDriftRule = DEFAULT_CONCEPT_RULE,
): EstimatedAccuracy {
  const acc = reliability(base);
  const current = acc ? expected(cur, acc) : clip01(meanConfidence.cur);
  const measured = base.labelled >= rule.min_labelled ? base.correct / base.labelled : null;
  const baseline = measured ?? (acc ? expected(base, acc) : clip01(meanConfidence.base));
  const drop = current !== null && baseline !== null ? baseline - current : null;
  return {
    method: acc ? 'calibrated' : 'confidence',
    calibration_records: acc ? base.calibration.n.reduce((a, b) => a + b, 0) : 0,
    current,
    baseline,
    drop,
    drift: drop === null ? null : drop >= rule.accuracy_drop,
  };
}

function clip01(x: number | null): number | null {
  return x === null ? null : Math.min(1, Math.max(0, x));
}
