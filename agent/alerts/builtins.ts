// The built-in alert rules, on unless `builtin_alerts: {<name>: false}` turns one off. Their
// defaults and the reasoning behind them are in docs/alerts.md; a test checks the two agree.
import type { AlertOp, AlertRuleConfig, AlertSeverity } from '../config/types.js';

export interface BuiltinAlert {
  readonly metric: string;
  readonly op: AlertOp;
  readonly threshold: number;
  readonly for_ms: number;
  readonly severity: AlertSeverity;
}

const MINUTE_MS = 60_000;

export const BUILTIN_ALERTS = Object.freeze({
  /** More than 5% of a window's lines could not be used, for 5 minutes: a logging or schema change. */
  bad_input_rate: { metric: 'rejected_rate', op: '>', threshold: 0.05, for_ms: 5 * MINUTE_MS, severity: 'warning' },
  /** No new record for 15 minutes: a hung or dead inference or batch job (or its logging). */
  log_silence: { metric: 'log.silence_seconds', op: '>', threshold: 900, for_ms: 0, severity: 'critical' },
  /** The drift report's dataset verdict (the drift rule already asks for significance and size). */
  dataset_drift: { metric: 'drift.dataset', op: '==', threshold: 1, for_ms: 0, severity: 'warning' },
  /** Mean confidence 0.1 below the baseline's, for 5 minutes. */
  confidence_drop: { metric: 'confidence.drop', op: '>', threshold: 0.1, for_ms: 5 * MINUTE_MS, severity: 'warning' },
  /** p99 latency over twice the baseline's, for 5 minutes. */
  latency_p99: { metric: 'latency_ms.p99_ratio', op: '>', threshold: 2, for_ms: 5 * MINUTE_MS, severity: 'warning' },
} satisfies Record<string, BuiltinAlert>);

export type BuiltinAlertName = keyof typeof BUILTIN_ALERTS;

export const BUILTIN_ALERT_NAMES = Object.keys(BUILTIN_ALERTS) as BuiltinAlertName[];

/** The built-ins with their defaults, as the config resolves them when `builtin_alerts` is not set. */
export function defaultAlertRules(): AlertRuleConfig[] {
  return BUILTIN_ALERT_NAMES.map((name) => ({ name, ...BUILTIN_ALERTS[name], labels: {}, model: null, builtin: true }));
}
