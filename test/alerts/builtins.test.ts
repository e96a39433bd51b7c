// Every built-in rule, with its default settings, firing and resolving on metrics computed from
// real window profiles (and, for log silence, from an injected clock).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AlertEngine, BUILTIN_ALERTS, RESOLVED_CLEARED, defaultAlertRules, silenceSeconds, type Alert,
} from '../../agent/alerts/index.js';
import { formatDuration } from '../../agent/config/index.js';
import { baselineProfile, closeWindow, MIN, T0, windowProfile, type Traffic } from './profiles.js';

function newEngine(): AlertEngine {
  return new AlertEngine(defaultAlertRules(), { models: [{ name: 'm', window_ms: MIN }], restored: [], nextId: 1, now: T0 });
}

/**
 * Closes `bad` windows of bad traffic then one of good traffic, and returns the changes of each
 * window close, by window.
 */
function run(bad: number, badTraffic: Traffic, goodTraffic: Traffic, withBaseline: boolean): Alert[][] {
  const e = newEngine();
  const baseline = withBaseline ? baselineProfile() : null;
  const steps: Alert[][] = [];
  for (let i = 0; i <= bad; i++) {
    closeWindow(e, windowProfile(i, i < bad ? badTraffic : goodTraffic), baseline);
    steps.push(e.takeChanges());
  }
  return steps;
}

const rules = (changes: Alert[]) => changes.map((a) => `${a.rule}:${a.state}`);

describe('built-in rules', () => {
  it('has the documented defaults', () => {
    expect(defaultAlertRules().map((r) => [r.name, r.metric, r.op, r.threshold, r.for_ms, r.severity])).toEqual([
      ['bad_input_rate', 'rejected_rate', '>', 0.05, 300_000, 'warning'],
      ['log_silence', 'log.silence_seconds', '>', 900, 0, 'critical'],
      ['dataset_drift', 'drift.dataset', '==', 1, 0, 'warning'],
      ['confidence_drop', 'confidence.drop', '>', 0.1, 300_000, 'warning'],
      ['latency_p99', 'latency_ms.p99_ratio', '>', 2, 300_000, 'warning'],
    ]);
  });

  it('docs/alerts.md states the real defaults', () => {
    const docs = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'alerts.md'), 'utf8');
    const rows = [...docs.matchAll(/^\| `(\w+)` \| `([^`]+)` \| (\w+) \| (\w+) \|/gm)].map((m) => m.slice(1, 5));
    expect(rows).toEqual(defaultAlertRules().map((r) => [
      r.name, `${r.metric} ${r.op} ${r.threshold}`, r.for_ms === 0 ? '0s' : formatDuration(r.for_ms), r.severity,
    ]));
  });

  it('normal traffic against its baseline fires nothing', () => {
    const steps = run(8, {}, {}, true);
    expect(steps.flat()).toEqual([]);
  });

  it('bad_input_rate: more than 5% rejected lines for 5 minutes fires, a clean window resolves it', () => {
    // 30 rejected of 430 lines: 7%. Pending at the first window's end, firing 5 minutes later.
    const steps = run(6, { rejected: 30 }, {}, false);
    expect(rules(steps[0]!)).toEqual(['bad_input_rate:pending']);
    expect(steps[0]![0]!.value).toBeCloseTo(30 / 430, 12);
    for (let i = 1; i < 5; i++) expect(rules(steps[i]!)).toEqual(['bad_input_rate:pending']);
    expect(steps[5]).toEqual([expect.objectContaining({ rule: 'bad_input_rate', state: 'firing', pending_at: T0 + MIN, firing_at: T0 + 6 * MIN })]);
    expect(steps[6]).toEqual([expect.objectContaining({ rule: 'bad_input_rate', state: 'resolved', last_value: 0, reason: RESOLVED_CLEARED })]);
  });

  it('dataset_drift: a window whose features moved fires at once, a window like the baseline resolves it', () => {
    const steps = run(1, { shift: 1 }, {}, true);
    expect(steps[0]).toEqual([expect.objectContaining({ rule: 'dataset_drift', state: 'firing', value: 1, metric: 'drift.dataset' })]);
    expect(steps[1]).toEqual([expect.objectContaining({ rule: 'dataset_drift', state: 'resolved', last_value: 0 })]);
  });

  it('confidence_drop: mean confidence 0.2 under the baseline\'s for 5 minutes fires; back to normal resolves', () => {
    const steps = run(6, { confidence: 0.7 }, {}, true);
    expect(rules(steps[0]!)).toEqual(['confidence_drop:pending']);
    expect(steps[0]![0]!.value).toBeCloseTo(0.2, 2);
    expect(rules(steps[5]!)).toEqual(['confidence_drop:firing']);
    expect(steps[6]).toEqual([expect.objectContaining({ rule: 'confidence_drop', state: 'resolved' })]);
    expect(Math.abs(steps[6]![0]!.last_value)).toBeLessThan(0.01);
  });

  it('latency_p99: p99 over twice the baseline\'s for 5 minutes fires; back to normal resolves', () => {
    const steps = run(6, { latency: 30 }, {}, true);
    expect(rules(steps[0]!)).toEqual(['latency_p99:pending']);
    expect(steps[0]![0]!.value).toBeGreaterThan(2.5);
    expect(rules(steps[5]!)).toEqual(['latency_p99:firing']);
    expect(steps[6]).toEqual([expect.objectContaining({ rule: 'latency_p99', state: 'resolved' })]);
    expect(steps[6]![0]!.last_value).toBeCloseTo(1, 0);
  });

  it('rules that need a baseline are not evaluated without one', () => {
    const steps = run(8, { shift: 3, confidence: 0.5, latency: 100 }, {}, false);
    expect(steps.flat()).toEqual([]);
  });

  it('log_silence: no record for 15 minutes fires, on an injected clock; the next record resolves it', () => {
    const e = newEngine();
    let clock = T0;
    const startedAt = clock;
    let lastRecordAt: number | null = null;
    const tick = (ms: number): Alert[] => {
      clock += ms;
      e.evaluateSilence('m', silenceSeconds(lastRecordAt, startedAt, clock), clock);
      return e.takeChanges();
    };
    // A model that has logged nothing since the agent started is silent from the start.
    expect(tick(BUILTIN_ALERTS.log_silence.threshold * 1000)).toEqual([]);
    expect(tick(1000)).toEqual([expect.objectContaining({ rule: 'log_silence', model_version: '', state: 'firing', value: 901, firing_at: T0 + 901_000 })]);
    lastRecordAt = clock;
    expect(tick(1000)).toEqual([expect.objectContaining({ rule: 'log_silence', state: 'resolved', last_value: 1, resolved_at: T0 + 902_000 })]);
    // Records every 10 s keep it quiet; then they stop.
    for (let i = 0; i < 100; i++) {
      lastRecordAt = clock;
      expect(tick(10_000)).toEqual([]);
    }
    const last = lastRecordAt;
    while (clock + 10_000 <= last + 900_000) expect(tick(10_000)).toEqual([]);
    expect(tick(10_000)).toEqual([expect.objectContaining({ state: 'firing', pending_at: last + 910_000, value: 910 })]);
    expect(tick(60_000)).toEqual([expect.objectContaining({ state: 'firing', last_value: 970 })]);
  });
});
