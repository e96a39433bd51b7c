// `edgewatch-agent alerts`: active alerts then recently resolved ones, as tables or one JSON object,
// read from the store without taking the agent's lock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEngine, AlertStore, defaultAlertRules, type Alert } from '../../agent/alerts/index.js';
import { loadAgentConfig } from '../../agent/config/index.js';
import { AgentStore, DB_FILE } from '../../agent/store/index.js';
import { MIGRATIONS } from '../../agent/store/schema.js';
import { cli } from '../helpers/cli.js';

const MIN = 60_000;


function writeConfig(dir: string): string {
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, `device: {id: dev-1}
data_dir: ./data
models:
  - name: fraud
    task: classification
    logs: ["./logs/*.jsonl"]
alerts:
  - name: errors
    metric: error_rate
    op: ">"
    threshold: 0.1
    labels: {team: ml}
`);
  return file;
}

describe('edgewatch-agent alerts', () => {
  let dir: string;
  let config: string;
  const now = Date.now();
  // Windows ending two hours and one hour ago, and an old one resolved two days ago.
  const hour = 3_600_000;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-alerts-cli-'));
    config = writeConfig(dir);
    const c = loadAgentConfig(config, {});
    const store = AgentStore.openForWriting(c.data_dir, c.device.id);
    const alerts = new AlertStore(store.db);
    const e = new AlertEngine(c.alerts, { models: c.models, restored: [], nextId: 1, now });
    const lookup = (v: Record<string, number>) => (m: string) => v[m] ?? null;
    e.evaluateWindow('fraud', 'v1', now - 50 * hour, lookup({ error_rate: 0.5 }));
    e.evaluateWindow('fraud', 'v1', now - 48 * hour, lookup({ error_rate: 0 }));
    e.evaluateWindow('fraud', 'v1', now - 2 * hour, lookup({ error_rate: 0.3, 'drift.dataset': 1 }));
    e.evaluateWindow('fraud', 'v1', now - hour, lookup({ error_rate: 0.25, 'drift.dataset': 0 }));
    e.evaluateSilence('fraud', 1200, now - 10 * MIN);
    store.db.transaction(() => alerts.write(e.takeChanges()))();
    store.close();
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--json prints the active alerts and those resolved in the last 24 h', async () => {
    const r = await cli('alerts', '--config', config, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { active: Alert[]; recent: Alert[] };
    expect(list.active.map((a) => [a.rule, a.state, a.severity, a.model_version, a.value, a.last_value])).toEqual([
      ['log_silence', 'firing', 'critical', '', 1200, 1200],
      ['errors', 'firing', 'warning', 'v1', 0.3, 0.25],
    ]);
    expect(list.active[1]?.labels).toEqual({ team: 'ml' });
    expect(list.recent).toEqual([
      expect.objectContaining({ rule: 'dataset_drift', state: 'resolved', pending_at: now - 2 * hour, firing_at: now - 2 * hour, resolved_at: now - hour, reason: 'condition cleared' }),
    ]);
  });

  it('--since widens the resolved list', async () => {
    const r = await cli('alerts', '--config', config, '--json', '--since', new Date(now - 3 * 86_400_000).toISOString());
    const list = JSON.parse(r.out) as { active: Alert[]; recent: Alert[] };
    expect(list.recent.map((a) => a.rule)).toEqual(['dataset_drift', 'errors']);
    expect((await cli('alerts', '--config', config, '--since', 'yesterday')).code).toBe(2);
  });

  it('prints readable tables', async () => {
    const r = await cli('alerts', '--config', config);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('active alerts: 2');
    expect(lines[2]).toMatch(/^state\s+severity\s+rule\s+model\s+version\s+condition\s+value\s+last\s+since\s+labels$/);
    expect(lines[4]).toMatch(/^firing\s+critical\s+log_silence\s+fraud\s+-\s+log\.silence_seconds > 900\s+1200\s+1200\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+-$/);
    expect(lines[5]).toMatch(/^firing\s+warning\s+errors\s+fraud\s+v1\s+error_rate > 0\.1\s+0\.3\s+0\.25\s+\S+Z\s+team=ml$/);
    expect(lines[7]).toMatch(/^resolved since \S+Z: 1$/);
    expect(lines[9]).toMatch(/^severity\s+rule\s+model\s+version\s+condition\s+value\s+pending\s+fired\s+resolved\s+reason$/);
    expect(lines[11]).toMatch(/^warning\s+dataset_drift\s+fraud\s+v1\s+drift\.dataset == 1\s+1\s+\S+Z\s+\S+Z\s+\S+Z\s+condition cleared$/);
  });

  it('shows no alerts for a database written before alerts existed', async () => {
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-alerts-old-'));
    try {
      const file = writeConfig(old);
      fs.mkdirSync(path.join(old, 'data'));
      const db = new Database(path.join(old, 'data', DB_FILE));
      for (const m of MIGRATIONS.slice(0, 3)) db.exec(m);
      db.pragma('user_version = 3');
      db.close();
      const r = await cli('alerts', '--config', file, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual({ active: [], recent: [] });
    } finally {
      fs.rmSync(old, { recursive: true, force: true });
    }
  });

  it('is listed in --help, and built-ins alone load from a config with no alert keys', async () => {
    expect((await cli('--help')).out).toContain('edgewatch-agent alerts --config FILE [--json] [--since T]');
    expect(defaultAlertRules()).toHaveLength(5);
  });
});
