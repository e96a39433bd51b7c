// The `alerts:` and `builtin_alerts:` sections: user rules checked against the metric grammar at
// load, built-ins on with their defaults unless turned off, merged into one list for the engine.
import { BUILTIN_ALERT_NAMES, BUILTIN_ALERTS, type BuiltinAlertName } from '../alerts/builtins.js';
import { FIXED_METRICS, METRIC_FORMS, parseMetric } from '../alerts/metric-names.js';
import {
  list, measure, object, oneOf, optional, Problem, quoteHint, record, scalar, str, withDefault,
  type Field, type InputOf, type Schema,
} from './checkers.js';
import { closestKey, describeValue, formatPath } from './errors.js';
import type { AlertOp, AlertRuleConfig, AlertSeverity } from './types.js';

const RULE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const ruleName = str('1-64 characters of A-Z a-z 0-9 . _ -', (s) => RULE_NAME.test(s));
const modelName = str('a model name from models[].name');

/** Any finite number; a ${VAR} string that reads as one counts too. */
const threshold = scalar<number, number>('a number', (raw, at, ctx) => {
  const value = typeof raw === 'string' && ctx.fromEnv.has(formatPath(at)) && raw.trim() !== '' ? Number(raw.trim()) : raw;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
});

const metric = scalar<string, string>('an alert metric', (value) => {
  if (typeof value !== 'string') return quoteHint(value, 'an alert metric');
  const parsed = parseMetric(value);
  if (typeof parsed !== 'string') return value;
  const hint = closestKey(value, FIXED_METRICS);
  return new Problem(
    `got ${describeValue(value)}: ${parsed}${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}; ` +
      `valid metrics: ${METRIC_FORMS.join(', ')}`,
  );
});

const OPS = ['>', '>=', '<', '<=', '==', '!='] as const satisfies readonly AlertOp[];
const SEVERITIES = ['info', 'warning', 'critical'] as const satisfies readonly AlertSeverity[];
const severity = oneOf(SEVERITIES);
const forDuration = measure('duration', { min: 0 });
const labels = record('label names', str('a string'));

type UserRule = Omit<AlertRuleConfig, 'builtin'>;

const rule = object(
  {
    name: ruleName,
    metric,
    op: oneOf(OPS),
    threshold,
    for: withDefault(forDuration, '0s'),
    severity: withDefault(severity, 'warning'),
    labels: withDefault(labels, {}),
    model: optional(modelName),
  },
  (v): UserRule => ({
    name: v.name,
    metric: v.metric,
    op: v.op,
    threshold: v.threshold,
    for_ms: v.for,
    severity: v.severity,
    labels: v.labels,
    model: v.model ?? null,
  }),
);

export const alertRules = list(rule, { of: 'alert rules (each with name, metric, op and threshold)' });

interface BuiltinOverride {
  threshold?: number;
  for_ms?: number;
  severity?: AlertSeverity;
  labels?: Record<string, string>;
}

const override = object(
  { threshold: optional(threshold), for: optional(forDuration), severity: optional(severity), labels: optional(labels) },
  (v): BuiltinOverride => ({
    ...(v.threshold === undefined ? {} : { threshold: v.threshold }),
    ...(v.for === undefined ? {} : { for_ms: v.for }),
    ...(v.severity === undefined ? {} : { severity: v.severity }),
    ...(v.labels === undefined ? {} : { labels: v.labels }),
  }),
);

type OverrideInput = InputOf<typeof override>;

/** `false` turns a built-in off; `true` or a mapping (of what to change) keeps it on. */
const switchable: Schema<BuiltinOverride | false, boolean | OverrideInput> = {
  expected: `false (off), true, or ${override.expected}`,
  container: true,
  check(value, at, ctx) {
    if (value === false) return false;
    if (value === true) return {};
    return override.check(value, at, ctx);
  },
};

export const builtinAlerts = object(
  Object.fromEntries(BUILTIN_ALERT_NAMES.map((n) => [n, optional(switchable)])) as Record<
    BuiltinAlertName,
    Field<BuiltinOverride | false | undefined, boolean | OverrideInput>
  >,
  (v) => v,
);

type Report = (relative: (string | number)[], message: string) => void;

/** User rules first, then the built-ins left on; names unique, `model` naming a configured model. */
export function mergeAlerts(
  user: readonly UserRule[],
  builtins: Readonly<Record<BuiltinAlertName, BuiltinOverride | false | undefined>>,
  modelNames: readonly string[],
  report: Report,
): AlertRuleConfig[] {
  const names = new Map<string, number>();
  user.forEach((r, i) => {
    const first = names.get(r.name);
    if (first !== undefined) {
      report(['alerts', i, 'name'], `${JSON.stringify(r.name)} is already the name of alerts[${first}]; alert names must be unique`);
    } else names.set(r.name, i);
    if ((BUILTIN_ALERT_NAMES as readonly string[]).includes(r.name)) {
      report(['alerts', i, 'name'], `${JSON.stringify(r.name)} is the name of a built-in rule; ` +
        `change that one under builtin_alerts.${r.name}, or give this rule another name`);
    }
    if (r.model !== null && !modelNames.includes(r.model)) {
      report(['alerts', i, 'model'], `${JSON.stringify(r.model)} is not a configured model (models: ${modelNames.join(', ')})`);
    }
  });
  const out: AlertRuleConfig[] = user.map((r) => ({ ...r, builtin: false }));
  for (const name of BUILTIN_ALERT_NAMES) {
    const given = builtins[name];
    if (given === false) continue;
    const base = BUILTIN_ALERTS[name];
    out.push({
      name,
      metric: base.metric,
      op: base.op,
      threshold: given?.threshold ?? base.threshold,
      for_ms: given?.for_ms ?? base.for_ms,
      severity: given?.severity ?? base.severity,
      labels: given?.labels ?? {},
      model: null,
      builtin: true,
    });
  }
  return out;
}
