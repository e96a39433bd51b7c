// The alert lifecycle as pure logic: pending -> firing -> resolved for every comparison and `for`,
// staleness of a version without windows, out-of-order windows, and a restart from stored rows.
import { describe, expect, it } from 'vitest';
import {
  AlertEngine, RESOLVED_BEFORE_FIRING, RESOLVED_CLEARED, RESOLVED_MODEL_GONE, RESOLVED_RULE_GONE, STALE_MIN_MS, compare, silenceSeconds,
  type Alert, type MetricLookup,
} from '../../agent/alerts/index.js';
import type { AlertOp, AlertRuleConfig } from '../../agent/config/types.js';

const MIN = 60_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');

function rule(over: Partial<AlertRuleConfig> = {}): AlertRuleConfig {
  return {
    name: 'r', metric: 'error_rate', op: '>', threshold: 0.1, for_ms: 0, severity: 'warning', labels: {},
    model: null, builtin: false, ...over,
  };
}

function engine(rules: AlertRuleConfig[], restored: Alert[] = [], nextId = 1): AlertEngine {
  return new AlertEngine(rules, { models: [{ name: 'm', window_ms: MIN }, { name: 'other', window_ms: MIN }], restored, nextId, now: T0 });
}

const value = (metric: string, v: number | null): MetricLookup => (name) => (name === metric ? v : null);

describe('compare', () => {
  it.each<[AlertOp, number, boolean, boolean, boolean]>([
    // op, threshold, below, equal, above
    ['>', 1, false, false, true],
    ['>=', 1, false, true, true],
    ['<', 1, true, false, false],
    ['<=', 1, true, true, false],
    ['==', 1, false, true, false],
    ['!=', 1, true, false, true],
  ])('%s', (op, t, below, equal, above) => {
    expect([compare(0.5, op, t), compare(1, op, t), compare(2, op, t)]).toEqual([below, equal, above]);
  });
});

describe('the lifecycle of a window rule', () => {
  it.each<[AlertOp, number, number]>([
    ['>', 0.2, 0.05],
    ['>=', 0.1, 0.05],
    ['<', 0.05, 0.2],
    ['<=', 0.1, 0.2],
    ['==', 0.1, 0.2],
    ['!=', 0.3, 0.1],
  ])('op %s with for 0 fires at once and resolves when it stops holding', (op, holds, clears) => {
    const e = engine([rule({ op })]);
    e.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', holds));
    const [fired] = e.takeChanges();
    expect(fired).toMatchObject({
      id: 1, rule: 'r', model: 'm', model_version: 'v1', state: 'firing', value: holds, last_value: holds,
      pending_at: T0 + MIN, firing_at: T0 + MIN, resolved_at: null, op, threshold: 0.1,
    });
    e.evaluateWindow('m', 'v1', T0 + 2 * MIN, value('error_rate', clears));
    expect(e.takeChanges()).toEqual([
      expect.objectContaining({ id: 1, state: 'resolved', value: holds, last_value: clears, firing_at: T0 + MIN,
        resolved_at: T0 + 2 * MIN, reason: RESOLVED_CLEARED }),
    ]);
    expect(e.active()).toEqual([]);
  });

  it('with a `for` stays pending until the condition has held that long, keeping the last value', () => {
    const e = engine([rule({ for_ms: 3 * MIN })]);
    e.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.2));
    expect(e.takeChanges()).toEqual([expect.objectContaining({ state: 'pending', value: 0.2, pending_at: T0 + MIN, firing_at: null })]);
    e.evaluateWindow('m', 'v1', T0 + 2 * MIN, value('error_rate', 0.3));
    e.evaluateWindow('m', 'v1', T0 + 3 * MIN, value('error_rate', 0.4));
    expect(e.takeChanges()).toEqual([expect.objectContaining({ state: 'pending', value: 0.2, last_value: 0.4, updated_at: T0 + 3 * MIN })]);
    e.evaluateWindow('m', 'v1', T0 + 4 * MIN, value('error_rate', 0.5));
    expect(e.takeChanges()).toEqual([
      expect.objectContaining({ state: 'firing', value: 0.5, last_value: 0.5, pending_at: T0 + MIN, firing_at: T0 + 4 * MIN }),
    ]);
    e.evaluateWindow('m', 'v1', T0 + 5 * MIN, value('error_rate', 0.6));
    expect(e.takeChanges()).toEqual([expect.objectContaining({ state: 'firing', value: 0.5, last_value: 0.6 })]);
    e.evaluateWindow('m', 'v1', T0 + 6 * MIN, value('error_rate', 0));
    expect(e.takeChanges()).toEqual([expect.objectContaining({ state: 'resolved', resolved_at: T0 + 6 * MIN, reason: RESOLVED_CLEARED })]);
  });

  it('a pending alert that clears before its `for` is resolved with no firing time, and a new one starts fresh', () => {
    const e = engine([rule({ for_ms: 5 * MIN })]);
    e.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.2));
    e.evaluateWindow('m', 'v1', T0 + 2 * MIN, value('error_rate', 0.01));
    e.evaluateWindow('m', 'v1', T0 + 3 * MIN, value('error_rate', 0.2));
    expect(e.takeChanges()).toEqual([
      expect.objectContaining({ id: 1, state: 'resolved', firing_at: null, resolved_at: T0 + 2 * MIN, reason: RESOLVED_BEFORE_FIRING }),
      expect.objectContaining({ id: 2, state: 'pending', pending_at: T0 + 3 * MIN }),
    ]);
  });

  it('a metric with no value leaves the state as it is', () => {
    const e = engine([rule({ for_ms: 2 * MIN })]);
    e.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.2));
    e.takeChanges();
    e.evaluateWindow('m', 'v1', T0 + 2 * MIN, value('error_rate', null));
    e.evaluateWindow('m', 'v1', T0 + 3 * MIN, value('error_rate', NaN));
    expect(e.takeChanges()).toEqual([]);
    expect(e.active()).toEqual([expect.objectContaining({ state: 'pending' })]);
  });

  it('keeps one alert per (rule, model, version), and a rule with a model only watches that model', () => {
    const e = engine([rule(), rule({ name: 'only-other', model: 'other' })]);
    e.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.5));
    e.evaluateWindow('m', 'v2', T0 + MIN, value('error_rate', 0.5));
    e.evaluateWindow('other', 'v1', T0 + MIN, value('error_rate', 0.5));
    expect(e.active().map((a) => `${a.rule}/${a.model}/${a.model_version}`)).toEqual(['r/m/v1', 'r/m/v2', 'r/other/v1', 'only-other/other/v1']);
  });

  it('ignores a window older than the alert\'s latest evaluation (closed out of order)', () => {
    const e = engine([rule()]);
    e.evaluateWindow('m', 'v1', T0 + 5 * MIN, value('error_rate', 0.5));
    e.takeChanges();
    e.evaluateWindow('m', 'v1', T0 + 4 * MIN, value('error_rate', 0));
    expect(e.takeChanges()).toEqual([]);
    expect(e.active()).toHaveLength(1);
  });

  it('resolves the alerts of a version that has had no window for 10 windows (at least an hour)', () => {
    const e = engine([rule()]);
    e.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.5));
    e.takeChanges();
    // v2 takes over; v1 sends nothing more.
    e.evaluateWindow('m', 'v2', T0 + MIN + STALE_MIN_MS - MIN, value('error_rate', 0));
    expect(e.takeChanges()).toEqual([]);
    e.evaluateWindow('m', 'v2', T0 + MIN + STALE_MIN_MS, value('error_rate', 0));
    expect(e.takeChanges()).toEqual([
      expect.objectContaining({ model_version: 'v1', state: 'resolved', resolved_at: T0 + MIN + STALE_MIN_MS,
        reason: `stale: no window of version v1 since ${new Date(T0 + MIN).toISOString()}` }),
    ]);
  });
});

describe('log silence', () => {
  const silence = rule({ name: 'log_silence', metric: 'log.silence_seconds', op: '>', threshold: 900 });

  it('is model-wide, on wall time, and not touched by window evaluations', () => {
    const e = engine([silence]);
    e.evaluateWindow('m', 'v1', T0, () => 10_000);
    expect(e.takeChanges()).toEqual([]);
    e.evaluateSilence('m', 901, T0 + 901_000);
    expect(e.takeChanges()).toEqual([expect.objectContaining({ model: 'm', model_version: '', state: 'firing', value: 901 })]);
    e.evaluateSilence('m', null, T0 + 902_000);
    expect(e.takeChanges()).toEqual([]);
  });

  it('counts from the agent start when the model never had a record', () => {
    expect(silenceSeconds(null, T0, T0 + 60_000)).toBe(60);
    expect(silenceSeconds(T0 + 30_000, T0, T0 + 60_000)).toBe(30);
    expect(silenceSeconds(T0 + 90_000, T0, T0 + 60_000)).toBe(0);
  });
});

describe('a restart', () => {
  it('continues the lifecycle of stored alerts and resolves those whose rule is gone', () => {
    const first = engine([rule({ for_ms: 3 * MIN }), rule({ name: 'gone' })]);
    first.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.2));
    const stored = first.takeChanges();
    expect(stored).toHaveLength(2);

    const restarted = engine([rule({ for_ms: 3 * MIN })], stored, 3);
    expect(restarted.takeChanges()).toEqual([
      expect.objectContaining({ rule: 'gone', state: 'resolved', resolved_at: T0, reason: RESOLVED_RULE_GONE }),
    ]);
    restarted.evaluateWindow('m', 'v1', T0 + 4 * MIN, value('error_rate', 0.3));
    expect(restarted.takeChanges()).toEqual([
      expect.objectContaining({ id: 1, rule: 'r', state: 'firing', pending_at: T0 + MIN, firing_at: T0 + 4 * MIN }),
    ]);
    restarted.evaluateWindow('m', 'v2', T0 + 4 * MIN, value('error_rate', 0.9));
    expect(restarted.takeChanges()).toEqual([expect.objectContaining({ id: 3, model_version: 'v2' })]);
  });

  it('resolves stored alerts of a model no longer configured, or of a rule now limited to another model', () => {
    const first = engine([rule()]);
    first.evaluateWindow('m', 'v1', T0 + MIN, value('error_rate', 0.5));
    first.evaluateWindow('other', 'v1', T0 + MIN, value('error_rate', 0.5));
    const stored = first.takeChanges();
    const restarted = new AlertEngine([rule({ model: 'm' })], { models: [{ name: 'm', window_ms: MIN }], restored: stored, nextId: 3, now: T0 });
    expect(restarted.takeChanges()).toEqual([
      expect.objectContaining({ id: 2, model: 'other', state: 'resolved', reason: RESOLVED_MODEL_GONE }),
    ]);
    const narrowed = engine([rule({ model: 'other' })], stored, 3);
    expect(narrowed.takeChanges()).toEqual([expect.objectContaining({ id: 1, model: 'm', state: 'resolved', reason: RESOLVED_RULE_GONE })]);
    expect(narrowed.active().map((a) => a.id)).toEqual([2]);
  });
});
