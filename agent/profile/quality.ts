// Model quality over the records that carry ground truth: confusion counts for classification,
// error sums for regression. Both merge by addition, so accuracy, precision, recall, F1, MAE, MSE,
// RMSE and MAPE of a merged window equal those of the records seen together.

import type { Task } from '../config/types.js';
import { CategoricalSummary, checkCap, putKey } from './categorical.js';
import type {
  ClassificationQualityWire,
  RegressionQualityWire,
  SegmentSplitWire,
  SegmentStatsWire,
} from './codec.js';
import type { ClassificationQualityJson, RegressionQualityJson, SegmentJson } from './index.js';
import { finiteOrNull, NumericSummary } from './numeric.js';

/** Distinct (label, prediction) pairs kept; records of later pairs are counted in `overflow`. */
export const CONFUSION_CAP = 1024;

export type Quality = ClassificationQuality | RegressionQuality;

type Pair = [label: string, prediction: string, n: number];

function byPair(a: Pair, b: Pair): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** Ranks pairs for the cap: larger count first, then by name, so every merge keeps the same set. */
function byCountThenPair(a: Pair, b: Pair): number {
  return b[2] - a[2] || byPair(a, b);
}

/**
 * Reliability bins: labelled records with a confidence, and how many of them were right, per
 * confidence bin of width 1/CALIBRATION_BINS (confidences clipped to [0, 1]). A baseline's bins
 * calibrate the confidences of windows without labels (estimated accuracy).
 */
export const CALIBRATION_BINS = 20;

export class ClassificationQuality {
  readonly kind = 'classification' as const;
  private nLabelled = 0;
  private nCorrect = 0;
  private nOverflow = 0;
  private pairs = 0;
  private confusion = new Map<string, Map<string, number>>();
  /** Every record's confidence per calibration bin, labelled or not; empty until one has one. */
  private confN: number[] = [];
  /** Per calibration bin; empty until a labelled record has a confidence. */
  private calN: number[] = [];
  private calOk: number[] = [];

  get labelled(): number {
    return this.nLabelled;
  }
  get correct(): number {
    return this.nCorrect;
  }
  get overflow(): number {
    return this.nOverflow;
  }

  /** Confusion counts as (label, prediction, n) in no particular order. */
  *entries(): IterableIterator<Pair> {
    for (const [l, row] of this.confusion) for (const [p, n] of row) yield [l, p, n];
  }

  /**
   * Per calibration bin: records with a confidence (`all`), of those the labelled ones (`n`) and
   * the labelled ones that were right (`correct`). Empty arrays: none.
   */
  get calibration(): { all: readonly number[]; n: readonly number[]; correct: readonly number[] } {
    return { all: this.confN, n: this.calN, correct: this.calOk };
  }

  /** Every record's confidence (classification), for the expected accuracy of the window. */
  addConfidence(confidence: number): void {
    if (confidence !== confidence) return;
    if (this.confN.length === 0) this.confN = new Array<number>(CALIBRATION_BINS).fill(0);
    this.confN[calibrationBin(confidence)]!++;
  }

  /** Class labels compare as strings: a label 3 and a prediction "3" agree. */
  add(label: string | number, prediction: string | number, confidence: number | null = null): void {
    const l = typeof label === 'string' ? label : String(label);
    const p = typeof prediction === 'string' ? prediction : String(prediction);
    this.nLabelled++;
    if (l === p) this.nCorrect++;
    if (confidence !== null && confidence === confidence) {
      if (this.calN.length === 0) {
        this.calN = new Array<number>(CALIBRATION_BINS).fill(0);
        this.calOk = new Array<number>(CALIBRATION_BINS).fill(0);
      }
      const b = calibrationBin(confidence);
      this.calN[b]!++;
      if (l === p) this.calOk[b]!++;
    }
    this.count(l, p, 1);
  }

  private count(l: string, p: string, k: number): void {
    let row = this.confusion.get(l);
    const c = row?.get(p);
    if (c !== undefined && row !== undefined) {
      row.set(p, c + k);
      return;
    }
    if (this.pairs >= CONFUSION_CAP) {
      this.nOverflow += k;
      return;
    }
    if (row === undefined) {
      row = new Map();
      this.confusion.set(l, row);
    }
    row.set(p, k);
    this.pairs++;
  }

  merge(o: Quality): void {
    if (o.kind !== 'classification') throw new Error('cannot merge regression quality into classification quality');
    this.nLabelled += o.nLabelled;
    this.nCorrect += o.nCorrect;
    this.nOverflow += o.nOverflow;
    this.confN = addBins(this.confN, o.confN);
    this.calN = addBins(this.calN, o.calN);
    this.calOk = addBins(this.calOk, o.calOk);
    const all = new Map<string, Map<string, number>>();
    for (const src of [this.confusion, o.confusion]) {
      for (const [l, row] of src) {
        let dst = all.get(l);
        if (dst === undefined) all.set(l, (dst = new Map()));
        for (const [p, n] of row) dst.set(p, (dst.get(p) ?? 0) + n);
      }
    }
    const pairs: Pair[] = [];
    for (const [l, row] of all) for (const [p, n] of row) pairs.push([l, p, n]);
    if (pairs.length > CONFUSION_CAP) pairs.sort(byCountThenPair);
    this.confusion = new Map();
    this.pairs = 0;
    for (const [l, p, n] of pairs) this.count(l, p, n);
  }

  clone(): ClassificationQuality {
    const c = new ClassificationQuality();
    c.merge(this);
    return c;
  }

  toJSON(): ClassificationQualityJson {
    const confusion: Record<string, Record<string, number>> = {};
    for (const l of [...this.confusion.keys()].sort()) {
      const row = this.confusion.get(l) ?? new Map<string, number>();
      const out: Record<string, number> = {};
      for (const p of [...row.keys()].sort()) putKey(out, p, row.get(p) ?? 0);
      putKey(confusion, l, out);
    }
    return {
      labelled: this.nLabelled,
      correct: this.nCorrect,
      accuracy: this.nLabelled > 0 ? this.nCorrect / this.nLabelled : null,
      confusion,
      confusion_other: this.nOverflow,
    };
  }

  toWire(): ClassificationQualityWire {
    const pairs = [...this.entries()].sort(byPair);
    return {
      l: this.nLabelled,
      ok: this.nCorrect,
      a: pairs.map((x) => x[0]),
      b: pairs.map((x) => x[1]),
      c: pairs.map((x) => x[2]),
      o: this.nOverflow,
      f: [...this.confN],
      k: [...this.calN],
      kc: [...this.calOk],
    };
  }

  static fromWire(w: ClassificationQualityWire, where: string): ClassificationQuality {
    const bad = (what: string): Error => new Error(`${where}: ${what}`);
    if (w.a.length !== w.b.length || w.a.length !== w.c.length) throw bad('confusion arrays differ in length');
    if (w.a.length > CONFUSION_CAP) throw bad(`${w.a.length} confusion pairs exceed the cap of ${CONFUSION_CAP}`);
    const q = new ClassificationQuality();
    let sum = w.o;
    for (let i = 0; i < w.a.length; i++) {
      const l = w.a[i] as string;
      const p = w.b[i] as string;
      const n = w.c[i] as number;
      if (q.confusion.get(l)?.has(p) === true) throw bad(`pair (${JSON.stringify(l)}, ${JSON.stringify(p)}) twice`);
      q.count(l, p, n);
      sum += n;
      if (l === p) q.nCorrect += n;
    }
    // Correct records in the overflow are not in any pair, so ok may exceed the diagonal's sum.
    if (sum !== w.l || w.ok < q.nCorrect || w.ok > q.nCorrect + w.o) throw bad('confusion counts disagree with totals');
    q.nLabelled = w.l;
    q.nCorrect = w.ok;
    q.nOverflow = w.o;
    if (w.f.length !== 0 && w.f.length !== CALIBRATION_BINS) throw bad(`confidence bins: expected ${CALIBRATION_BINS}`);
    q.confN = [...w.f];
    if (w.k.length !== 0 || w.kc.length !== 0) {
      if (w.k.length !== CALIBRATION_BINS || w.kc.length !== CALIBRATION_BINS) throw bad(`calibration: expected ${CALIBRATION_BINS} bins`);
      let total = 0;
      for (let b = 0; b < CALIBRATION_BINS; b++) {
        if (w.kc[b]! > w.k[b]!) throw bad(`calibration bin ${b}: more right than counted`);
        total += w.k[b]!;
      }
      if (total > w.l) throw bad('calibration: more records than labelled');
      q.calN = [...w.k];
      q.calOk = [...w.kc];
    }
    return q;
  }
}

/** Bin-wise sum; an empty array stands for all zeros. */
function addBins(a: number[], b: readonly number[]): number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return [...b];
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
  return a;
}

/** The calibration bin of a confidence (clipped to [0, 1]; 1 falls in the last bin). */
export function calibrationBin(confidence: number): number {
  const b = Math.floor(confidence * CALIBRATION_BINS);
  return b < 0 ? 0 : b >= CALIBRATION_BINS ? CALIBRATION_BINS - 1 : b;
}

export class RegressionQuality {
  readonly kind = 'regression' as const;
  private n = 0;
  private sumErr = 0;
  private sumAbs = 0;
  private sumSq = 0;
  private sumApe = 0;
  private nApe = 0;

  get labelled(): number {
    return this.n;
  }
  /** Mean signed error (prediction - label); null without labels. */
  get bias(): number | null {
    return this.n > 0 ? this.sumErr / this.n : null;
  }

  /** Only pairs of finite numbers count; anything else has no defined error. */
  add(label: string | number, prediction: string | number): void {
    if (typeof label !== 'number' || typeof prediction !== 'number') return;
    const err = prediction - label;
    if (err - err !== 0) return;
    const abs = Math.abs(err);
    this.n++;
    this.sumErr += err;
    this.sumAbs += abs;
    this.sumSq += err * err;
    if (label !== 0) {
      this.sumApe += abs / Math.abs(label);
      this.nApe++;
    }
  }

  merge(o: Quality): void {
    if (o.kind !== 'regression') throw new Error('cannot merge classification quality into regression quality');
    this.n += o.n;
    this.sumErr += o.sumErr;
    this.sumAbs += o.sumAbs;
    this.sumSq += o.sumSq;
    this.sumApe += o.sumApe;
    this.nApe += o.nApe;
  }

  clone(): RegressionQuality {
    const c = new RegressionQuality();
    c.merge(this);
    return c;
  }

  toJSON(): RegressionQualityJson {
    if (this.n === 0) return { labelled: 0, mae: null, mse: null, rmse: null, mape: null };
    const mse = this.sumSq / this.n;
    return {
      labelled: this.n,
      mae: finiteOrNull(this.sumAbs / this.n),
      mse: finiteOrNull(mse),
      rmse: finiteOrNull(Math.sqrt(mse)),
      mape: this.nApe > 0 ? finiteOrNull(this.sumApe / this.nApe) : null,
    };
  }

  toWire(): RegressionQualityWire {
    return { l: this.n, se: this.sumErr, sa: this.sumAbs, ss: this.sumSq, sp: this.sumApe, np: this.nApe };
  }

  static fromWire(w: RegressionQualityWire, where: string): RegressionQuality {
    if (w.np > w.l) throw new Error(`${where}: more MAPE terms than labelled records`);
    const q = new RegressionQuality();
    q.n = w.l;
    q.sumErr = w.se;
    q.sumAbs = w.sa;
    q.sumSq = w.ss;
    q.sumApe = w.sp;
    q.nApe = w.np;
    return q;
  }
}

export function newQuality(task: Task): Quality {
  return task === 'classification' ? new ClassificationQuality() : new RegressionQuality();
}

export function qualityFromWire(
  task: Task,
  w: ClassificationQualityWire | RegressionQualityWire,
  where: string,
): Quality {
  if (task === 'classification') {
    if (!('a' in w)) throw new Error(`${where}: regression quality in a classification profile`);
    return ClassificationQuality.fromWire(w, where);
  }
  if ('a' in w) throw new Error(`${where}: classification quality in a regression profile`);
  return RegressionQuality.fromWire(w, where);
}

// Segments: the serving and quality figures again, per value of a configured segment field.

/** Status codes kept per summary; later distinct codes go to other. */
export const STATUS_CAP = 32;
/** Key under which values past a cap appear in JSON (segments, status codes, error messages). */
export const OTHER_KEY = '__other__';

export class SegmentStats {
  count = 0;
  errors = 0;
  readonly latency: NumericSummary;
  readonly status: CategoricalSummary;
  readonly quality: Quality;

  constructor(task: Task, parts?: { latency: NumericSummary; status: CategoricalSummary; quality: Quality }) {
    this.latency = parts?.latency ?? new NumericSummary();
    this.status = parts?.status ?? new CategoricalSummary(STATUS_CAP);
    this.quality = parts?.quality ?? newQuality(task);
  }

  merge(o: SegmentStats): void {
    this.count += o.count;
    this.errors += o.errors;
    this.latency.merge(o.latency);
    this.status.merge(o.status);
    this.quality.merge(o.quality);
  }

  toJSON(): SegmentJson {
    return {
      count: this.count,
      errors: this.errors,
      latency_ms: this.latency.toJSON(),
      status: this.status.countsObject(OTHER_KEY),
      quality: this.quality.toJSON(),
    };
  }

  toWire(): SegmentStatsWire {
    return { n: this.count, e: this.errors, l: this.latency.toWire(), s: this.status.toWire(), q: this.quality.toWire() };
  }

  static fromWire(task: Task, w: SegmentStatsWire, where: string): SegmentStats {
    const s = new SegmentStats(task, {
      latency: NumericSummary.fromWire(w.l, `${where} latency_ms`),
      status: CategoricalSummary.fromWire(w.s, STATUS_CAP, `${where} status`),
      quality: qualityFromWire(task, w.q, `${where} quality`),
    });
    if (s.latency.total !== w.n || s.status.total !== w.n || w.e > w.n || s.quality.labelled > w.n) {
      throw new Error(`${where}: figures disagree with its count ${w.n}`);
    }
    s.count = w.n;
    s.errors = w.e;
    return s;
  }
}

/** One segment field: stats for the first `cap` values seen, and one bucket for all later values. */
export class SegmentSplit {
  private values = new Map<string, SegmentStats>();
  private rest: SegmentStats | null = null;

  constructor(
    readonly path: string,
    private readonly task: Task,
    private capValue: number,
  ) {
    checkCap(capValue, 'segment cap');
  }

  get cap(): number {
    return this.capValue;
  }

  /** Stats of one value, in no particular order; values past the cap are in `other`. */
  entries(): ReadonlyMap<string, SegmentStats> {
    return this.values;
  }
  get other(): SegmentStats | null {
    return this.rest;
  }

  statsFor(value: string): SegmentStats {
    const s = this.values.get(value);
    if (s !== undefined) return s;
    if (this.values.size < this.capValue) {
      const fresh = new SegmentStats(this.task);
      this.values.set(value, fresh);
      return fresh;
    }
    return (this.rest ??= new SegmentStats(this.task));
  }

  merge(o: SegmentSplit): void {
    for (const [v, s] of o.values) this.fold(v, s);
    if (o.rest !== null) (this.rest ??= new SegmentStats(this.task)).merge(o.rest);
    this.limit(Math.min(this.capValue, o.capValue));
  }

  private fold(value: string, s: SegmentStats): void {
    let dst = this.values.get(value);
    if (dst === undefined) this.values.set(value, (dst = new SegmentStats(this.task)));
    dst.merge(s);
  }

  /** Keeps the `cap` values with the most records (ties by name); the rest join `other`. */
  limit(cap: number): void {
    checkCap(cap, 'segment cap');
    if (cap < this.capValue) this.capValue = cap;
    if (this.values.size <= this.capValue) return;
    const ranked = [...this.values].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.values = new Map(ranked.slice(0, this.capValue));
    const rest = (this.rest ??= new SegmentStats(this.task));
    for (const [, s] of ranked.slice(this.capValue)) rest.merge(s);
  }

  toJSON(): Record<string, SegmentJson> {
    const out: Record<string, SegmentJson> = {};
    for (const v of [...this.values.keys()].sort()) {
      const s = this.values.get(v);
      if (s !== undefined) putKey(out, v, s.toJSON());
    }
    if (this.rest !== null) putKey(out, OTHER_KEY, this.rest.toJSON());
    return out;
  }

  toWire(): SegmentSplitWire {
    const values: [string, SegmentStatsWire][] = [];
    for (const v of [...this.values.keys()].sort()) {
      const s = this.values.get(v);
      if (s !== undefined) values.push([v, s.toWire()]);
    }
    return [this.path, values, this.rest?.toWire() ?? null];
  }

  static fromWire(task: Task, cap: number, w: SegmentSplitWire, where: string): SegmentSplit {
    const [path, values, rest] = w;
    const split = new SegmentSplit(path, task, cap);
    if (values.length > cap) throw new Error(`${where}: ${values.length} values exceed the cap of ${cap}`);
    for (const [v, s] of values) {
      if (split.values.has(v)) throw new Error(`${where}: value ${JSON.stringify(v)} appears twice`);
      split.values.set(v, SegmentStats.fromWire(task, s, `${where} ${JSON.stringify(v)}`));
    }
    if (rest !== null) split.rest = SegmentStats.fromWire(task, rest, `${where} ${OTHER_KEY}`);
    return split;
  }
}
