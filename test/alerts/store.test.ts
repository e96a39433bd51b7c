// Alerts in the agent's database: a round trip, writes inside the caller's transaction, one active
// row per (rule, model, version), and a restart that continues the lifecycle from the stored rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertEngine, AlertStore, defaultAlertRules, type Alert } from '../../agent/alerts/index.js';
import type { AlertRuleConfig } from '../../agent/config/types.js';
import { AgentStore } from '../../agent/store/index.js';
import { MIGRATIONS } from '../../agent/store/schema.js';
import { MIN, T0 } from './profiles.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-alerts-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const RULES: AlertRuleConfig[] = [
  { name: 'errors', metric: 'error_rate', op: '>', threshold: 0.1, for_ms: 2 * MIN, severity: 'critical', labels: { team: 'ml' }, model: null, builtin: false },
  ...defaultAlertRules(),
];

function engineFrom(store: AlertStore, now = T0): AlertEngine {
  return new AlertEngine(RULES, { models: [{ name: 'm', window_ms: MIN }], restored: store.active(), nextId: store.nextId(), now });
}

function open(name: string): { agent: AgentStore; alerts: AlertStore } {
  const agent = AgentStore.openForWriting(path.join(dir, name), 'dev-test');
  return { agent, alerts: new AlertStore(agent.db) };
}

const errors = (v: number) => (metric: string) => (metric === 'error_rate' ? v : null);

describe('the alert store', () => {
  it('is migration 4 of the agent database', () => {
    const { agent, alerts } = open('migration');
    expect(agent.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(4);
    expect(AlertStore.available(agent.db)).toBe(true);
    expect(alerts.active()).toEqual([]);
    expect(alerts.nextId()).toBe(1);
    agent.close();
  });

  it('round-trips every field, inside the caller\'s transaction', () => {
    const { agent, alerts } = open('round-trip');
    const e = engineFrom(alerts);
    e.evaluateWindow('m', 'v1', T0 + MIN, errors(0.25));
    e.evaluateSilence('m', 1000, T0 + 5 * MIN);
    const changes = e.takeChanges();
    agent.db.transaction(() => alerts.write(changes))();
    expect(alerts.active()).toEqual([changes[1], changes[0]]); // firing (critical) before pending
    expect(alerts.active().find((a) => a.rule === 'errors')?.labels).toEqual({ team: 'ml' });

    // A failed transaction leaves nothing behind.
    e.evaluateWindow('m', 'v1', T0 + 2 * MIN, errors(0));
    const resolved = e.takeChanges();
    expect(() => agent.db.transaction(() => {
      alerts.write(resolved);
      throw new Error('commit failed');
    })()).toThrow('commit failed');
    expect(alerts.active()).toHaveLength(2);
    alerts.write(resolved);
    expect(alerts.active().map((a) => a.rule)).toEqual(['log_silence']);
    expect(alerts.list({ since: T0 })).toEqual({ active: alerts.active(), recent: [expect.objectContaining({ rule: 'errors', state: 'resolved', firing_at: null })] });
    expect(alerts.list({ since: T0 + 3 * MIN }).recent).toEqual([]);
    expect(alerts.prune(T0 + 3 * MIN)).toBe(1);
    expect(alerts.list({ since: 0 }).recent).toEqual([]);
    agent.close();
  });

  it('holds at most one active alert per (rule, model, version)', () => {
    const { agent, alerts } = open('unique');
    const row: Alert = {
      id: 1, rule: 'errors', model: 'm', model_version: 'v1', state: 'firing', severity: 'warning', labels: {},
      metric: 'error_rate', op: '>', threshold: 0.1, value: 1, last_value: 1, pending_at: T0, firing_at: T0,
      resolved_at: null, updated_at: T0, reason: null,
    };
    alerts.write([row]);
    expect(() => alerts.write([{ ...row, id: 2 }])).toThrow(/UNIQUE/);
    alerts.write([{ ...row, state: 'resolved', resolved_at: T0 + 1 }, { ...row, id: 2 }]);
    expect(alerts.active().map((a) => a.id)).toEqual([2]);
    agent.close();
  });

  it('a restart continues from the stored rows: pending goes on to fire, ids go on', () => {
    let { agent, alerts } = open('restart');
    const e = engineFrom(alerts);
    e.evaluateWindow('m', 'v1', T0 + MIN, errors(0.5));
    alerts.write(e.takeChanges());
    agent.close();

    ({ agent, alerts } = open('restart'));
    const again = engineFrom(alerts);
    expect(again.active()).toEqual([expect.objectContaining({ id: 1, state: 'pending', pending_at: T0 + MIN })]);
    again.evaluateWindow('m', 'v1', T0 + 3 * MIN, errors(0.6));
    again.evaluateWindow('m', 'v2', T0 + 3 * MIN, errors(0.6));
    alerts.write(again.takeChanges());
    expect(alerts.active()).toEqual([
      expect.objectContaining({ id: 1, model_version: 'v1', state: 'firing', pending_at: T0 + MIN, firing_at: T0 + 3 * MIN, value: 0.6 }),
      expect.objectContaining({ id: 2, model_version: 'v2', state: 'pending' }),
    ]);
    agent.close();
  });
});
