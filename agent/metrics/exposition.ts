// Renders a MetricsSnapshot in the Prometheus text exposition format 0.0.4: each family once, with
// its HELP and TYPE lines, then its samples; label values escaped; no series twice. A null value is
// no sample (never 0): Prometheus then shows the series as absent, not as a reading.
//
// Duplicates are kept out by construction rather than by a set of every series (which cost a third
// of the render): a repeated model, window version, alert or failure key is skipped, feature names
// are object keys, and the system table maps distinct reading names to distinct series.
import type { CategoricalDrift, DriftReport, FeatureDrift, NumericDrift } from '../drift/index.js';
import { REJECT_REASONS } from '../records/types.js';
import * as F from './families.js';
import type { AlertSnapshot, MetricsSnapshot, ModelSnapshot, WindowSnapshot } from './snapshot.js';
import { mapSystemReading } from './system-readings.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

const HEADERS: readonly string[] = F.FAMILIES.map((f) => `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`);

const NEEDS_ESCAPE = /[\\"\n]/;
export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '+Inf' : '-Inf';
}

/** Label values rendered once (`{a="x",b="y"}`) and shared by the families with the same label names. */
interface LabelSet {
  readonly key: string;
  readonly text: string;
}

const NO_LABELS: LabelSet = { key: '', text: '' };

function labelSet(f: F.MetricFamily, values: readonly string[]): LabelSet {
  let text = '';
  for (let i = 0; i < f.labels.length; i++) {
    const v = values[i];
    // An empty label value is the same series as no label in Prometheus: leave it out.
    if (v === undefined || v === '') continue;
    text += `${text === '' ? '{' : ','}${f.labels[i]}="${escapeLabelValue(v)}"`;
  }
  return { key: f.labelKey, text: text === '' ? '' : text + '}' };
}

/** Sample lines grouped by family, written in catalogue order. */
class Exposition {
  private readonly bodies: string[] = F.FAMILIES.map(() => '');

  add(f: F.MetricFamily, labels: LabelSet, value: number | null | undefined): void {
    if (value === null || value === undefined) return;
    if (labels.key !== f.labelKey) throw new Error(`${f.name}: labels (${labels.key}) are not the family's (${f.labelKey})`);
    this.bodies[f.index] += `${f.name}${labels.text} ${formatValue(value)}\n`;
  }

  /** One sample whose label set is not shared. */
  one(f: F.MetricFamily, values: readonly string[], value: number | null | undefined): void {
    if (value === null || value === undefined) return;
    this.add(f, labelSet(f, values), value);
  }

  toString(): string {
    let out = '';
    for (let i = 0; i < this.bodies.length; i++) if (this.bodies[i] !== '') out += HEADERS[i]! + this.bodies[i]!;
    return out;
  }
}

const seconds = (ms: number | null | undefined): number | null => (ms === null || ms === undefined ? null : ms / 1000);
const bit = (b: boolean | null | undefined): number | null => (b === null || b === undefined ? null : b ? 1 : 0);

function scores(x: Exposition, families: Record<F.DriftScoreKey, F.MetricFamily>, labels: LabelSet, d: FeatureDrift): void {
  x.add(families.drift, labels, bit(d.drift));
  x.add(families.psi, labels, d.psi);
  x.add(families.js_distance, labels, d.js);
  if (d.type === 'numeric') {
    const n: NumericDrift = d;
    x.add(families.ks_statistic, labels, n.ks.statistic);
    x.add(families.ks_p_value, labels, n.ks.p_value);
    x.add(families.wasserstein_std, labels, n.wasserstein);
  } else {
    const c: CategoricalDrift = d;
    x.add(families.chi2_statistic, labels, c.chi2.statistic);
    x.add(families.chi2_p_value, labels, c.chi2.p_value);
  }
}

function drift(x: Exposition, model: string, version: string, mv: LabelSet, d: DriftReport): void {
  x.add(F.DRIFT_SHARE, mv, d.dataset.share);
  x.add(F.DRIFT_DATASET, mv, bit(d.dataset.drift));
  const features = Object.entries(d.features);
  x.add(F.DRIFT_FEATURES, mv, features.length);
  const feature = F.FEATURE_SCORES.drift;
  for (const [name, fd] of features) scores(x, F.FEATURE_SCORES, labelSet(feature, [model, version, name]), fd);
  const output = F.OUTPUT_SCORES.drift;
  if (d.prediction) scores(x, F.OUTPUT_SCORES, labelSet(output, [model, version, 'prediction']), d.prediction);
  if (d.label) scores(x, F.OUTPUT_SCORES, labelSet(output, [model, version, 'label']), d.label);
  const q = d.quality;
  x.add(F.LABELLED, mv, q.current.labelled);
  if (q.current.task === 'classification') {
    x.add(F.ACCURACY, mv, q.current.accuracy);
    x.add(F.MACRO_F1, mv, q.current.macro?.f1);
  } else {
    x.add(F.MAE, mv, q.current.mae);
    x.add(F.RMSE, mv, q.current.rmse);
  }
  x.add(F.ESTIMATED_ACCURACY, mv, q.estimated?.current);
  x.add(F.CONCEPT_DRIFT, mv, bit(q.concept.drift));
}

function window(x: Exposition, model: string, w: WindowSnapshot): void {
  const mv = labelSet(F.WINDOW_RECORDS, [model, w.version]);
  x.add(F.WINDOW_END, mv, seconds(w.end));
  x.add(F.WINDOW_RECORDS, mv, w.count);
  x.add(F.WINDOW_REJECTED, mv, w.rejected);
  x.add(F.WINDOW_ERRORS, mv, w.errors);
  x.one(F.WINDOW_LATENCY, [model, w.version, '50'], seconds(w.latencyMs.p50));
  x.one(F.WINDOW_LATENCY, [model, w.version, '95'], seconds(w.latencyMs.p95));
  x.one(F.WINDOW_LATENCY, [model, w.version, '99'], seconds(w.latencyMs.p99));
  x.add(F.WINDOW_CONFIDENCE, mv, w.confidenceMean);
  if (w.drift) drift(x, model, w.version, mv, w.drift);
}

/** Rejections the snapshot counts in the total but under no reason. */
const UNSPECIFIED = 'unspecified';

function rejected(x: Exposition, m: ModelSnapshot): void {
  // Every known reason from 0, so a first rejection is a counter step, not a new series.
  const counts = new Map<string, number>(REJECT_REASONS.map((r) => [r, 0]));
  let sum = 0;
  for (const [reason, n] of Object.entries(m.rejectedByReason)) {
    counts.set(reason, n);
    sum += n;
  }
  // The family's sum stays the model's total even when a reason was not kept.
  if (m.rejected > sum) counts.set(UNSPECIFIED, (counts.get(UNSPECIFIED) ?? 0) + m.rejected - sum);
  for (const [reason, n] of counts) x.one(F.RECORDS_REJECTED, [m.model, reason], n);
}

function model(x: Exposition, m: ModelSnapshot, now: number): void {
  const M = labelSet(F.RECORDS_ACCEPTED, [m.model]);
  x.add(F.RECORDS_ACCEPTED, M, m.accepted);
  rejected(x, m);
  x.add(F.RECORDS_LATE, M, m.late);
  x.add(F.WATERMARK, M, seconds(m.watermark));
  x.add(F.LAST_RECORD, M, seconds(m.lastRecordAt));
  if (m.lastRecordAt !== null) x.add(F.LOG_SILENCE, M, Math.max(0, now - m.lastRecordAt) / 1000);
  x.add(F.WINDOWS_OPEN, M, m.windowsOpen);
  const l = m.labels;
  if (l) {
    x.add(F.LABELS_JOINED, M, l.joined);
    const prediction = labelSet(F.LABELS_PENDING, [m.model, 'prediction']);
    const label = labelSet(F.LABELS_PENDING, [m.model, 'label']);
    x.add(F.LABELS_PENDING, prediction, l.pending_predictions);
    x.add(F.LABELS_PENDING, label, l.pending_labels);
    x.add(F.LABELS_EXPIRED, prediction, l.expired_predictions);
    x.add(F.LABELS_EXPIRED, label, l.expired_labels);
    x.add(F.LABELS_OVERFLOW, M, l.overflow);
  }
  const versions = new Set<string>();
  for (const w of m.lastWindows) {
    if (versions.has(w.version)) continue;
    versions.add(w.version);
    window(x, m.model, w);
  }
}

function alerts(x: Exposition, list: readonly AlertSnapshot[]): void {
  const seen = new Set<string>();
  for (const a of list) {
    const key = JSON.stringify([a.rule, a.model, a.model_version]);
    if (seen.has(key)) continue;
    seen.add(key);
    x.one(F.ALERT_ACTIVE, [a.rule, a.model, a.model_version, a.severity, a.state], 1);
    x.one(F.ALERT_VALUE, [a.rule, a.model, a.model_version], a.value);
  }
}

function system(x: Exposition, s: MetricsSnapshot): void {
  if (s.system) {
    x.add(F.SYSTEM_SAMPLED, NO_LABELS, seconds(s.system.at));
    for (const [name, value] of s.system.readings) {
      const r = mapSystemReading(name);
      x.one(r.family, r.labels, r.convert ? r.convert(value) : value);
    }
  }
  // '<source>:<cause>'; rounds of keys that land on the same pair are added up.
  const failures = new Map<string, [string, string, number]>();
  for (const [key, rounds] of s.samplerFailures) {
    const colon = key.indexOf(':');
    const pair: [string, string] = colon < 0 ? [key, 'unknown'] : [key.slice(0, colon), key.slice(colon + 1) || 'unknown'];
    const id = JSON.stringify(pair);
    const had = failures.get(id);
    failures.set(id, [pair[0], pair[1], (had?.[2] ?? 0) + rounds]);
  }
  for (const [source, cause, rounds] of failures.values()) x.one(F.SYSTEM_FAILURES, [source, cause], rounds);
}

/** The snapshot as a /metrics body; `now` (wall ms) is the scrape time, for the silence gauge. */
export function renderMetrics(s: MetricsSnapshot, now: number = Date.now()): string {
  const x = new Exposition();
  x.one(F.AGENT_INFO, [s.version, s.device.id, s.device.site], 1);
  const models = new Set<string>();
  for (const m of s.models) {
    if (models.has(m.model)) continue;
    models.add(m.model);
    model(x, m, now);
  }
  alerts(x, s.alerts);
  system(x, s);
  return x.toString();
}
