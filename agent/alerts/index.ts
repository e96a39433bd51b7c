// The alert stage: rules from the config (user rules and built-ins) evaluated against each closed
// window's metrics and, on a timer, against log silence. Promise: one active alert per (rule, model,
// version), a pending -> firing -> resolved lifecycle, every change stored in the agent's commit.
export { BUILTIN_ALERT_NAMES, BUILTIN_ALERTS, defaultAlertRules, type BuiltinAlert, type BuiltinAlertName } from './builtins.js';
export {
  AlertEngine,
  RESOLVED_BEFORE_FIRING,
  RESOLVED_CLEARED,
  RESOLVED_MODEL_GONE,
  RESOLVED_RULE_GONE,
  STALE_MIN_MS,
  STALE_WINDOWS,
  compare,
  silenceSeconds,
  type Alert,
  type AlertEngineOptions,
  type AlertState,
} from './engine.js';
export { METRIC_FORMS, SILENCE_METRIC, parseMetric, type MetricRef } from './metric-names.js';
export { windowMetrics, type MetricLookup } from './metrics.js';
export { AlertStore } from './store.js';
