// The grammar of alert metric names, in one place: the config checks a rule's metric against it at
// load, and the metric lookup computes a window's value from the same parsed form, so a name that
// loads is a name that can be computed. Pure: no imports, so the config can use it.

export const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'mean', 'max'] as const;
export const DRIFT_SCORES = ['psi', 'ks', 'ks_p', 'wasserstein', 'js', 'chi2', 'chi2_p', 'drifted'] as const;
export const QUALITY_METRICS = [
  'accuracy', 'macro_precision', 'macro_recall', 'macro_f1', 'mae', 'mse', 'rmse', 'mape', 'labelled',
] as const;

/** How a window's readings of one system metric are summed up; a name without one means mean. */
export const SYSTEM_STATS = ['min', 'max', 'mean', 'p50', 'p95', 'p99'] as const;
export type SystemStat = (typeof SYSTEM_STATS)[number];

export type LatencyStat = (typeof LATENCY_STATS)[number];
export type DriftScore = (typeof DRIFT_SCORES)[number];
export type QualityMetric = (typeof QUALITY_METRICS)[number];

/** The metric of log silence: model-wide, evaluated on a wall-clock timer, not at window close. */
export const SILENCE_METRIC = 'log.silence_seconds';

export type MetricRef =
  | { kind: 'latency'; stat: LatencyStat; ratio: boolean }
  | { kind: 'error_rate' }
  | { kind: 'rejected_rate' }
  | { kind: 'throughput' }
  | { kind: 'records' }
  | { kind: 'confidence'; stat: 'mean' | 'drop' }
  | { kind: 'drift_share' }
  | { kind: 'drift_dataset' }
  | { kind: 'drift'; target: { feature: string } | 'prediction' | 'label'; score: DriftScore }
  | { kind: 'missing_rate'; feature: string }
  | { kind: 'quality'; metric: QualityMetric }
  | { kind: 'silence' }
  | { kind: 'system'; metric: string; stat: SystemStat };

/** Every form a metric name may take, for the message that refuses an unknown one. */
export const METRIC_FORMS: readonly string[] = [
  `latency_ms.{${LATENCY_STATS.join(',')}}`,
  `latency_ms.{${LATENCY_STATS.join(',')}}_ratio`,
  'error_rate',
  'rejected_rate',
  'throughput',
  'records',
  'confidence.mean',
  'confidence.drop',
  'drift.share',
  'drift.dataset',
  `drift.<feature>.{${DRIFT_SCORES.join(',')}}`,
  'drift.prediction.<score>',
  'drift.label.<score>',
  'missing_rate.<feature>',
  `quality.{${QUALITY_METRICS.join(',')}}`,
  SILENCE_METRIC,
  `system.<reading>[.{${SYSTEM_STATS.join(',')}}] (e.g. system.gpu.0.temperature.max, system.memory.available.min, system.process.<name>.up)`,
];

/** The fixed names (no <feature> part), for a spelling hint. */
export const FIXED_METRICS: readonly string[] = [
  ...LATENCY_STATS.flatMap((s) => [`latency_ms.${s}`, `latency_ms.${s}_ratio`]),
  'error_rate', 'rejected_rate', 'throughput', 'records', 'confidence.mean', 'confidence.drop',
  'drift.share', 'drift.dataset', ...QUALITY_METRICS.map((m) => `quality.${m}`), SILENCE_METRIC,
];

const has = <V extends string>(values: readonly V[], s: string): s is V => (values as readonly string[]).includes(s);

/** The parsed metric, or why the name is not one (without the list of forms). */
export function parseMetric(name: string): MetricRef | string {
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const rest = dot < 0 ? '' : name.slice(dot + 1);
  switch (name) {
    case 'error_rate':
    case 'rejected_rate':
    case 'throughput':
    case 'records':
      return { kind: name };
    case 'drift.share':
      return { kind: 'drift_share' };
    case 'drift.dataset':
      return { kind: 'drift_dataset' };
    case 'confidence.mean':
      return { kind: 'confidence', stat: 'mean' };
    case 'confidence.drop':
      return { kind: 'confidence', stat: 'drop' };
    case SILENCE_METRIC:
      return { kind: 'silence' };
  }
  if (head === 'latency_ms') {
    const ratio = rest.endsWith('_ratio');
    const stat = ratio ? rest.slice(0, -'_ratio'.length) : rest;
    if (has(LATENCY_STATS, stat)) return { kind: 'latency', stat, ratio };
    return `unknown latency statistic ${JSON.stringify(rest)}`;
  }
  if (head === 'quality') {
    if (has(QUALITY_METRICS, rest)) return { kind: 'quality', metric: rest };
    return `unknown quality metric ${JSON.stringify(rest)}`;
  }
  if (head === 'missing_rate') {
    return rest === '' ? 'missing_rate needs a feature name: missing_rate.<feature>' : { kind: 'missing_rate', feature: rest };
  }
  if (head === 'drift') {
    // The score is the last part; the feature is everything between, so feature names may hold dots.
    const last = rest.lastIndexOf('.');
    const score = last < 0 ? rest : rest.slice(last + 1);
    const subject = last < 0 ? '' : rest.slice(0, last);
    if (subject === '') return `drift metrics are drift.share, drift.dataset or drift.<feature>.<score>`;
    if (!has(DRIFT_SCORES, score)) return `unknown drift score ${JSON.stringify(score)}`;
    const target = subject === 'prediction' || subject === 'label' ? subject : { feature: subject };
    return { kind: 'drift', target, score };
  }
  if (head === 'system') {
    // The statistic is the last part when it names one; readings are sampled names like gpu.0.power.
    const last = rest.lastIndexOf('.');
    const tail = last < 0 ? rest : rest.slice(last + 1);
    if (has(SYSTEM_STATS, tail) && last > 0) return { kind: 'system', metric: rest.slice(0, last), stat: tail };
    if (rest === '' || rest.split('.').some((part) => part === '')) return 'system metrics are system.<reading>[.<statistic>], e.g. system.cpu.total.p95';
    return { kind: 'system', metric: rest, stat: 'mean' };
  }
  return 'unknown metric';
}
