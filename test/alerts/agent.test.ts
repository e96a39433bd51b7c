// Alerts through the running agent: evaluated at each window close and, for log silence, at every
// commit on the agent's (injected) clock; stored in the same commit; continued across a restart;
// listed by `edgewatch-agent alerts`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../agent/alerts/index.js';
import { defaultAlertRules } from '../../agent/alerts/index.js';
import { main } from '../../agent/cli/main.js';
import type { AgentConfig } from '../../agent/config/types.js';
import { Agent } from '../../agent/runtime/index.js';
import { testConfig, testModel } from '../helpers/config.js';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const MIN = 60_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-agent-alerts-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function setup(name: string) {
  const dir = path.join(root, name);
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const rules = defaultAlertRules().map((r) => (r.name === 'bad_input_rate' ? { ...r, for_ms: 0 } : r));
  const config: AgentConfig = { ...testConfig(path.join(dir, 'data'), [testModel({ logs: [path.join(logs, '*.jsonl')] })]), alerts: rules };
  const file = path.join(logs, 'app.jsonl');
  let clock = T0;
  return {
    config,
    write: (lines: string[]) => fs.appendFileSync(file, lines.map((l) => l + '\n').join('')),
    open: () => Agent.open(config, { now: () => clock }),
    setClock: (t: number) => {
      clock = t;
    },
  };
}

/** `n` good records spread over the minute starting at `start`, and `bad` unparseable lines. */
function minute(start: number, n: number, bad = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(JSON.stringify({ ts: start + Math.floor((i * MIN) / n), prediction: 'a', features: { x: i % 7 } }));
  for (let i = 0; i < bad; i++) out.push('{"broken": ');
  return out;
}

function alerts(agent: Agent): Alert[] {
  return agent.store.alerts.list({ since: 0 }).active.concat(agent.store.alerts.list({ since: 0 }).recent);
}

describe('alerts in the running agent', () => {
  it('log_silence fires when no record came for 15 minutes of the injected clock, and the next record resolves it', async () => {
    const t = setup('silence');
    t.write(minute(T0, 100));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    t.setClock(T0 + 14 * MIN);
    agent.step();
    agent.commit();
    expect(alerts(agent).filter((a) => a.rule === 'log_silence')).toEqual([]);
    t.setClock(T0 + 15 * MIN + 1_000);
    agent.step();
    agent.commit();
    const fired = alerts(agent).find((a) => a.rule === 'log_silence');
    expect(fired).toMatchObject({ state: 'firing', model: 'fraud', model_version: '', severity: 'critical', firing_at: T0 + 15 * MIN + 1_000 });
    expect(fired?.value).toBeGreaterThan(900);

    // The alert is in the store, so `alerts` shows it while the agent runs.
    let out = '';
    const code = await main(['alerts', '--config', writeYaml(t.config), '--json'], { out: (s) => (out += s), err: () => undefined });
    expect(code).toBe(0);
    expect((JSON.parse(out) as { active: Alert[] }).active.map((a) => a.rule)).toContain('log_silence');

    // A restart keeps it firing (the clock has not moved), and the next record resolves it.
    agent.shutdown();
    const again = t.open();
    again.commit();
    expect(alerts(again).find((a) => a.rule === 'log_silence')?.state).toBe('firing');
    t.write(minute(T0 + 16 * MIN, 10));
    again.ingestAvailable();
    again.commit();
    const resolved = alerts(again).find((a) => a.rule === 'log_silence');
    expect(resolved).toMatchObject({ state: 'resolved', resolved_at: T0 + 15 * MIN + 1_000, id: fired?.id });
    again.shutdown();
  });

  it('an idle agent writes nothing to its disk: it commits only when silence changes an alert', () => {
    const t = setup('idle');
    t.write(minute(T0, 10));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    const store = agent.store;
    const commits: number[] = [];
    const original = store.commit.bind(store);
    store.commit = (models, now, alerts) => {
      commits.push(now);
      original(models, now, alerts);
    };
    for (let s = 1; s <= 20 * 60; s++) {
      t.setClock(T0 + s * 1_000);
      agent.step(1 << 20, s % 60 === 0);
      agent.commitIfDue();
    }
    // 180 s: the window closes (its end + lateness passed by the wall clock); 300 s: the idle file is
    // closed (its checkpoint); 901 s: log_silence fires; then its value is refreshed once a minute.
    expect(commits.map((c) => (c - T0) / 1000)).toEqual([180, 300, 901, 961, 1021, 1081, 1141]);
    expect(alerts(agent).find((a) => a.rule === 'log_silence')?.state).toBe('firing');
    agent.shutdown();
  });

  it('bad_input_rate fires at the close of a window with over 5% rejected lines and resolves at the next clean one', () => {
    const t = setup('bad-input');
    t.write(minute(T0, 90, 10)); // 10% of the lines are broken
    t.write(minute(T0 + MIN, 100));
    t.write(minute(T0 + 2 * MIN, 100));
    t.write(minute(T0 + 4 * MIN, 10)); // moves the watermark past the first windows
    t.setClock(T0 + 4 * MIN);
    const agent = t.open();
    agent.step(200, true); // a few lines at a time: the first window closes in an earlier commit
    agent.commit();
    agent.ingestAvailable();
    agent.commit();
    const rows = alerts(agent).filter((a) => a.rule === 'bad_input_rate');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'resolved', model_version: 'unknown', firing_at: T0 + MIN, resolved_at: T0 + 2 * MIN });
    expect(rows[0]?.value).toBeCloseTo(0.1, 10);
    agent.shutdown();
  });
});

/** The config as YAML for the CLI (it reads a file). */
function writeYaml(config: AgentConfig): string {
  const file = path.join(path.dirname(config.data_dir), 'agent.yaml');
  const m = config.models[0]!;
  fs.writeFileSync(file, `device: {id: dev-test}\ndata_dir: ${config.data_dir}\nmodels:\n  - name: ${m.name}\n    task: ${m.task}\n    logs: [${JSON.stringify(m.logs[0])}]\n`);
  return file;
}
