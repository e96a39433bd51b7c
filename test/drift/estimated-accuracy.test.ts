// Expected accuracy without labels: the window's confidences read through the baseline's
// reliability bins, checked against the same computation done record by record on the raw data,
// and against the accuracy the unlabelled records really had.
import { describe, expect, it } from 'vitest';
import { CALIBRATION_PRIOR, compareProfiles } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { CALIBRATION_BINS, calibrationBin } from '../../agent/profile/quality.js';
import { testRecord } from '../helpers/records.js';
import { mulberry32 } from './prng.js';

interface Row {
  confidence: number;
  right: boolean;
}

/** Confidences uniform on [lo, hi]; the model is overconfident: right with probability c - 0.15. */
function rows(n: number, seed: number, lo: number, hi: number): Row[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const confidence = +(lo + (hi - lo) * rng()).toFixed(3);
    return { confidence, right: rng() < confidence - 0.15 };
  });
}

function profile(data: Row[], labelled: boolean): WindowProfile {
  const p = new WindowProfile({ model: 'm', modelVersion: 'v1', start: 0, end: 60_000 }, { task: 'classification', categoricalCap: 256, segmentCap: 64, segmentPaths: [] });
  for (const r of data) {
    p.add(testRecord({ prediction: 'yes', confidence: r.confidence, label: labelled ? (r.right ? 'yes' : 'no') : null }));
  }
  return p;
}

/** The estimator done record by record on the raw rows: the reference. */
function exactEstimate(base: Row[], cur: Row[]): number {
  const n = new Array<number>(CALIBRATION_BINS).fill(0);
  const ok = new Array<number>(CALIBRATION_BINS).fill(0);
  for (const r of base) {
    const b = Math.min(CALIBRATION_BINS - 1, Math.floor(r.confidence * CALIBRATION_BINS));
    n[b]!++;
    if (r.right) ok[b]!++;
  }
  // The prior of a bin: its midpoint moved by the baseline's gap between accuracy and confidence.
  const mid = (b: number) => (b + 0.5) / CALIBRATION_BINS;
  const gap = base.filter((r) => r.right).length / base.length - n.reduce((s, k, b) => s + k * mid(b), 0) / base.length;
  let sum = 0;
  for (const r of cur) {
    const b = Math.min(CALIBRATION_BINS - 1, Math.floor(r.confidence * CALIBRATION_BINS));
    const prior = Math.min(1, Math.max(0, mid(b) + gap));
    sum += (ok[b]! + CALIBRATION_PRIOR * prior) / (n[b]! + CALIBRATION_PRIOR);
  }
  return sum / cur.length;
}

describe('estimated accuracy', () => {
  const baseRows = rows(20_000, 1, 0.5, 1);
  const base = profile(baseRows, true);

  it('reads unlabelled confidences through the baseline’s calibration, as the record-by-record computation does', () => {
    // The inputs moved: confidences are lower now, partly below any the baseline saw; the model's
    // relation to the truth did not change.
    const curRows = rows(5_000, 2, 0.4, 0.9);
    const report = compareProfiles(base, profile(curRows, false));
    const est = report.quality.estimated;
    expect(est?.method).toBe('calibrated');
    expect(est?.calibration_records).toBe(20_000);
    // Exact bin counts on both sides: equal to the raw computation up to rounding.
    expect(est?.current).toBeCloseTo(exactEstimate(baseRows, curRows), 12);
    // And close to what really happened (sampling error of 5,000 records, bin width 0.05).
    const truth = curRows.filter((r) => r.right).length / curRows.length;
    expect(Math.abs(est!.current! - truth)).toBeLessThan(0.02);
    // The mean confidence alone would promise 0.15 more than the model delivers.
    const mean = curRows.reduce((s, r) => s + r.confidence, 0) / curRows.length;
    expect(mean - truth).toBeGreaterThan(0.12);
    // The baseline side is its measured accuracy; the drop is beyond the concept rule's 0.05.
    const measured = baseRows.filter((r) => r.right).length / baseRows.length;
    expect(est?.baseline).toBeCloseTo(measured, 12);
    expect(est?.drop).toBeCloseTo(measured - est!.current!, 12);
    expect(est?.drift).toBe(true);
  });

  it('finds no drop when the confidences did not move', () => {
    const est = compareProfiles(base, profile(rows(5_000, 3, 0.5, 1), false)).quality.estimated;
    expect(Math.abs(est!.drop!)).toBeLessThan(0.02);
    expect(est?.drift).toBe(false);
  });

  it('falls back to the mean confidence when the baseline has no labelled records', () => {
    const baseRaw = rows(2_000, 4, 0.5, 1);
    const curRows = rows(1_000, 5, 0.4, 0.9);
    const est = compareProfiles(profile(baseRaw, false), profile(curRows, false)).quality.estimated;
    const mean = (rs: Row[]) => rs.reduce((s, r) => s + r.confidence, 0) / rs.length;
    expect(est).toMatchObject({ method: 'confidence', calibration_records: 0 });
    expect(est?.current).toBeCloseTo(mean(curRows), 10);
    expect(est?.baseline).toBeCloseTo(mean(baseRaw), 10);
  });

  it('merges its bins exactly, and takes delayed labels with their confidence', () => {
    const data = rows(3_000, 6, 0.3, 1);
    const whole = profile(data, true);
    const a = profile(data.slice(0, 1_000), true);
    a.merge(profile(data.slice(1_000), true));
    expect(a.quality.kind === 'classification' && a.quality.calibration).toEqual(whole.quality.kind === 'classification' && whole.quality.calibration);

    const late = profile(data.slice(0, 10), false);
    for (const r of data.slice(0, 10)) late.addLabel(r.right ? 'yes' : 'no', 'yes', r.confidence, {});
    const cal = late.quality.kind === 'classification' ? late.quality.calibration : null;
    const labelled = profile(data.slice(0, 10), true).quality;
    expect(cal).toEqual(labelled.kind === 'classification' ? labelled.calibration : null);
    expect(calibrationBin(1)).toBe(CALIBRATION_BINS - 1);
    expect(calibrationBin(-3)).toBe(0);
    // Survives the wire.
    expect(WindowProfile.decode(whole.encode()).encode()).toEqual(whole.encode());
  });
});
