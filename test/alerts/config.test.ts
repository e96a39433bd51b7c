// The `alerts:` and `builtin_alerts:` sections: defaults, overrides, turning built-ins off, and the
// messages for what is wrong.
import { describe, expect, it } from 'vitest';
import { BUILTIN_ALERT_NAMES, defaultAlertRules, parseMetric } from '../../agent/alerts/index.js';
import { ConfigError, parseAgentConfig, type AgentConfig } from '../../agent/config/index.js';

const MODELS = `models:
  - name: fraud
    task: classification
    logs: ["./logs/fraud*.jsonl"]
  - name: energy
    task: regression
    logs: ["./logs/energy*.jsonl"]
`;

function parse(text: string): AgentConfig {
  return parseAgentConfig(MODELS + text, { sourcePath: '/etc/edgewatch/agent.yaml', env: {}, hostname: 'edge' });
}

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.field}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('alert config', () => {
  it('without alert keys: the built-ins with their defaults', () => {
    expect(parse('').alerts).toEqual(defaultAlertRules());
    expect(parse('alerts:\nbuiltin_alerts:\n').alerts).toEqual(defaultAlertRules());
  });

  it('user rules come first, with their defaults filled in', () => {
    const config = parse(`alerts:
  - name: slow
    metric: latency_ms.p95
    op: ">"
    threshold: 250
    for: 10m
    severity: critical
    labels: {team: payments}
    model: fraud
  - name: quiet
    metric: throughput
    op: "<"
    threshold: 0.5
`);
    expect(config.alerts.slice(0, 2)).toEqual([
      { name: 'slow', metric: 'latency_ms.p95', op: '>', threshold: 250, for_ms: 600_000, severity: 'critical', labels: { team: 'payments' }, model: 'fraud', builtin: false },
      { name: 'quiet', metric: 'throughput', op: '<', threshold: 0.5, for_ms: 0, severity: 'warning', labels: {}, model: null, builtin: false },
    ]);
    expect(config.alerts.slice(2)).toEqual(defaultAlertRules());
    expect(Object.isFrozen(config.alerts[0]?.labels)).toBe(true);
  });

  it('built-ins can be turned off or changed', () => {
    const config = parse(`builtin_alerts:
  log_silence: false
  dataset_drift: true
  bad_input_rate: {threshold: 0.2, for: 1m, severity: critical, labels: {page: "yes"}}
`);
    const names = config.alerts.map((r) => r.name);
    expect(names).toEqual(BUILTIN_ALERT_NAMES.filter((n) => n !== 'log_silence'));
    expect(config.alerts.find((r) => r.name === 'bad_input_rate')).toEqual({
      name: 'bad_input_rate', metric: 'rejected_rate', op: '>', threshold: 0.2, for_ms: 60_000, severity: 'critical',
      labels: { page: 'yes' }, model: null, builtin: true,
    });
    const off = parse(`builtin_alerts: {${BUILTIN_ALERT_NAMES.map((n) => `${n}: false`).join(', ')}}\n`);
    expect(off.alerts).toEqual([]);
  });

  it('accepts every documented metric form', () => {
    for (const metric of [
      'latency_ms.p50', 'latency_ms.p95', 'latency_ms.p99', 'latency_ms.p99_ratio', 'latency_ms.mean', 'error_rate',
      'rejected_rate', 'throughput', 'records', 'confidence.mean', 'confidence.drop', 'drift.share', 'drift.dataset',
      'drift.amount.psi', 'drift.amount.ks_p', 'drift.merchant.category.chi2', 'drift.prediction.js', 'drift.label.drifted',
      'missing_rate.amount', 'missing_rate.a.b', 'quality.accuracy', 'quality.mae', 'log.silence_seconds',
    ]) {
      expect(typeof parseMetric(metric), metric).toBe('object');
    }
    expect(parseMetric('drift.merchant.category.chi2')).toEqual({ kind: 'drift', target: { feature: 'merchant.category' }, score: 'chi2' });
  });

  it('refuses an unknown metric, naming the field and listing the valid forms', () => {
    const [message, ...rest] = problems(`alerts:
  - {name: a, metric: latency.p99, op: ">", threshold: 1}
`);
    expect(rest).toEqual([]);
    expect(message).toMatch(/^alerts\[0\]\.metric: got "latency\.p99": unknown metric \(did you mean "latency_ms\.p99"\?\); valid metrics: latency_ms\.\{p50,p90,p95,p99,mean,max\}, /);
    expect(message).toContain('drift.<feature>.{psi,ks,ks_p,wasserstein,js,chi2,chi2_p,drifted}');
    expect(message).toContain('missing_rate.<feature>');
    expect(message).toContain('log.silence_seconds');
    expect(problems(`alerts:\n  - {name: a, metric: error_rat, op: ">", threshold: 1}\n`)[0]).toContain(
      'got "error_rat": unknown metric (did you mean "error_rate"?); valid metrics:',
    );
    expect(problems(`alerts:\n  - {name: a, metric: drift.amount.pvalue, op: ">", threshold: 1}\n`)[0]).toContain('unknown drift score "pvalue"');
    expect(problems(`alerts:\n  - {name: a, metric: system..cpu, op: ">", threshold: 1}\n`)[0]).toContain('system metrics are system.<reading>[.<statistic>]');
  });

  it('refuses duplicate names, built-in names, unknown models and bad values, all at once', () => {
    expect(problems(`alerts:
  - {name: a, metric: error_rate, op: ">", threshold: 0.1}
  - {name: a, metric: error_rate, op: ">", threshold: 0.2, model: fraud}
  - {name: log_silence, metric: log.silence_seconds, op: ">", threshold: 60}
  - {name: b, metric: error_rate, op: ">", threshold: 0.1, model: frod}
`)).toEqual([
      'alerts[1].name: "a" is already the name of alerts[0]; alert names must be unique',
      'alerts[2].name: "log_silence" is the name of a built-in rule; change that one under builtin_alerts.log_silence, or give this rule another name',
      'alerts[3].model: "frod" is not a configured model (models: fraud, energy)',
    ]);
    expect(problems(`alerts:
  - {name: a, metric: error_rate, op: "=>", threshold: high, for: soon, severity: page, labels: {n: 1}, colour: red}
`)).toEqual([
      'alerts[0].op: got "=>", expected one of >, >=, <, <=, ==, !=',
      'alerts[0].threshold: got "high", expected a number',
      'alerts[0].for: got "soon", expected a duration such as "500ms", "10s", "1m", "1h", "2d", "1h30m", or a whole number of milliseconds',
      'alerts[0].severity: got "page", expected one of info, warning, critical',
      'alerts[0].labels.n: got 1, expected a string (put the value in quotes)',
      'alerts[0].colour: unknown key; expected one of name, metric, op, threshold, for, severity, labels, model',
    ]);
    expect(problems(`alerts:\n  - {metric: error_rate, op: ">", threshold: 1}\n`)).toEqual([
      'alerts[0].name: required; expected 1-64 characters of A-Z a-z 0-9 . _ -',
    ]);
  });

  it('refuses an unknown built-in with a hint, and a value that is neither false nor a mapping', () => {
    expect(problems('builtin_alerts:\n  log_silense: false\n')).toEqual([
      'builtin_alerts.log_silense: unknown key; did you mean "log_silence"?',
    ]);
    expect(problems('builtin_alerts:\n  log_silence: off\n')[0]).toMatch(/^builtin_alerts\.log_silence: got "off", expected a mapping with keys threshold, for, severity, labels/);
    expect(problems('builtin_alerts:\n  log_silence: {metric: error_rate}\n')).toEqual([
      'builtin_alerts.log_silence.metric: unknown key; expected one of threshold, for, severity, labels',
    ]);
  });
});
