// The agent's config schema, written as small typed checkers rather than a generic validator so that
// every message names the field, the value and what was expected, and one pass reports every problem.
// Defaults live here in the user's own notation ("60s", "1MiB") and go through the same checks.
import {
  bool, fsPath, int, list, measure, object, oneOf, optional, Problem, real, record, scalar, str, withDefault,
  type InputOf,
} from './checkers.js';
import { systemSection } from './system.js';
import { parseListen } from '../metrics/server.js';
import { syncSection } from './sync.js';
import { formatDuration, DAY_MS, KIB, SECOND_MS } from './errors.js';
import { alertRules, builtinAlerts, mergeAlerts } from './alerts.js';
import type {
  AgentConfig, BaselineLearnConfig, DriftConfig, LabelsConfig, FeatureDriftConfig, FieldMapping, IngestConfig, ModelConfig, RetentionConfig,
} from './types.js';

export { INVALID, type CheckContext, type Issue } from './checkers.js';

// --- the agent's schema ---------------------------------------------------------------------------

const NAME_CHARS = /^[A-Za-z0-9._-]{1,64}$/;
// Device ids, sites and model names become MQTT topic levels, hence the narrow charset.
const name = str('1-64 characters of A-Z a-z 0-9 . _ - (it becomes an MQTT topic level)', (s) => NAME_CHARS.test(s));

const dotPath = str('a dot path such as "features.region"', (s) =>
  s.trim() === s && s.split('.').every((part) => part !== ''),
);

// Checked here so a typo fails at start; binding it (port in use) is the metrics server's error.
const listenAddress = scalar<string, string>('"host:port" such as "127.0.0.1:9464" or "[::1]:9464"', (value) => {
  if (typeof value !== 'string') return undefined;
  try {
    parseListen(value);
    return value;
  } catch {
    return undefined;
  }
});

const delimiter = scalar<string, string>('exactly one character, not a quote or line break', (value) => {
  if (typeof value !== 'string') return undefined;
  if (value === '\\t') {
    return new Problem('got "\\\\t", expected exactly one character (for a tab write "\\t" in double quotes)');
  }
  if ([...value].length !== 1 || value === '"' || value === '\n' || value === '\r') return undefined;
  return value;
});

const DAY_DIVISORS = '1s, 5s, 10s, 15s, 30s, 1m, 5m, 10m, 15m, 30m, 1h, 2h, 6h, 12h, 1d';
const window = measure('duration', {
  min: SECOND_MS,
  rule: (ms) =>
    DAY_MS % ms === 0
      ? undefined
      : `a length that divides 1 day evenly (such as ${DAY_DIVISORS}) so that windows line up across devices`,
});

const fieldMapping = object(
  {
    ts: withDefault(dotPath, 'ts'),
    model: withDefault(dotPath, 'model'),
    model_version: withDefault(dotPath, 'model_version'),
    request_id: withDefault(dotPath, 'request_id'),
    features: withDefault(dotPath, 'features'),
    prediction: withDefault(dotPath, 'prediction'),
    confidence: withDefault(dotPath, 'confidence'),
    probabilities: withDefault(dotPath, 'probabilities'),
    label: withDefault(dotPath, 'label'),
    latency_ms: withDefault(dotPath, 'latency_ms'),
    status: withDefault(dotPath, 'status'),
    error: withDefault(dotPath, 'error'),
  },
  (v): FieldMapping => v,
);

/** `baseline: {learn: {records: N}}` or `{learn: {duration: T}}`: each version learns its own. */
const baselineLearn = object(
  { records: optional(int(1, 100_000_000)), duration: optional(measure('duration', { min: SECOND_MS })) },
  (v, report): BaselineLearnConfig => {
    if ((v.records === undefined) === (v.duration === undefined)) {
      report([], 'give exactly one of records (the first N records of each version) or duration (its first T)');
    }
    return { records: v.records ?? null, duration_ms: v.duration ?? null };
  },
);

// The defaults mirror agent/drift/rule.ts DEFAULT_DRIFT_RULE (a test there checks they agree).
const featureDrift = object(
  {
    ignore: withDefault(bool, false),
    min_count: optional(int(1, 1_000_000_000)),
    ks_alpha: optional(real(0, 1)),
    chi2_alpha: optional(real(0, 1)),
    wasserstein_floor: optional(real(0, 1_000_000)),
    js_floor: optional(real(0, 1)),
  },
  ({ ignore, ...thresholds }): FeatureDriftConfig => ({
    ignore,
    rule: Object.fromEntries(Object.entries(thresholds).filter(([, v]) => v !== undefined)) as FeatureDriftConfig['rule'],
  }),
);

const drift = object(
  {
    min_count: withDefault(int(1, 1_000_000_000), 30),
    ks_alpha: withDefault(real(0, 1), 0.001),
    chi2_alpha: withDefault(real(0, 1), 0.001),
    wasserstein_floor: withDefault(real(0, 1_000_000), 0.05),
    js_floor: withDefault(real(0, 1), 0.02),
    dataset_share: withDefault(real(0, 1), 0.5),
    features: withDefault(record('feature names', featureDrift), {}),
  },
  ({ features, ...rule }): DriftConfig => ({ rule, features }),
);

const labels = object(
  {
    delayed: withDefault(bool, false),
    horizon: withDefault(measure('duration', { min: SECOND_MS }), '24h'),
    max_pending: withDefault(int(1, 1_000_000_000), 1_000_000),
    max_pending_size: withDefault(measure('size', { min: KIB }), '256MiB'),
  },
  (v): LabelsConfig => ({
    delayed: v.delayed,
    horizon_ms: v.horizon,
    max_pending: v.max_pending,
    max_pending_bytes: v.max_pending_size,
  }),
);

const model = object(
  {
    name,
    task: oneOf(['classification', 'regression']),
    logs: list(fsPath, { of: 'log file globs', nonEmpty: true, unique: true }),
    format: withDefault(oneOf(['jsonl', 'csv']), 'jsonl'),
    csv: withDefault(object({ delimiter: withDefault(delimiter, ',') }, (v) => v), {}),
    window: withDefault(window, '60s'),
    allowed_lateness: optional(measure('duration', { min: 0 })),
    start_position: withDefault(oneOf(['start', 'end']), 'start'),
    max_line_size: withDefault(measure('size', { min: KIB, max: 1024 * 1024 * KIB }), '1MiB'),
    categorical_cap: withDefault(int(1, 100_000), 256),
    segment_cap: withDefault(int(1, 100_000), 64),
    fields: withDefault(fieldMapping, {}),
    features: withDefault(record('feature names', oneOf(['numeric', 'categorical'])), {}),
    infer_features: withDefault(bool, true),
    segments: withDefault(list(dotPath, { of: 'dot paths', unique: true }), []),
    baseline: withDefault(object({ learn: optional(baselineLearn) }, (v) => v), {}),
    drift: withDefault(drift, {}),
    labels: withDefault(labels, {}),
  },
  (v): ModelConfig => ({
    name: v.name,
    task: v.task,
    logs: v.logs,
    format: v.format,
    csv: v.csv,
    window_ms: v.window,
    allowed_lateness_ms: v.allowed_lateness ?? v.window,
    start_position: v.start_position,
    max_line_bytes: v.max_line_size,
    categorical_cap: v.categorical_cap,
    segment_cap: v.segment_cap,
    fields: v.fields,
    features: v.features,
    infer_features: v.infer_features,
    segments: v.segments,
    baseline_learn: v.baseline.learn ?? null,
    drift: v.drift,
    labels: v.labels,
  }),
);

const ingest = object(
  {
    poll_interval: withDefault(measure('duration', { min: 1 }), '250ms'),
    read_chunk: withDefault(measure('size', { min: 1, max: 1024 * 1024 * KIB }), '1MiB'),
    commit_records: withDefault(int(1, 10_000_000), 10_000),
    commit_interval: withDefault(measure('duration', { min: 1 }), '1s'),
    rotate_wait: withDefault(measure('duration', { min: 0 }), '5s'),
    idle_close: withDefault(measure('duration', { min: 1 }), '5m'),
    close_windows_on_shutdown: withDefault(bool, false),
  },
  (v): IngestConfig => ({
    poll_interval_ms: v.poll_interval,
    read_chunk_bytes: v.read_chunk,
    commit_max_records: v.commit_records,
    commit_interval_ms: v.commit_interval,
    rotate_wait_ms: v.rotate_wait,
    idle_close_ms: v.idle_close,
    close_windows_on_shutdown: v.close_windows_on_shutdown,
  }),
);

const retention = object(
  {
    windows: withDefault(measure('duration', { min: SECOND_MS }), '7d'),
    rollups: withDefault(measure('duration', { min: SECOND_MS }), '90d'),
  },
  (v, report): RetentionConfig => {
    if (v.rollups < v.windows) {
      const windows = formatDuration(v.windows);
      report(['rollups'], `${formatDuration(v.rollups)} is shorter than retention.windows (${windows}); ` +
        'rollups are built from windows, so keep them at least as long');
    }
    return { windows_ms: v.windows, rollups_ms: v.rollups };
  },
);

export const agentConfigSchema = object(
  {
    device: withDefault(
      object(
        { id: withDefault(name, (ctx) => ctx.hostname), site: withDefault(name, 'default'), tags: withDefault(list(name, { of: 'tags (names)', unique: true }), []) },
        (v) => v,
      ),
      {},
    ),
    data_dir: withDefault(fsPath, './data'),
    ingest: withDefault(ingest, {}),
    retention: withDefault(retention, {}),
    system: withDefault(systemSection, {}),
    metrics: withDefault(object({ listen: optional(listenAddress) }, (v) => ({ listen: v.listen ?? null })), {}),
    models: list(model, { of: 'models (each with at least name, task and logs)', nonEmpty: true }),
    alerts: withDefault(alertRules, []),
    builtin_alerts: withDefault(builtinAlerts, {}),
    sync: withDefault(syncSection, {}),
  },
  (v, report): Omit<AgentConfig, 'source'> => {
    const names = new Map<string, number>();
    const globs = new Map<string, { model: number; glob: number }>();
    v.models.forEach((m, i) => {
      const first = names.get(m.name);
      if (first !== undefined) {
        report(['models', i, 'name'],
          `${JSON.stringify(m.name)} is already the name of models[${first}]; model names must be unique`);
      }
      if (first === undefined) names.set(m.name, i);
      // Compared after resolving, so "./logs/*.jsonl" and "logs/*.jsonl" are the same glob.
      m.logs.forEach((glob, j) => {
        const owner = globs.get(glob);
        if (owner === undefined) globs.set(glob, { model: i, glob: j });
        else if (owner.model !== i) {
          report(['models', i, 'logs', j], `${JSON.stringify(glob)} is also listed by ` +
            `models[${owner.model}].logs[${owner.glob}]; a log file belongs to one model`);
        }
      });
    });
    v.models.forEach((m, i) => {
      // A label may revise its prediction's window only while that window is still stored as such.
      if (m.labels.delayed && m.labels.horizon_ms > v.retention.windows_ms) {
        report(['models', i, 'labels', 'horizon'], `${formatDuration(m.labels.horizon_ms)} is longer than retention.windows ` +
          `(${formatDuration(v.retention.windows_ms)}); a late label could no longer revise its window, so keep it at most that long`);
      }
    });
    const alerts = mergeAlerts(v.alerts, v.builtin_alerts, v.models.map((m) => m.name), report);
    return { device: v.device, data_dir: v.data_dir, models: v.models, ingest: v.ingest, retention: v.retention, system: v.system, metrics: v.metrics, alerts, sync: v.sync };
  },
);

/** What a config built in code may say: the YAML keys, with the same optional parts. */
export type AgentConfigInput = InputOf<typeof agentConfigSchema>;
