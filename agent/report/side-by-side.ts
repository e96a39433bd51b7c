// Side-by-side comparison of a model's closed windows (`edgewatch-agent compare`): one column per
// model version (canary rollouts) or per segment value. Pure: decoded profiles in, a report object
// out; the command line reads the store and formats the table.
import type { DriftConfig } from '../config/types.js';
import { compareProfiles, qualityMetrics, type DriftReport, type QualityMetrics } from '../drift/index.js';
import { OTHER_KEY, SegmentSplit, type NumericSummary, type SegmentStats, type WindowProfile } from '../profile/index.js';

/** Classes listed per version in the prediction distribution; the rest are summed in `other_share`. */
export const TOP_CLASSES = 5;

export interface LatencyQuantiles {
  p50: number;
  p95: number;
  p99: number;
}

export type PredictionColumn =
  | { type: 'categorical'; count: number; top: Array<{ value: string; share: number }>; other_share: number }
  | { type: 'numeric'; count: number; mean: number | null; std: number | null };

/** The headline quality figures; `qualityMetrics` has the rest (per class, MSE, MAPE). */
export type QualityColumn =
  | { task: 'classification'; labelled: number; accuracy: number | null; macro_f1: number | null }
  | { task: 'regression'; labelled: number; mae: number | null; rmse: number | null };

/** One side of a drift comparison, condensed: the verdicts and which features moved. */
export interface DriftColumn {
  /** Model version of the other side: the baseline's ('*' for a model-wide baseline) or the reference's. */
  against: string;
  dataset: { drift: boolean; share: number; drifted: string[] };
  /** Features compared (features on one side only, or ignored, are not). */
  compared: number;
  prediction: { drift: boolean; method: 'ks' | 'chi2'; p_value: number } | null;
  concept: { metric: 'accuracy' | 'mae'; change: number | null; drift: boolean | null };
}

export interface VersionColumn {
  version: string;
  windows: number;
  /** Epoch ms: start of the first window, end of the last. */
  first_start: number;
  last_end: number;
  records: number;
  rejected: number;
  /** rejected / (records + rejected); null without either. */
  rejected_rate: number | null;
  late: number;
  errors: number;
  error_rate: number | null;
  /** Records per second of the windows that hold the version (their lengths added). */
  throughput_per_s: number | null;
  latency_ms: LatencyQuantiles | null;
  confidence_mean: number | null;
  prediction: PredictionColumn;
  quality: QualityColumn;
  /** Against the stored baseline of the version (else the model's '*' baseline); null without one. */
  baseline_drift: DriftColumn | null;
  /** Against the reference version; null in the reference's own column. */
  reference_drift: DriftColumn | null;
}

export interface VersionComparison {
  by: 'version';
  model: string;
  from: number;
  to: number | null;
  reference: string | null;
  columns: VersionColumn[];
}

export interface SegmentColumn {
  path: string;
  /** The segment value; OTHER_KEY ('__other__') holds the values past the segment cap. */
  value: string;
  count: number;
  /** count over the records of all this path's values. */
  share: number;
  errors: number;
  error_rate: number | null;
  latency_ms: LatencyQuantiles | null;
  quality: QualityColumn;
}

export interface SegmentComparison {
  by: 'segment';
  model: string;
  from: number;
  to: number | null;
  /** The versions whose windows were merged (one when --version is given). */
  versions: string[];
  /** Segment paths in configuration order, then any found only in the stored profiles. */
  paths: string[];
  columns: SegmentColumn[];
}

export type Comparison = VersionComparison | SegmentComparison;

export interface StoredBaselineProfile {
  /** The baseline's own version: the model version, or '*'. */
  version: string;
  profile: WindowProfile;
}

export interface CompareInput {
  model: string;
  /** The range the windows were read for (reported as is; `to` null: open-ended). */
  from: number;
  to: number | null;
  /** Closed windows of the model, any order, decoded. */
  windows: readonly WindowProfile[];
  drift: DriftConfig;
}

export class CompareError extends Error {}

function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}

function quantiles(s: NumericSummary): LatencyQuantiles | null {
  const p50 = s.quantile(0.5);
  const p95 = s.quantile(0.95);
  const p99 = s.quantile(0.99);
  return p50 === null || p95 === null || p99 === null ? null : { p50, p95, p99 };
}

export function qualityColumn(m: QualityMetrics): QualityColumn {
  return m.task === 'classification'
    ? { task: m.task, labelled: m.labelled, accuracy: m.accuracy, macro_f1: m.macro?.f1 ?? null }
    : { task: m.task, labelled: m.labelled, mae: m.mae, rmse: m.rmse };
}

function predictionColumn(p: WindowProfile): PredictionColumn {
  const s = p.prediction;
  if (s.kind === 'numeric') return { type: 'numeric', count: s.count, mean: s.mean, std: s.std };
  const ranked = [...s.values()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const top = ranked.slice(0, TOP_CLASSES).map(([value, n]) => ({ value, share: n / s.count }));
  const listed = top.reduce((sum, t) => sum + t.share, 0);
  return { type: 'categorical', count: s.count, top, other_share: s.count > 0 ? Math.max(0, 1 - listed) : 0 };
}

function driftColumn(against: string, r: DriftReport): DriftColumn {
  const p = r.prediction;
  const c = r.quality.concept;
  return {
    against,
    dataset: { drift: r.dataset.drift, share: r.dataset.share, drifted: [...r.dataset.drifted].sort() },
    compared: Object.keys(r.features).length,
    prediction: p === null ? null : { drift: p.drift, method: p.method, p_value: p.type === 'numeric' ? p.ks.p_value : p.chi2.p_value },
    concept: { metric: c.metric, change: c.change, drift: c.drift },
  };
}

/** Windows grouped by version, each group merged into one profile (merge refuses mixed versions). */
function mergeByVersion(windows: readonly WindowProfile[]): Map<string, { profile: WindowProfile; windows: number; covered: number; first: number; last: number }> {
  const out = new Map<string, { profile: WindowProfile; windows: number; covered: number; first: number; last: number }>();
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  for (const w of sorted) {
    const g = out.get(w.modelVersion);
    if (g === undefined) {
      out.set(w.modelVersion, { profile: w.clone(), windows: 1, covered: w.end - w.start, first: w.start, last: w.end });
      continue;
    }
    g.profile.merge(w);
    g.windows++;
    g.covered += w.end - w.start;
    g.last = Math.max(g.last, w.end);
  }
  return out;
}

/** The reference when none is named: the version with the most records, ties by name. */
export function defaultReference(columns: ReadonlyArray<{ version: string; records: number }>): string | null {
  let best: { version: string; records: number } | null = null;
  for (const c of columns) if (best === null || c.records > best.records || (c.records === best.records && c.version < best.version)) best = c;
  return best?.version ?? null;
}

/**
 * One column per version: its windows merged, its figures, drift against its stored baseline
 * (`baselineOf`) and against the reference version (named, else the one with the most records).
 */
export function compareVersions(
  input: CompareInput,
  opts: { reference?: string; baselineOf: (version: string) => StoredBaselineProfile | null },
): VersionComparison {
  const groups = mergeByVersion(input.windows);
  const versions = [...groups.keys()].sort();
  if (opts.reference !== undefined && !groups.has(opts.reference)) {
    throw new CompareError(`--reference: version "${opts.reference}" has no closed window in the range (versions: ${versions.join(', ') || 'none'})`);
  }
  const reference = opts.reference ?? defaultReference(versions.map((v) => ({ version: v, records: groups.get(v)?.profile.count ?? 0 })));
  const refProfile = reference === null ? null : (groups.get(reference)?.profile ?? null);
  const { rule, features } = input.drift;
  const columns = versions.map((version): VersionColumn => {
    const g = groups.get(version);
    if (g === undefined) throw new Error(`version ${version} lost`);
    const p = g.profile;
    const base = opts.baselineOf(version);
    return {
      version,
      windows: g.windows,
      first_start: g.first,
      last_end: g.last,
      records: p.count,
      rejected: p.rejected,
      rejected_rate: ratio(p.rejected, p.count + p.rejected),
      late: p.late,
      errors: p.errors,
      error_rate: ratio(p.errors, p.count),
      throughput_per_s: ratio(p.count, g.covered / 1000),
      latency_ms: quantiles(p.latencyMs),
      confidence_mean: p.confidence.mean,
      prediction: predictionColumn(p),
      quality: qualityColumn(qualityMetrics(p.quality.toJSON())),
      baseline_drift: base === null ? null : driftColumn(base.version, compareProfiles(base.profile, p, rule, features)),
      reference_drift:
        refProfile === null || version === reference ? null : driftColumn(reference ?? '', compareProfiles(refProfile, p, rule, features)),
    };
  });
  return { by: 'version', model: input.model, from: input.from, to: input.to, reference, columns };
}

function segmentColumn(path: string, value: string, s: SegmentStats, pathTotal: number): SegmentColumn {
  return {
    path,
    value,
    count: s.count,
    share: pathTotal > 0 ? s.count / pathTotal : 0,
    errors: s.errors,
    error_rate: ratio(s.errors, s.count),
    latency_ms: quantiles(s.latency),
    quality: qualityColumn(qualityMetrics(s.quality.toJSON())),
  };
}

/**
 * One column per (segment path, value), over the windows of every version in the range, or of
 * `version` only. Values are ranked by records (ties by name); the values past the segment cap
 * come last, as OTHER_KEY.
 */
export function compareSegments(input: CompareInput, opts: { segmentPaths: readonly string[]; version?: string }): SegmentComparison {
  const present = [...new Set(input.windows.map((w) => w.modelVersion))].sort();
  if (opts.version !== undefined && !present.includes(opts.version)) {
    throw new CompareError(`--version: version "${opts.version}" has no closed window in the range (versions: ${present.join(', ') || 'none'})`);
  }
  const windows = opts.version === undefined ? input.windows : input.windows.filter((w) => w.modelVersion === opts.version);
  const paths = [...opts.segmentPaths];
  const merged = new Map<string, SegmentSplit>();
  for (const w of windows) {
    for (const split of w.segments) {
      if (!paths.includes(split.path)) paths.push(split.path);
      let mine = merged.get(split.path);
      if (mine === undefined) merged.set(split.path, (mine = new SegmentSplit(split.path, w.task, split.cap)));
      mine.merge(split);
    }
  }
  const columns: SegmentColumn[] = [];
  for (const path of paths) {
    const split = merged.get(path);
    if (split === undefined) continue;
    const values = [...split.entries()].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const other = split.other;
    const total = values.reduce((n, [, s]) => n + s.count, 0) + (other?.count ?? 0);
    for (const [value, s] of values) columns.push(segmentColumn(path, value, s, total));
    if (other !== null) columns.push(segmentColumn(path, OTHER_KEY, other, total));
  }
  const versions = opts.version === undefined ? present : [opts.version];
  return { by: 'segment', model: input.model, from: input.from, to: input.to, versions, paths, columns };
}
