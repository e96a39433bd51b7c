// The agent's configuration after validation: every default filled in, every duration in
// milliseconds, every size in bytes, every path absolute. Frozen once loaded.

export type Task = 'classification' | 'regression';
export type LogFormat = 'jsonl' | 'csv';
export type FeatureType = 'numeric' | 'categorical';
export type StartPosition = 'start' | 'end';

/** Dot paths into a parsed record for each field of the design's inference record. */
export interface FieldMapping {
  ts: string;
  model: string;
  model_version: string;
  request_id: string;
  features: string;
  prediction: string;
  confidence: string;
  probabilities: string;
  label: string;
  latency_ms: string;
  status: string;
  error: string;
}

export interface ModelConfig {
  name: string;
  task: Task;
  /** Absolute glob patterns (relative ones were resolved against the config file's folder). */
  logs: string[];
  format: LogFormat;
  csv: { delimiter: string };
  window_ms: number;
  allowed_lateness_ms: number;
  start_position: StartPosition;
  max_line_bytes: number;
  categorical_cap: number;
  segment_cap: number;
  fields: FieldMapping;
  /** Declared feature types; undeclared features are inferred unless infer_features is false. */
  features: Record<string, FeatureType>;
  infer_features: boolean;
  /** Dot paths whose values split quality and serving figures, e.g. "features.region". */
  segments: string[];
  /** Learn each version's baseline from its first records or time, or null (baselines from files only). */
  baseline_learn: BaselineLearnConfig | null;
  /** The drift rule for this model (the defaults unless overridden), and per-feature overrides. */
  drift: DriftConfig;
  /** Ground truth arriving in later lines, joined to its prediction by request_id. */
  labels: LabelsConfig;
}

export interface LabelsConfig {
  /** Keep predictions without a label until their label line arrives (and labels until their prediction). */
  delayed: boolean;
  /** How long (event time) a prediction waits for its label, and a label for its prediction. */
  horizon_ms: number;
  /** Bounds on what waits; past them new entries are counted as overflow and not kept. */
  max_pending: number;
  max_pending_bytes: number;
}

export interface DriftRuleConfig {
  min_count: number;
  ks_alpha: number;
  chi2_alpha: number;
  wasserstein_floor: number;
  js_floor: number;
  dataset_share: number;
}

export interface FeatureDriftConfig {
  /** Leave the feature out of drift (ids, counters, timestamps). */
  ignore: boolean;
  /** Thresholds that replace the model's for this feature. */
  rule: Partial<Omit<DriftRuleConfig, 'dataset_share'>>;
}

export interface DriftConfig {
  rule: DriftRuleConfig;
  features: Record<string, FeatureDriftConfig>;
}

export interface BaselineLearnConfig {
  /** The first this many accepted records of a version, or null. */
  records: number | null;
  /** Its records within this much event time from its first, or null. */
  duration_ms: number | null;
}

export interface IngestConfig {
  poll_interval_ms: number;
  read_chunk_bytes: number;
  commit_max_records: number;
  commit_interval_ms: number;
  rotate_wait_ms: number;
  /** A watched file unchanged this long is closed (checkpoint kept) and reopened when it grows. */
  idle_close_ms: number;
  close_windows_on_shutdown: boolean;
}

export interface RetentionConfig {
  /** Closed windows older than this are merged into hourly rollups and removed. */
  windows_ms: number;
  /** Hourly rollups older than this are removed. */
  rollups_ms: number;
}

export interface ProcessWatchConfig {
  /** Its name in metrics: system.process.<name>.up. */
  name: string;
  match: { process_name: string } | { pid_file: string } | { systemd_unit: string };
}

export interface SystemConfig {
  enabled: boolean;
  interval_ms: number;
  /** Sample GPUs (nvidia-smi, or tegrastats on Jetson) when the tools are there. */
  gpu: boolean;
  /** Filesystems whose usage is sampled besides the data dir's ("data"): name -> a path on it. */
  mounts: Record<string, string>;
  processes: ProcessWatchConfig[];
  containers: { socket: string; names: string[] };
  /** Where /proc and /sys are: the host's when the agent runs in a container with them mounted elsewhere. */
  proc_root: string;
  sys_root: string;
}

export interface AgentConfig {
  /** Absolute path of the file this came from (empty when built in code). */
  source: string;
  /** `tags`: names the collector groups devices by (fleet rollups per tag); none when left out. */
  device: { id: string; site: string; tags?: string[] };
  data_dir: string;
  models: ModelConfig[];
  ingest: IngestConfig;
  retention: RetentionConfig;
  system: SystemConfig;
  /** The local Prometheus endpoint, "host:port", or null (off). */
  metrics: { listen: string | null };
  /** The user's `alerts:` rules followed by the built-ins left on, merged (docs/alerts.md). */
  alerts: AlertRuleConfig[];
  /** How summaries leave the device (docs/sync.md). */
  sync: SyncConfig;
}

export interface SyncConfig {
  /** continuous: stay connected; scheduled: connect on `cron`, drain, disconnect; manual: export only. */
  mode: 'continuous' | 'scheduled' | 'manual';
  /** The broker (the collector's embedded one, or Mosquitto, EMQX, ...); null only in manual mode. */
  url: string | null;
  /** Default: the device id. */
  username: string | null;
  password: string | null;
  tls: { ca: string | null; cert: string | null; key: string | null; servername: string | null; reject_unauthorized: boolean };
  cron: string | null;
  /** Scheduled: the longest a sync session stays connected, drained or not. */
  max_duration_ms: number;
  keepalive_ms: number;
  /** No message larger than this is sent: a summary over it is trimmed, then split. */
  max_message_bytes: number;
  /** When the outbox holds more, the oldest messages go and a gap message says which. */
  outbox_max_bytes: number;
  /** Signs exported bundles (HMAC-SHA256); null: unsigned. */
  hmac_key: string | null;
}

export type AlertOp = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface AlertRuleConfig {
  /** Unique among all rules; a built-in's name is its key under `builtin_alerts`. */
  name: string;
  /** A metric name of the grammar in agent/alerts/metric-names.ts. */
  metric: string;
  op: AlertOp;
  threshold: number;
  /** How long the condition must hold before the alert fires; 0: at once. */
  for_ms: number;
  severity: AlertSeverity;
  labels: Record<string, string>;
  /** Only this model's windows; null: every model. */
  model: string | null;
  builtin: boolean;
}
