// The catalogue of every metric family the endpoint may expose: name, type, help, label names, unit
// and where the value comes from. docs/metrics.md lists the same families (a test keeps the two in
// step), and the exposition writes families in this order.

export type FamilyType = 'counter' | 'gauge';

export interface MetricFamily {
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  /** Label names in the order samples give their values. */
  readonly labels: readonly string[];
  /** The label names joined by commas: families with equal keys take the same label sets. */
  readonly labelKey: string;
  /** For the docs: the unit of the value ('' when it is a count or a 0/1 state). */
  readonly unit: string;
  /** For the docs: where the value comes from. */
  readonly source: string;
  /** Position in FAMILIES, the order of the output. */
  readonly index: number;
}

const all: MetricFamily[] = [];

function family(name: string, type: FamilyType, help: string, labels: readonly string[], unit: string, source: string): MetricFamily {
  if (type === 'counter' !== name.endsWith('_total')) throw new Error(`metric family ${name}: counters, and only counters, end in _total`);
  const f: MetricFamily = Object.freeze({ name, type, help, labels: Object.freeze([...labels]), labelKey: labels.join(','), unit, source, index: all.length });
  all.push(f);
  return f;
}

const M = ['model'] as const;
const MV = ['model', 'version'] as const;
const MVF = ['model', 'version', 'feature'] as const;
const MVO = ['model', 'version', 'output'] as const;

// --- the agent and its models ------------------------------------------------------------------
export const AGENT_INFO = family('edgewatch_agent_info', 'gauge', 'Always 1; the agent version and the device it runs on as labels.', ['version', 'device', 'site'], '', 'agent');
export const RECORDS_ACCEPTED = family('edgewatch_records_accepted_total', 'counter', 'Inference records accepted since the store was created.', M, '', 'model counters');
export const RECORDS_REJECTED = family('edgewatch_records_rejected_total', 'counter', 'Log lines rejected since the store was created, by reason.', ['model', 'reason'], '', 'model counters');
export const RECORDS_LATE = family('edgewatch_records_late_total', 'counter', 'Records that arrived after their window had closed, since the store was created.', M, '', 'model counters');
export const WATERMARK = family('edgewatch_watermark_timestamp_seconds', 'gauge', 'Event-time watermark of the model: the newest record time seen, bounded by the allowed clock skew.', M, 'seconds since epoch', 'model counters');
export const LAST_RECORD = family('edgewatch_last_record_timestamp_seconds', 'gauge', 'Wall time the newest record of the model was read.', M, 'seconds since epoch', 'model counters');
export const LOG_SILENCE = family('edgewatch_log_silence_seconds', 'gauge', 'Seconds since the newest record of the model was read (scrape time minus last record time).', M, 'seconds', 'model counters');
export const WINDOWS_OPEN = family('edgewatch_windows_open', 'gauge', 'Windows of the model still open (not yet behind the watermark).', M, '', 'window stage');
export const LABELS_JOINED = family('edgewatch_labels_joined_total', 'counter', 'Ground-truth labels joined to their prediction.', M, '', 'label join');
export const LABELS_PENDING = family('edgewatch_labels_pending', 'gauge', 'Predictions waiting for their label, and labels waiting for their prediction.', ['model', 'side'], '', 'label join');
export const LABELS_EXPIRED = family('edgewatch_labels_expired_total', 'counter', 'Predictions or labels dropped unjoined after the join timeout.', ['model', 'side'], '', 'label join');
export const LABELS_OVERFLOW = family('edgewatch_labels_overflow_total', 'counter', 'Predictions or labels not kept because the pending limit was reached.', M, '', 'label join');

// --- the newest closed window per version --------------------------------------------------------
export const WINDOW_END = family('edgewatch_window_end_timestamp_seconds', 'gauge', 'End of the newest closed window of the version: the window the edgewatch_window_* and drift families describe.', MV, 'seconds since epoch', 'newest closed window');
export const WINDOW_RECORDS = family('edgewatch_window_records', 'gauge', 'Records in the newest closed window.', MV, '', 'newest closed window');
export const WINDOW_REJECTED = family('edgewatch_window_rejected_records', 'gauge', 'Rejected lines in the newest closed window.', MV, '', 'newest closed window');
export const WINDOW_ERRORS = family('edgewatch_window_error_records', 'gauge', 'Records that reported an inference error in the newest closed window.', MV, '', 'newest closed window');
export const WINDOW_LATENCY = family('edgewatch_window_latency_seconds', 'gauge', 'Inference latency percentile over the newest closed window (from its t-digest; not a Prometheus summary).', ['model', 'version', 'percentile'], 'seconds', 'newest closed window');
export const WINDOW_CONFIDENCE = family('edgewatch_window_confidence_mean', 'gauge', 'Mean prediction confidence in the newest closed window.', MV, '', 'newest closed window');

// --- drift of that window against its baseline ---------------------------------------------------
export const DRIFT_SHARE = family('edgewatch_drift_share_ratio', 'gauge', 'Share of compared features that drifted.', MV, 'ratio', 'drift report');
export const DRIFT_DATASET = family('edgewatch_drift_dataset', 'gauge', '1 when the dataset drifted (the drifted share reached the rule\'s dataset_share), else 0.', MV, '0/1', 'drift report');
export const DRIFT_FEATURES = family('edgewatch_drift_features_compared', 'gauge', 'Features compared with the baseline.', MV, '', 'drift report');

/** A score that exists for features and for the prediction and label alike, read from a FeatureDrift. */
export type DriftScoreKey = 'drift' | 'psi' | 'ks_statistic' | 'ks_p_value' | 'wasserstein_std' | 'js_distance' | 'chi2_statistic' | 'chi2_p_value';
const SCORE_HELP: Record<DriftScoreKey, [string, string]> = {
  drift: ['1 when the drift rule says it drifted, else 0.', '0/1'],
  psi: ['Population stability index against the baseline.', ''],
  ks_statistic: ['Two-sample Kolmogorov-Smirnov statistic (numeric only).', ''],
  ks_p_value: ['Kolmogorov-Smirnov p-value (numeric only).', ''],
  wasserstein_std: ['Wasserstein-1 distance in baseline standard deviations (numeric only).', 'baseline std'],
  js_distance: ['Jensen-Shannon distance (base 2).', ''],
  chi2_statistic: ['Chi-squared statistic (categorical only).', ''],
  chi2_p_value: ['Chi-squared p-value (categorical only).', ''],
};
const SCORES = Object.keys(SCORE_HELP) as DriftScoreKey[];
function scoreFamilies(prefix: string, of: string, labels: readonly string[]): Record<DriftScoreKey, MetricFamily> {
  return Object.fromEntries(
    SCORES.map((k) => [k, family(`edgewatch_${prefix}_${k}`, 'gauge', `${of}: ${SCORE_HELP[k][0]}`, labels, SCORE_HELP[k][1], 'drift report')]),
  ) as Record<DriftScoreKey, MetricFamily>;
}
export const FEATURE_SCORES = scoreFamilies('feature', 'Input feature', MVF);
/** `output` is "prediction" or "label": kept apart from features so a feature may be called either. */
export const OUTPUT_SCORES = scoreFamilies('output', 'Model output (prediction) or ground truth (label)', MVO);

export const ACCURACY = family('edgewatch_accuracy_ratio', 'gauge', 'Classification accuracy on the labelled records of the newest closed window.', MV, 'ratio', 'drift report quality');
export const MACRO_F1 = family('edgewatch_macro_f1_ratio', 'gauge', 'Classification macro-averaged F1 on the labelled records of the newest closed window.', MV, 'ratio', 'drift report quality');
export const ESTIMATED_ACCURACY = family('edgewatch_estimated_accuracy_ratio', 'gauge', 'Classification accuracy the window\'s confidences promise, read through the baseline\'s calibration (no labels needed).', MV, 'ratio', 'drift report quality');
export const MAE = family('edgewatch_mae', 'gauge', 'Regression mean absolute error on the labelled records, in the unit of the model\'s output.', MV, 'model output unit', 'drift report quality');
export const RMSE = family('edgewatch_rmse', 'gauge', 'Regression root mean squared error on the labelled records, in the unit of the model\'s output.', MV, 'model output unit', 'drift report quality');
export const LABELLED = family('edgewatch_window_labelled_records', 'gauge', 'Records of the newest closed window that have a ground-truth label.', MV, '', 'drift report quality');
export const CONCEPT_DRIFT = family('edgewatch_concept_drift', 'gauge', '1 when quality dropped past the concept-drift rule against the baseline, 0 when not; absent with too few labels.', MV, '0/1', 'drift report quality');

// --- alerts ---------------------------------------------------------------------------------------
export const ALERT_ACTIVE = family('edgewatch_alert_active', 'gauge', 'Always 1 for each pending or firing local alert.', ['rule', 'model', 'version', 'severity', 'state'], '', 'alert engine');
export const ALERT_VALUE = family('edgewatch_alert_value', 'gauge', 'The value of the rule\'s metric that made the alert pending or firing.', ['rule', 'model', 'version'], 'the rule metric\'s', 'alert engine');

// --- system sampling (agent/system): see system-readings.ts for the reading -> family table ----------
const sys = (source: string): string => `system: ${source}`;
export const SYSTEM_SAMPLED = family('edgewatch_system_sample_timestamp_seconds', 'gauge', 'Wall time of the latest system sampling round.', [], 'seconds since epoch', 'system sampler');
export const SYSTEM_FAILURES = family('edgewatch_system_source_failures_total', 'counter', 'Sampling rounds in which a system source failed, by source and cause.', ['source', 'cause'], '', 'system sampler');
export const CPU_USAGE = family('edgewatch_system_cpu_usage_ratio', 'gauge', 'CPU busy share (without iowait); the series without a core label is the whole machine.', ['core'], 'ratio', sys('cpu (cpu.total, cpu.core.N)'));
export const CPU_IOWAIT = family('edgewatch_system_cpu_iowait_ratio', 'gauge', 'CPU share spent waiting for I/O.', [], 'ratio', sys('cpu (cpu.iowait)'));
export const CPU_CORES = family('edgewatch_system_cpu_cores', 'gauge', 'Online CPU cores.', [], '', sys('cpu (cpu.cores)'));
export const LOAD = family('edgewatch_system_load_average', 'gauge', 'Load average over the period.', ['period'], '', sys('cpu (load.1m, load.5m, load.15m)'));
export const MEMORY = {
  total: family('edgewatch_system_memory_total_bytes', 'gauge', 'Physical memory.', [], 'bytes', sys('memory (memory.total)')),
  available: family('edgewatch_system_memory_available_bytes', 'gauge', 'Memory available to new programs without swapping (MemAvailable).', [], 'bytes', sys('memory (memory.available)')),
  used: family('edgewatch_system_memory_used_bytes', 'gauge', 'Memory in use: total minus available.', [], 'bytes', sys('memory (memory.used)')),
  used_percent: family('edgewatch_system_memory_used_ratio', 'gauge', 'Share of memory in use.', [], 'ratio', sys('memory (memory.used_percent)')),
};
export const SWAP = {
  total: family('edgewatch_system_swap_total_bytes', 'gauge', 'Swap space.', [], 'bytes', sys('memory (swap.total)')),
  used: family('edgewatch_system_swap_used_bytes', 'gauge', 'Swap space in use.', [], 'bytes', sys('memory (swap.used)')),
};
export const DISK = {
  total: family('edgewatch_system_disk_total_bytes', 'gauge', 'Size of the filesystem holding the named path.', ['disk'], 'bytes', sys('disk (disk.<name>.total)')),
  used: family('edgewatch_system_disk_used_bytes', 'gauge', 'Bytes used on the filesystem holding the named path.', ['disk'], 'bytes', sys('disk (disk.<name>.used)')),
  free: family('edgewatch_system_disk_free_bytes', 'gauge', 'Bytes an unprivileged writer may still use on the filesystem (as df).', ['disk'], 'bytes', sys('disk (disk.<name>.free)')),
  used_percent: family('edgewatch_system_disk_used_ratio', 'gauge', 'Share of the filesystem in use, without the root reserve (as df).', ['disk'], 'ratio', sys('disk (disk.<name>.used_percent)')),
};
export const DISK_READ = family('edgewatch_system_disk_read_bytes_per_second', 'gauge', 'Bytes read per second from the block device over the latest round.', ['device'], 'bytes per second', sys('disk (disk.io.<device>.read_bytes_per_s)'));
export const DISK_WRITE = family('edgewatch_system_disk_write_bytes_per_second', 'gauge', 'Bytes written per second to the block device over the latest round.', ['device'], 'bytes per second', sys('disk (disk.io.<device>.write_bytes_per_s)'));
export const NET_RX = family('edgewatch_system_network_receive_bytes_per_second', 'gauge', 'Bytes received per second on the interface over the latest round.', ['interface'], 'bytes per second', sys('network (network.<if>.rx_bytes_per_s)'));
export const NET_TX = family('edgewatch_system_network_transmit_bytes_per_second', 'gauge', 'Bytes sent per second on the interface over the latest round.', ['interface'], 'bytes per second', sys('network (network.<if>.tx_bytes_per_s)'));
export const NET_ERRORS = family('edgewatch_system_network_errors_per_second', 'gauge', 'Receive and transmit errors per second on the interface.', ['interface'], 'per second', sys('network (network.<if>.errors_per_s)'));
export const NET_DROPS = family('edgewatch_system_network_drops_per_second', 'gauge', 'Receive and transmit drops per second on the interface.', ['interface'], 'per second', sys('network (network.<if>.drops_per_s)'));
export const TEMPERATURE = family('edgewatch_system_temperature_celsius', 'gauge', 'Kernel thermal zone (sensor "<type>") or hwmon sensor (sensor "<chip>.<label>").', ['sensor'], 'celsius', sys('temperature (temperature.*)'));
export const GPUS = family('edgewatch_system_gpus', 'gauge', 'GPUs the GPU tool reports.', [], '', sys('gpu (gpu.count)'));
export const GPU = {
  utilization: family('edgewatch_system_gpu_utilization_ratio', 'gauge', 'GPU busy share.', ['gpu'], 'ratio', sys('gpu (gpu.N.utilization)')),
  memory_utilization: family('edgewatch_system_gpu_memory_utilization_ratio', 'gauge', 'Share of time GPU memory was read or written.', ['gpu'], 'ratio', sys('gpu (gpu.N.memory_utilization)')),
  'memory.used': family('edgewatch_system_gpu_memory_used_bytes', 'gauge', 'GPU memory in use.', ['gpu'], 'bytes', sys('gpu (gpu.N.memory.used)')),
  'memory.total': family('edgewatch_system_gpu_memory_total_bytes', 'gauge', 'GPU memory.', ['gpu'], 'bytes', sys('gpu (gpu.N.memory.total)')),
  temperature: family('edgewatch_system_gpu_temperature_celsius', 'gauge', 'GPU temperature.', ['gpu'], 'celsius', sys('gpu (gpu.N.temperature)')),
  power: family('edgewatch_system_gpu_power_watts', 'gauge', 'GPU power draw (on Jetson: the GPU rail, when the board has one).', ['gpu'], 'watts', sys('gpu (gpu.N.power)')),
  power_limit: family('edgewatch_system_gpu_power_limit_watts', 'gauge', 'GPU power limit.', ['gpu'], 'watts', sys('gpu (gpu.N.power_limit)')),
  fan: family('edgewatch_system_gpu_fan_speed_ratio', 'gauge', 'GPU fan speed as a share of its maximum.', ['gpu'], 'ratio', sys('gpu (gpu.N.fan)')),
  throttled: family('edgewatch_system_gpu_throttled', 'gauge', '1 when a clock limit other than idle is active, else 0.', ['gpu'], '0/1', sys('gpu (gpu.N.throttled)')),
  pstate: family('edgewatch_system_gpu_performance_state', 'gauge', 'GPU performance state (0 = P0, fastest).', ['gpu'], '', sys('gpu (gpu.N.pstate)')),
};
export const GPU_CLOCK = family('edgewatch_system_gpu_clock_hertz', 'gauge', 'GPU clock: sm (graphics) or mem.', ['gpu', 'clock'], 'hertz', sys('gpu (gpu.N.clock.sm, gpu.N.clock.mem)'));
export const TEGRA = {
  ram_used: family('edgewatch_system_tegra_ram_used_bytes', 'gauge', 'Jetson RAM in use (shared by CPU and GPU).', [], 'bytes', sys('tegra (tegra.ram.used)')),
  ram_total: family('edgewatch_system_tegra_ram_total_bytes', 'gauge', 'Jetson RAM.', [], 'bytes', sys('tegra (tegra.ram.total)')),
  swap_used: family('edgewatch_system_tegra_swap_used_bytes', 'gauge', 'Jetson swap in use.', [], 'bytes', sys('tegra (tegra.swap.used)')),
  swap_total: family('edgewatch_system_tegra_swap_total_bytes', 'gauge', 'Jetson swap.', [], 'bytes', sys('tegra (tegra.swap.total)')),
  cpu_utilization: family('edgewatch_system_tegra_cpu_utilization_ratio', 'gauge', 'Jetson CPU core busy share (absent while the core is off).', ['core'], 'ratio', sys('tegra (tegra.cpu.N.utilization)')),
  cpu_clock: family('edgewatch_system_tegra_cpu_clock_hertz', 'gauge', 'Jetson CPU core clock.', ['core'], 'hertz', sys('tegra (tegra.cpu.N.clock)')),
  emc_utilization: family('edgewatch_system_tegra_emc_utilization_ratio', 'gauge', 'Jetson memory controller busy share.', [], 'ratio', sys('tegra (tegra.emc.utilization)')),
  emc_clock: family('edgewatch_system_tegra_emc_clock_hertz', 'gauge', 'Jetson memory controller clock.', [], 'hertz', sys('tegra (tegra.emc.clock)')),
  temperature: family('edgewatch_system_tegra_temperature_celsius', 'gauge', 'Jetson sensor temperature as tegrastats names it (lower case).', ['sensor'], 'celsius', sys('tegra (tegra.temperature.<sensor>)')),
  power: family('edgewatch_system_tegra_power_watts', 'gauge', 'Jetson power rail, current draw.', ['rail'], 'watts', sys('tegra (tegra.power.<rail>)')),
};
export const PROCESS = {
  up: family('edgewatch_process_up', 'gauge', '1 when the watched process runs, else 0.', ['process'], '0/1', sys('process (process.<name>.up)')),
  restarts: family('edgewatch_process_restarts_total', 'counter', 'Restarts of the watched process seen since the agent started.', ['process'], '', sys('process (process.<name>.restarts)')),
  threads: family('edgewatch_process_threads', 'gauge', 'Threads of the watched process.', ['process'], '', sys('process (process.<name>.threads)')),
  uptime: family('edgewatch_process_uptime_seconds', 'gauge', 'Seconds since the watched process started.', ['process'], 'seconds', sys('process (process.<name>.uptime)')),
  cpu: family('edgewatch_process_cpu_usage_ratio', 'gauge', 'CPU used by the watched process, in cores (1 = one core busy).', ['process'], 'ratio of one core', sys('process (process.<name>.cpu)')),
  rss: family('edgewatch_process_resident_memory_bytes', 'gauge', 'Resident memory of the watched process.', ['process'], 'bytes', sys('process (process.<name>.rss)')),
};
export const CONTAINER = {
  running: family('edgewatch_container_running', 'gauge', '1 when the watched container runs, else 0 (also when it does not exist).', ['container'], '0/1', sys('container (container.<name>.running)')),
  restarts: family('edgewatch_container_restarts_total', 'counter', 'Docker\'s restart count of the container.', ['container'], '', sys('container (container.<name>.restarts)')),
  healthy: family('edgewatch_container_healthy', 'gauge', '1 healthy, 0 unhealthy; absent without a healthcheck or while starting.', ['container'], '0/1', sys('container (container.<name>.healthy)')),
  uptime: family('edgewatch_container_uptime_seconds', 'gauge', 'Seconds since the container started.', ['container'], 'seconds', sys('container (container.<name>.uptime)')),
  cpu: family('edgewatch_container_cpu_usage_ratio', 'gauge', 'CPU used by the container, in cores (as docker stats, divided by 100).', ['container'], 'ratio of one core', sys('container (container.<name>.cpu)')),
  memory: family('edgewatch_container_memory_used_bytes', 'gauge', 'Container memory in use without the droppable page cache (as docker stats).', ['container'], 'bytes', sys('container (container.<name>.memory)')),
  memory_limit: family('edgewatch_container_memory_limit_bytes', 'gauge', 'Container memory limit.', ['container'], 'bytes', sys('container (container.<name>.memory_limit)')),
};
export const AGENT = {
  cpu: family('edgewatch_agent_cpu_usage_ratio', 'gauge', 'CPU used by the agent between the last two rounds, in cores.', [], 'ratio of one core', sys('agent (agent.cpu)')),
  lines_per_s: family('edgewatch_agent_lines_per_second', 'gauge', 'Log lines read per second between the last two rounds.', [], 'per second', sys('agent (agent.lines_per_s)')),
  rss: family('edgewatch_agent_resident_memory_bytes', 'gauge', 'Resident memory of the agent.', [], 'bytes', sys('agent (agent.rss)')),
  heap_used: family('edgewatch_agent_heap_used_bytes', 'gauge', 'V8 heap in use by the agent.', [], 'bytes', sys('agent (agent.heap_used)')),
  commit_ms: family('edgewatch_agent_slowest_commit_seconds', 'gauge', 'Slowest database commit since the previous round.', [], 'seconds', sys('agent (agent.commit_ms)')),
  commits: family('edgewatch_agent_round_commits', 'gauge', 'Database commits since the previous round.', [], '', sys('agent (agent.commits)')),
  db_size: family('edgewatch_agent_database_size_bytes', 'gauge', 'Size of the agent database and its WAL.', [], 'bytes', sys('agent (agent.db_size)')),
  outbox_messages: family('edgewatch_agent_outbox_messages', 'gauge', 'Messages waiting in the outbox for the collector.', [], '', sys('agent (agent.outbox_messages)')),
  outbox_bytes: family('edgewatch_agent_outbox_bytes', 'gauge', 'Bytes of the messages waiting in the outbox.', [], 'bytes', sys('agent (agent.outbox_bytes)')),
};
export const AGENT_ERRORS = family('edgewatch_agent_errors_total', 'counter', 'Runtime faults since the agent started, by stage and EW_ERR_* code.', ['stage', 'code'], '', sys('agent (agent.errors.<stage>.<code>)'));
export const SYSTEM_OTHER = family('edgewatch_system_reading', 'gauge', 'A system reading with no family of its own, by its agent/system name, in that name\'s unit.', ['metric'], 'as agent/system states', 'system: any unknown name');

export const FAMILIES: readonly MetricFamily[] = Object.freeze(all);
