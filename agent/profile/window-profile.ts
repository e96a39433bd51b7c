// The mergeable summary of one (model, version, window): features, outputs, serving health,
// quality, segments and rejections. Merging two profiles gives the profile of their records seen
// together: exactly for counts, moments and quality, within the sketch's error for quantiles.

import type { Task } from '../config/types.js';
import { REJECT_REASONS, type InferenceRecord, type Rejection } from '../records/types.js';
import { CategoricalSummary, checkCap, putKey } from './categorical.js';
import {
  decodeProfile,
  encodeProfile,
  ERROR_MESSAGE_CAP,
  EXAMPLES_PER_REASON,
  type FeatureSummary,
  type ProfileState,
} from './codec.js';
import type { CategoricalJson, NumericJson, ProfileMeta, ProfileOptions, WindowJson } from './index.js';
import { binEdgesProblem, NumericSummary } from './numeric.js';
import { ClassificationQuality, OTHER_KEY, RegressionQuality, SegmentSplit, STATUS_CAP } from './quality.js';
import { SystemSummary } from './system.js';

const ERROR_WORDS = new Set(['error', 'failed', 'failure', 'timeout', 'internal']);

/** A status marks a failed request when it is a number >= 500 or one of ERROR_WORDS, any case. */
export function isErrorStatus(status: string): boolean {
  const n = Number(status);
  if (status.trim() !== '' && !Number.isNaN(n)) return n >= 500;
  return ERROR_WORDS.has(status.trim().toLowerCase());
}

export class WindowProfile {
  private st: ProfileState;
  private readonly errorStatusCache = new Map<string, boolean>();
  /**
   * The summary of the i-th key of the last features object added, by position: records mostly
   * list the same keys in the same order, and comparing interned keys is cheaper than a Map lookup.
   * Emptied whenever st.features changes.
   */
  private readonly slotNames: string[] = [];
  private readonly slotSummaries: (FeatureSummary | undefined)[] = [];
  /** Options, not state: they shape summaries created from now on and are not encoded. */
  private readonly binEdges: ReadonlyMap<string, readonly number[]> | null;
  private readonly predictionBinEdges: readonly number[] | null;

  constructor(meta: ProfileMeta, opts: ProfileOptions) {
    if (!Number.isFinite(meta.start) || !Number.isFinite(meta.end) || meta.end < meta.start) {
      throw new RangeError(`window profile: bad window [${meta.start}, ${meta.end})`);
    }
    checkCap(opts.categoricalCap, 'categoricalCap');
    checkCap(opts.segmentCap, 'segmentCap');
    const cc = opts.categoricalCap;
    this.binEdges = opts.binEdges ?? null;
    this.predictionBinEdges = opts.predictionBinEdges ?? null;
    // Checked here, not when a feature first appears mid-record.
    for (const [name, edges] of [...(this.binEdges ?? []), ['(prediction)', this.predictionBinEdges ?? []] as const]) {
      const problem = binEdgesProblem(edges);
      if (problem !== null) throw new RangeError(`window profile: ${name}: ${problem}`);
    }
    this.st = {
      model: meta.model,
      modelVersion: meta.modelVersion,
      start: meta.start,
      end: meta.end,
      task: opts.task,
      categoricalCap: cc,
      segmentCap: opts.segmentCap,
      n: 0,
      late: 0,
      rejections: new Map(),
      features: new Map(),
      nullOnly: new Map(),
      latency: new NumericSummary(),
      confidence: new NumericSummary(),
      out:
        opts.task === 'classification'
          ? {
              task: opts.task,
              prediction: new CategoricalSummary(cc),
              label: new CategoricalSummary(cc),
              quality: new ClassificationQuality(),
            }
          : {
              task: opts.task,
              prediction: new NumericSummary(undefined, this.predictionBinEdges),
              label: new NumericSummary(),
              quality: new RegressionQuality(),
            },
      status: new CategoricalSummary(STATUS_CAP),
      errors: 0,
      messages: new CategoricalSummary(ERROR_MESSAGE_CAP),
      segments: [...new Set(opts.segmentPaths)].map((path) => new SegmentSplit(path, opts.task, opts.segmentCap)),
      system: new SystemSummary(),
    };
  }

  get model(): string {
    return this.st.model;
  }
  get modelVersion(): string {
    return this.st.modelVersion;
  }
  get start(): number {
    return this.st.start;
  }
  get end(): number {
    return this.st.end;
  }
  get task(): Task {
    return this.st.task;
  }
  get meta(): ProfileMeta {
    const st = this.st;
    return { model: st.model, modelVersion: st.modelVersion, start: st.start, end: st.end };
  }
  /** As created, bin edges included, so clone() counts new features on the same bins. */
  get options(): ProfileOptions {
    const st = this.st;
    const segmentPaths = st.segments.map((s) => s.path);
    const opts: ProfileOptions = { task: st.task, categoricalCap: st.categoricalCap, segmentCap: st.segmentCap, segmentPaths };
    if (this.binEdges !== null) opts.binEdges = this.binEdges;
    if (this.predictionBinEdges !== null) opts.predictionBinEdges = this.predictionBinEdges;
    return opts;
  }
  /** Accepted records. */
  get count(): number {
    return this.st.n;
  }
  get rejected(): number {
    let total = 0;
    for (const t of this.st.rejections.values()) total += t.count;
    return total;
  }
  get late(): number {
    return this.st.late;
  }
  /** Records that failed: an error message, a status >= 500 or an error word. */
  get errors(): number {
    return this.st.errors;
  }
  // The summaries below are live views for the drift and alert stages; they must not be modified.
  feature(name: string): FeatureSummary | undefined {
    return this.st.features.get(name);
  }
  featureNames(): string[] {
    return [...this.st.features.keys(), ...this.st.nullOnly.keys()].sort();
  }
  get latencyMs(): NumericSummary {
    return this.st.latency;
  }
  get confidence(): NumericSummary {
    return this.st.confidence;
  }
  get prediction(): FeatureSummary {
    return this.st.out.prediction;
  }
  get label(): FeatureSummary {
    return this.st.out.label;
  }
  get quality(): ClassificationQuality | RegressionQuality {
    return this.st.out.quality;
  }
  get segments(): readonly SegmentSplit[] {
    return this.st.segments;
  }
  /** The device's readings sampled while this window was open (CPU, GPU, memory, processes, the agent). */
  get system(): SystemSummary {
    return this.st.system;
  }

  /** One system sampling round: its readings and the sources that failed in it ("<source>:<cause>"). */
  addSystemRound(readings: ReadonlyMap<string, number>, failed: readonly string[] = []): void {
    this.st.system.addRound(readings, failed);
  }

  /** The caller routes by (model, version) and window; the record is not checked against them. */
  add(r: InferenceRecord): void {
    const st = this.st;
    st.n++;
    const feats = r.features;
    const slotNames = this.slotNames;
    let i = -1;
    for (const name in feats) {
      const v = feats[name];
      let s: FeatureSummary | undefined;
      if (slotNames[++i] === name) s = this.slotSummaries[i];
      else {
        s = st.features.get(name);
        if (i <= slotNames.length) {
          slotNames[i] = name;
          this.slotSummaries[i] = s;
        }
      }
      if (typeof v === 'number') {
        if (s !== undefined && s.kind === 'numeric') s.add(v);
        else this.becomeNumeric(name, s).add(v);
      } else if (typeof v === 'string') {
        if (s === undefined) this.becomeCategorical(name).add(v);
        else if (s.kind === 'categorical') s.add(v);
        else s.addMissing();
      } else if (s !== undefined) s.addMissing();
      else st.nullOnly.set(name, (st.nullOnly.get(name) ?? 0) + 1);
    }
    const latency = r.latencyMs;
    if (latency === null) st.latency.addMissing();
    else st.latency.add(latency);
    if (r.confidence === null) st.confidence.addMissing();
    else st.confidence.add(r.confidence);

    // What quality sees: class names as strings, or the raw numbers for regression.
    let qLabel: string | number | null = null;
    let qPred: string | number = r.prediction;
    const o = st.out;
    if (o.task === 'classification') {
      const p = typeof r.prediction === 'string' ? r.prediction : String(r.prediction);
      o.prediction.add(p);
      qPred = p;
      if (r.confidence !== null) o.quality.addConfidence(r.confidence);
      if (r.label === null) o.label.addMissing();
      else {
        qLabel = typeof r.label === 'string' ? r.label : String(r.label);
        o.label.add(qLabel);
        o.quality.add(qLabel, p, r.confidence);
      }
    } else {
      if (typeof r.prediction === 'number') o.prediction.add(r.prediction);
      else o.prediction.addMissing();
      if (typeof r.label === 'number') {
        qLabel = r.label;
        o.label.add(r.label);
        o.quality.add(r.label, r.prediction);
      } else o.label.addMissing();
    }

    const status = r.status;
    let failed = r.error !== null;
    if (status === null) st.status.addMissing();
    else {
      st.status.add(status);
      if (!failed) failed = this.statusFails(status);
    }
    if (failed) st.errors++;
    if (r.error !== null) st.messages.add(r.error);

    for (const split of st.segments) {
      const value = r.segments[split.path];
      if (typeof value !== 'string') continue;
      const seg = split.statsFor(value);
      seg.count++;
      if (failed) seg.errors++;
      if (latency === null) seg.latency.addMissing();
      else seg.latency.add(latency);
      if (status === null) seg.status.addMissing();
      else seg.status.add(status);
      if (qLabel !== null) seg.quality.add(qLabel, qPred);
    }
  }

  /**
   * Ground truth that arrived after its prediction was counted here (a delayed label joined by
   * request_id): it takes the place of the missing label in the label distribution and counts in
   * quality, overall and in the prediction's segments, as if the line had carried it.
   */
  addLabel(
    label: string | number,
    prediction: string | number,
    confidence: number | null,
    segments: Readonly<Record<string, string>>,
  ): void {
    const o = this.st.out;
    let qLabel: string | number;
    let qPred: string | number;
    if (o.task === 'classification') {
      qLabel = typeof label === 'string' ? label : String(label);
      qPred = typeof prediction === 'string' ? prediction : String(prediction);
      o.label.fillMissing(qLabel);
      o.quality.add(qLabel, qPred, confidence);
    } else {
      if (typeof label !== 'number') return;
      qLabel = label;
      qPred = prediction;
      o.label.fillMissing(label);
      o.quality.add(label, prediction);
    }
    for (const split of this.st.segments) {
      const value = segments[split.path];
      if (value !== undefined) split.statsFor(value).quality.add(qLabel, qPred);
    }
  }

  private statusFails(status: string): boolean {
    const known = this.errorStatusCache.get(status);
    if (known !== undefined) return known;
    const failed = isErrorStatus(status);
    // Bounded: a log with free-text statuses must not grow the cache without end.
    if (this.errorStatusCache.size < 256) this.errorStatusCache.set(status, failed);
    return failed;
  }

  // A feature that has carried a number is numeric from then on: its earlier strings, like its
  // nulls, count as missing. Merges follow the same rule, so the order of records does not matter.
  private becomeNumeric(name: string, prev: FeatureSummary | undefined): NumericSummary {
    const s = new NumericSummary(undefined, this.binEdges?.get(name));
    s.addMissing((prev?.total ?? 0) + this.takeNullOnly(name));
    this.setFeature(name, s);
    return s;
  }

  private becomeCategorical(name: string): CategoricalSummary {
    const s = new CategoricalSummary(this.st.categoricalCap);
    s.addMissing(this.takeNullOnly(name));
    this.setFeature(name, s);
    return s;
  }

  private setFeature(name: string, s: FeatureSummary): void {
    this.st.features.set(name, s);
    this.slotNames.length = 0;
    this.slotSummaries.length = 0;
  }

  private takeNullOnly(name: string): number {
    const k = this.st.nullOnly.get(name) ?? 0;
    if (k > 0) this.st.nullOnly.delete(name);
    return k;
  }

  addRejection(r: Rejection): void {
    let t = this.st.rejections.get(r.reason);
    if (t === undefined) this.st.rejections.set(r.reason, (t = { count: 0, examples: [] }));
    t.count++;
    if (t.examples.length < EXAMPLES_PER_REASON) t.examples.push({ detail: r.detail, example: r.example });
  }

  addLate(n = 1): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`addLate: expected a non-negative integer, got ${n}`);
    this.st.late += n;
  }

  /**
   * Adds `other` into this profile; `other` is left as it was. Both must be of the same model,
   * version and task. The window widens to cover both; caps become the smaller of the two.
   */
  merge(other: WindowProfile): void {
    const a = this.st;
    const b = other === this ? other.clone().st : other.st;
    if (b.model !== a.model || b.modelVersion !== a.modelVersion || b.task !== a.task) {
      throw new Error(
        `window profile: cannot merge ${b.model}@${b.modelVersion} (${b.task}) into ${a.model}@${a.modelVersion} (${a.task})`,
      );
    }
    a.start = Math.min(a.start, b.start);
    a.end = Math.max(a.end, b.end);
    a.categoricalCap = Math.min(a.categoricalCap, b.categoricalCap);
    a.segmentCap = Math.min(a.segmentCap, b.segmentCap);
    a.n += b.n;
    a.late += b.late;
    for (const [reason, t] of b.rejections) {
      let mine = a.rejections.get(reason);
      if (mine === undefined) a.rejections.set(reason, (mine = { count: 0, examples: [] }));
      mine.count += t.count;
      for (const x of t.examples) if (mine.examples.length < EXAMPLES_PER_REASON) mine.examples.push({ ...x });
    }
    this.mergeFeatures(b);
    a.latency.merge(b.latency);
    a.confidence.merge(b.confidence);
    const [ao, bo] = [a.out, b.out];
    if (ao.task === 'classification' && bo.task === 'classification') {
      ao.prediction.merge(bo.prediction);
      ao.label.merge(bo.label);
      ao.quality.merge(bo.quality);
      ao.prediction.limit(a.categoricalCap);
      ao.label.limit(a.categoricalCap);
    } else if (ao.task === 'regression' && bo.task === 'regression') {
      ao.prediction.merge(bo.prediction);
      ao.label.merge(bo.label);
      ao.quality.merge(bo.quality);
    }
    a.status.merge(b.status);
    a.errors += b.errors;
    a.messages.merge(b.messages);
    for (const split of b.segments) {
      let mine = a.segments.find((s) => s.path === split.path);
      if (mine === undefined) a.segments.push((mine = new SegmentSplit(split.path, a.task, a.segmentCap)));
      mine.merge(split);
    }
    for (const split of a.segments) split.limit(a.segmentCap);
    a.system.merge(b.system);
  }

  private mergeFeatures(b: ProfileState): void {
    const a = this.st;
    for (const [name, theirs] of b.features) {
      const mine = a.features.get(name);
      if (mine === undefined) {
        const copy = theirs.clone();
        copy.addMissing(this.takeNullOnly(name));
        this.setFeature(name, copy);
      } else if (mine.kind === 'numeric' && theirs.kind === 'numeric') mine.merge(theirs);
      else if (mine.kind === 'categorical' && theirs.kind === 'categorical') mine.merge(theirs);
      else if (mine.kind === 'numeric') mine.addMissing(theirs.total);
      else {
        const copy = theirs.clone();
        copy.addMissing(mine.total);
        this.setFeature(name, copy);
      }
    }
    for (const [name, k] of b.nullOnly) {
      const mine = a.features.get(name);
      if (mine !== undefined) mine.addMissing(k);
      else a.nullOnly.set(name, (a.nullOnly.get(name) ?? 0) + k);
    }
    for (const s of a.features.values()) if (s.kind === 'categorical') s.limit(a.categoricalCap);
  }

  clone(): WindowProfile {
    const c = new WindowProfile(this.meta, this.options);
    c.merge(this);
    return c;
  }

  /** The window split by splitFeatures, whole again. Throws when the parts do not belong together. */
  static joinParts(parts: readonly WindowProfile[]): WindowProfile {
    const [first, ...rest] = parts;
    if (first === undefined) throw new RangeError('joinParts: no parts');
    const whole = first.clone();
    for (const part of rest) {
      const a = whole.st;
      const b = part.st;
      if (b.model !== a.model || b.modelVersion !== a.modelVersion || b.start !== a.start || b.end !== a.end || b.n !== a.n) {
        throw new RangeError(`joinParts: a part of ${b.model}@${b.modelVersion} [${b.start}, ${b.end}) n=${b.n} does not belong to ${a.model}@${a.modelVersion} [${a.start}, ${a.end}) n=${a.n}`);
      }
      for (const [name, s] of b.features) {
        if (a.features.has(name) || a.nullOnly.has(name)) throw new RangeError(`joinParts: feature ${JSON.stringify(name)} is in two parts`);
        whole.setFeature(name, s.clone());
      }
      for (const [name, k] of b.nullOnly) {
        if (a.features.has(name) || a.nullOnly.has(name)) throw new RangeError(`joinParts: feature ${JSON.stringify(name)} is in two parts`);
        a.nullOnly.set(name, k);
      }
    }
    return whole;
  }

  /** Rejection examples kept, over all reasons. */
  get examples(): number {
    let n = 0;
    for (const t of this.st.rejections.values()) n += t.examples.length;
    return n;
  }

  /** Drops the rejection examples (their counts stay), for a summary that must fit a size limit. */
  dropExamples(): number {
    let dropped = 0;
    for (const t of this.st.rejections.values()) {
      dropped += t.examples.length;
      t.examples = [];
    }
    return dropped;
  }

  /**
   * Parts that WindowProfile.joinParts puts back together exactly: each part is this window with
   * only its group's features (the first part also with the features in no group). Everything
   * else (counts, latency, outputs, segments, system) is repeated in every part, so each part is a
   * valid window profile on its own; joinParts takes it from the first.
   */
  splitFeatures(groups: readonly (readonly string[])[]): WindowProfile[] {
    const later = groups.slice(1).map((g) => new Set(g));
    const inLater = new Set(later.flatMap((g) => [...g]));
    const keepOnly = (keep: (name: string) => boolean): WindowProfile => {
      const part = this.clone();
      for (const name of [...part.st.features.keys()]) if (!keep(name)) part.st.features.delete(name);
      for (const name of [...part.st.nullOnly.keys()]) if (!keep(name)) part.st.nullOnly.delete(name);
      part.slotNames.length = 0;
      part.slotSummaries.length = 0;
      return part;
    };
    return [keepOnly((name) => !inLater.has(name)), ...later.map((g) => keepOnly((name) => g.has(name)))];
  }

  toJSON(): WindowJson {
    const st = this.st;
    const rejectedByReason: WindowJson['rejected_by_reason'] = {};
    const examples: WindowJson['examples'] = {};
    for (const reason of REJECT_REASONS) {
      const t = st.rejections.get(reason);
      if (t === undefined) continue;
      rejectedByReason[reason] = t.count;
      examples[reason] = t.examples.map((e) => ({ ...e }));
    }
    const features: WindowJson['features'] = {};
    for (const name of this.featureNames()) {
      const s = st.features.get(name);
      const json: NumericJson | CategoricalJson =
        s === undefined ? { type: 'categorical', count: 0, missing: 0, values: {}, other: 0 } : s.toJSON();
      // Missing counts every accepted record without a usable value: null, absent or of the other type.
      json.missing = st.n - json.count - (json.type === 'numeric' ? json.non_finite : 0);
      putKey(features, name, json);
    }
    const segments: WindowJson['segments'] = {};
    for (const split of st.segments) putKey(segments, split.path, split.toJSON());
    return {
      model: st.model,
      model_version: st.modelVersion,
      start: st.start,
      end: st.end,
      count: st.n,
      rejected: this.rejected,
      rejected_by_reason: rejectedByReason,
      examples,
      late: st.late,
      features,
      latency_ms: st.latency.toJSON(),
      confidence: st.confidence.toJSON(),
      prediction: st.out.prediction.toJSON(),
      label: st.out.label.toJSON(),
      status: st.status.countsObject(OTHER_KEY),
      errors: { count: st.errors, messages: st.messages.countsObject(OTHER_KEY) },
      quality: st.out.quality.toJSON(),
      segments,
      system: st.system.toJSON(),
    };
  }

  /** CBOR with format version `v`; equal profiles encode to equal bytes. */
  encode(): Uint8Array {
    return encodeProfile(this.st);
  }

  /**
   * Throws ProfileDecodeError for bytes that are not a valid profile of a format this build reads.
   * Summaries keep the bin counts they were encoded with; bin edges for features not yet seen are
   * options, not encoded, so such features of a decoded profile get no bins.
   */
  static decode(bytes: Uint8Array): WindowProfile {
    const st = decodeProfile(bytes);
    const p = new WindowProfile(
      { model: st.model, modelVersion: st.modelVersion, start: st.start, end: st.end },
      { task: st.task, categoricalCap: st.categoricalCap, segmentCap: st.segmentCap, segmentPaths: [] },
    );
    p.st = st;
    return p;
  }
}
