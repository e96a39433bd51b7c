// The built agent as a child process, SIGKILLed at random moments while a writer appends in
// odd-sized chunks and rotates by rename; restarted (sometimes after a pause). At the end the
// agent must have accepted exactly the good lines and rejected exactly the bad ones.
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLines } from '../../scripts/gen-logs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'dist/edgewatch-agent.js');
const SEED = Number(process.env.EW_SEED ?? 4242);
const KILLS = 24;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Status {
  models: Record<string, { accepted: number; rejected: number; rejected_by_reason: Record<string, number>; late: number }>;
  files: Array<{ path: string; offset: number; size: number; done: boolean }>;
}

describe('agent process under SIGKILL and rotation', () => {
  let dir: string;
  let configPath: string;

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-kill-'));
    fs.mkdirSync(path.join(dir, 'logs'));
    configPath = path.join(dir, 'agent.yaml');
    fs.writeFileSync(
      configPath,
      [
        'device: {id: dev-kill, site: lab}',
        'data_dir: ./data',
        'ingest: {poll_interval: 20ms, commit_records: 300, commit_interval: 100ms, rotate_wait: 200ms}',
        'models:',
        '  - name: fraud',
        '    task: classification',
        '    logs: ["./logs/app.jsonl*"]',
        '    format: jsonl',
        '    window: 60s',
      ].join('\n'),
    );
  });

  afterAll(() => {
    if (dir && !process.env.EW_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (): ChildProcess =>
    spawn(process.execPath, [BIN, 'run', '--config', configPath, '--log-level', process.env.EW_LOG_LEVEL ?? 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });

  const status = (): Status =>
    JSON.parse(execFileSync(process.execPath, [BIN, 'status', '--config', configPath, '--json'], { encoding: 'utf8' })) as Status;

  it(`counts every good and bad line exactly once across ${KILLS} SIGKILLs (seed ${SEED})`, async () => {
    const random = rng(SEED);
    const lines = [...generateLines({ seed: SEED, records: 30_000, malformedRate: 0.03, numericFeatures: 6, categoricalFeatures: 2 })];
    const good = lines.filter((l) => l.kind === 'good').length;
    const bad = lines.filter((l) => l.kind === 'bad').length;
    const badByReason: Record<string, number> = {};
    for (const l of lines) if (l.kind === 'bad' && l.reason) badByReason[l.reason] = (badByReason[l.reason] ?? 0) + 1;
    const text = Buffer.from(lines.map((l) => l.text + '\n').join(''));

    const t0 = Date.now();
    const live = path.join(dir, 'logs', 'app.jsonl');
    let agent: ChildProcess | null = start();
    let stderr = '';
    agent.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let written = 0;
    let kills = 0;
    let rotations = 0;
    let sinceRotate = 0;
    const killEvery = Math.floor(text.length / (KILLS * 1.5 + 2));
    let nextKill = killEvery;

    while (written < text.length) {
      // Odd-sized chunks cut lines anywhere, so the agent sees partial last lines.
      const size = 1 + Math.floor(random() * 9_000);
      const chunk = text.subarray(written, Math.min(text.length, written + size));
      fs.appendFileSync(live, chunk);
      written += chunk.length;
      sinceRotate += chunk.length;
      if (sinceRotate > 150_000 && chunk[chunk.length - 1] === 10) {
        fs.renameSync(live, path.join(dir, 'logs', `app.jsonl.${++rotations}`));
        sinceRotate = 0;
      }
      if (written >= nextKill && kills < KILLS) {
        nextKill += killEvery;
        if (agent) {
          const dying = agent;
          const exited = new Promise((r) => dying.once('exit', r));
          dying.kill('SIGKILL');
          await exited;
          agent = null;
          kills++;
          // Sometimes stay down while the writer goes on (and maybe rotates).
          if (random() < 0.3) continue;
          await sleep(random() * 100);
        }
        agent = start();
        agent.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      }
      await sleep(random() * 8);
    }
    if (!agent) {
      agent = start();
      agent.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    }

    const writerDone = Date.now();
    const expectedCount = good + bad;
    let s = status();
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      s = status();
      const m = s.models['fraud']!;
      if (m.accepted + m.rejected + m.late >= expectedCount && s.files.every((f) => f.done || f.offset === f.size)) break;
      await sleep(200);
    }
    if (process.env.EW_KEEP) fs.writeFileSync(path.join(dir, 'agents.log'), stderr);
    console.log(JSON.stringify({ writer_ms: writerDone - t0, catch_up_ms: Date.now() - writerDone, kills, rotations }));
    agent.kill('SIGTERM');
    const code = await new Promise((r) => agent?.once('exit', r));
    expect(code, stderr).toBe(0);

    s = status();
    const m = s.models['fraud']!;
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(rotations).toBeGreaterThanOrEqual(3);
    expect(m.late).toBe(0);
    expect(m.accepted, JSON.stringify(s, null, 1) + stderr.slice(-3000)).toBe(good);
    expect(m.rejected).toBe(bad);
    expect(m.rejected_by_reason).toEqual(badByReason);
  }, 240_000);
});
