// Builds resolved agent configs in code for tests (the YAML loader has its own tests).
import type { AgentConfig, FieldMapping, ModelConfig } from '../../agent/config/types.js';
import { defaultAlertRules } from '../../agent/alerts/index.js';
import { DEFAULT_DRIFT_RULE } from '../../agent/drift/index.js';

export const DEFAULT_FIELDS: FieldMapping = {
  ts: 'ts',
  model: 'model',
  model_version: 'model_version',
  request_id: 'request_id',
  features: 'features',
  prediction: 'prediction',
  confidence: 'confidence',
  probabilities: 'probabilities',
  label: 'label',
  latency_ms: 'latency_ms',
  status: 'status',
  error: 'error',
};

export function testModel(overrides: Partial<ModelConfig> & { logs: string[] }): ModelConfig {
  return {
    name: 'fraud',
    task: 'classification',
    format: 'jsonl',
    csv: { delimiter: ',' },
    window_ms: 60_000,
    allowed_lateness_ms: 60_000,
    start_position: 'start',
    max_line_bytes: 1 << 20,
    categorical_cap: 256,
    segment_cap: 64,
    fields: DEFAULT_FIELDS,
    features: {},
    infer_features: true,
    segments: [],
    baseline_learn: null,
    drift: { rule: { ...DEFAULT_DRIFT_RULE }, features: {} },
    labels: { delayed: false, horizon_ms: 86_400_000, max_pending: 1_000_000, max_pending_bytes: 256 * 1024 * 1024 },
    ...overrides,
  };
}

/** The sync section's defaults: no broker, summaries wait in the outbox for `export`. */
export const DEFAULT_SYNC: AgentConfig['sync'] = {
  mode: 'manual',
  url: null,
  username: null,
  password: null,
  tls: { ca: null, cert: null, key: null, servername: null, reject_unauthorized: true },
  cron: null,
  max_duration_ms: 600_000,
  keepalive_ms: 30_000,
  max_message_bytes: 256 * 1024,
  outbox_max_bytes: 256 * 1024 * 1024,
  hmac_key: null,
};

export function testConfig(dataDir: string, models: ModelConfig[], ingest: Partial<AgentConfig['ingest']> = {}): AgentConfig {
  return {
    source: '',
    device: { id: 'dev-test', site: 'lab' },
    data_dir: dataDir,
    models,
    ingest: {
      poll_interval_ms: 250,
      read_chunk_bytes: 1 << 20,
      commit_max_records: 10_000,
      commit_interval_ms: 1_000,
      rotate_wait_ms: 0,
      idle_close_ms: 300_000,
      close_windows_on_shutdown: false,
      ...ingest,
    },
    retention: { windows_ms: 7 * 86_400_000, rollups_ms: 90 * 86_400_000 },
    // Off in tests unless a test turns it on: readings of this machine would make windows differ.
    system: { ...DEFAULT_SYSTEM, enabled: false },
    metrics: { listen: null },
    alerts: defaultAlertRules(),
    sync: DEFAULT_SYNC,
  };
}

/** The `system:` section's defaults as the loader fills them in. */
export const DEFAULT_SYSTEM: AgentConfig['system'] = {
  enabled: true,
  interval_ms: 10_000,
  gpu: true,
  mounts: {},
  processes: [],
  containers: { socket: '/var/run/docker.sock', names: [] },
  proc_root: '/proc',
  sys_root: '/sys',
};
