// System sampling through the running agent: rounds taken on the event loop from a fake /proc and a
// fake nvidia-smi land in the windows of their time, are stored with them, feed `system.*` alert
// rules and `status`; a window holding only system rounds closes by the wall clock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../agent/cli/main.js';
import type { AgentConfig, AlertRuleConfig } from '../../agent/config/types.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { Agent } from '../../agent/runtime/index.js';
import { readStatus } from '../../agent/runtime/status.js';
import { DEFAULT_SYSTEM, testConfig, testModel } from '../helpers/config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROC_CASE = path.join(here, 'testdata', 'proc', 'normal-4core', 'round1');
const GPU_CASE = path.join(here, 'testdata', 'gpu', 'nvidia-one-h100');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-agent-system-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;

function setup(name: string, rules: AlertRuleConfig[] = []) {
  const dir = path.join(root, name);
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const bin = path.join(dir, 'bin');
  fs.cpSync(GPU_CASE, bin, { recursive: true });
  fs.chmodSync(path.join(bin, 'nvidia-smi'), 0o755);
  const base = testConfig(path.join(dir, 'data'), [testModel({ logs: [path.join(logs, '*.jsonl')] })]);
  const config: AgentConfig = {
    ...base,
    system: { ...DEFAULT_SYSTEM, interval_ms: 1_000, proc_root: path.join(PROC_CASE, 'proc'), sys_root: path.join(PROC_CASE, 'sys') },
    alerts: [...base.alerts, ...rules],
  };
  let clock = T0;
  const agent = Agent.open(config, { now: () => clock, systemEnv: { path: `${bin}:/bin:/usr/bin` } });
  return {
    agent,
    config,
    write: (lines: string[]) => fs.appendFileSync(path.join(logs, 'app.jsonl'), lines.map((l) => l + '\n').join('')),
    setClock: (t: number) => {
      clock = t;
    },
  };
}

/** Waits (real time) until the sampler has handed over `n` rounds, then folds them in. */
async function rounds(agent: Agent, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (agent.systemRoundsAccepted < n) {
    if (Date.now() > deadline) throw new Error(`${agent.systemRoundsAccepted} sampling rounds within 10 s, wanted ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  agent.step();
}

describe('system sampling in the agent', () => {
  it('folds rounds from /proc, /sys and nvidia-smi into the open window, and status shows them', async () => {
    const t = setup('fold');
    t.write([JSON.stringify({ ts: T0 + 1_000, prediction: 'a', features: { x: 1 } })]);
    t.agent.ingestAvailable();
    t.agent.startSystemSampling();
    await rounds(t.agent, 2);
    await t.agent.stopSystemSampling();
    t.agent.commit();

    const [w] = t.agent.store.loadOpenWindows('fraud');
    const sys = WindowProfile.decode(w!.profile).system;
    expect(sys.rounds).toBeGreaterThanOrEqual(2);
    // The fake machine: 4 cores, its memory, the fake H100; the agent's own health beside it.
    expect(sys.metric('cpu.cores')?.max).toBe(4);
    expect(sys.metric('memory.total')?.max).toBeGreaterThan(0);
    expect(sys.metric('gpu.count')?.max).toBe(1);
    expect(sys.metric('gpu.0.temperature')?.count).toBe(sys.rounds);
    expect(sys.metric('agent.rss')?.min).toBeGreaterThan(1e6);
    expect(sys.metric('disk.data.total')?.max).toBeGreaterThan(0);

    const status = readStatus(t.config, t.agent.store);
    expect(status.system?.metrics['gpu.0.temperature']?.max).toBe(sys.metric('gpu.0.temperature')?.max);
    const out: string[] = [];
    t.agent.shutdown();
    const yaml = path.join(root, 'fold', 'agent.yaml');
    fs.writeFileSync(yaml, `device: {id: dev-test}\ndata_dir: ./data\nmodels:\n  - name: fraud\n    task: classification\n    logs: ["./logs/*.jsonl"]\n`);
    expect(await main(['status', '--config', yaml], { out: (s) => out.push(s), err: () => undefined })).toBe(0);
    expect(out.join('\n')).toMatch(/gpu\.0\.temperature\s+\d/);
  });

  it('a window holding only system rounds closes by the wall clock; a system.* rule fires at its close', async () => {
    const rule: AlertRuleConfig = {
      name: 'gpu_hot', metric: 'system.gpu.0.temperature.max', op: '>', threshold: 30, for_ms: 0,
      severity: 'critical', labels: {}, model: null, builtin: false,
    };
    const t = setup('wall', [rule]);
    t.agent.startSystemSampling();
    await rounds(t.agent, 1);
    await t.agent.stopSystemSampling();
    t.agent.commit();
    expect(t.agent.store.loadOpenWindows('fraud')).toHaveLength(1);
    // No record ever came, so there is no watermark: the wall clock closes the window.
    t.setClock(T0 + 3 * MIN);
    t.agent.step();
    t.agent.commit();
    expect(t.agent.store.loadOpenWindows('fraud')).toHaveLength(0);
    const [closed] = t.agent.store.closedWindows('fraud');
    expect(closed?.count).toBe(0);
    const fired = t.agent.store.alerts.list({ since: 0 }).active.find((a) => a.rule === 'gpu_hot');
    expect(fired).toMatchObject({ state: 'firing', model_version: 'unknown' });
    expect(fired?.value).toBeGreaterThan(30);
    t.agent.shutdown();
  });

  it('a record for a window the wall clock closed reopens it: its readings are kept, not overwritten', () => {
    const t = setup('reopen');
    t.agent.acceptSystemRound({ at: T0 + 5_000, readings: new Map([['cpu.total', 40]]), failed: [] });
    t.agent.step();
    t.setClock(T0 + 3 * MIN);
    t.agent.step();
    t.agent.commit();
    expect(t.agent.store.closedWindows('fraud').map((w) => w.start)).toEqual([T0]);
    // The model's first record is for that minute (its log runs behind the clock): not late.
    t.write([JSON.stringify({ ts: T0 + 30_000, prediction: 'a', features: { x: 1 } })]);
    t.agent.ingestAvailable();
    t.agent.commit();
    const [w] = t.agent.store.loadOpenWindows('fraud');
    const p = WindowProfile.decode(w!.profile);
    expect({ start: p.start, count: p.count, late: p.late, rounds: p.system.rounds }).toEqual({ start: T0, count: 1, late: 0, rounds: 1 });
    expect(p.system.metric('cpu.total')?.max).toBe(40);
    expect(t.agent.store.closedWindows('fraud')).toEqual([]);
    t.agent.shutdown();
  });
});
