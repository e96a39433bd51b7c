// The single executables (scripts/build-binary.mjs, built by test/binary/build.ts before the tests)
// copied alone into an empty folder and run with a PATH that has no node and no node_modules
// anywhere: the x86-64 agent ingests generated logs, reports its status, exports a bundle that the
// x86-64 collector imports, then syncs to that collector over MQTT (the copies are absorbed); the
// arm64 agent does the same under qemu user-mode emulation, with a shorter log.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLogFile } from '../../scripts/gen-logs/write.js';
import { freePort } from '../helpers/mosquitto.js';
import { NODE_VERSION } from '../../scripts/binary-node.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(ROOT, 'dist');
const TOKEN = 'binary-test-read-token-0123';
const QEMU = '/usr/bin/qemu-aarch64';
const ARM64_LIBS = '/usr/aarch64-linux-gnu';
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-binary-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A folder holding only the copied executable; the process sees an empty PATH folder and its own HOME. */
function sandbox(name: string, binaries: string[]): { bin: string; env: NodeJS.ProcessEnv; cwd: string } {
  const base = path.join(dir, name);
  const bin = path.join(base, 'bin');
  const empty = path.join(base, 'empty-path');
  for (const d of [bin, empty, path.join(base, 'home')]) fs.mkdirSync(d, { recursive: true });
  for (const b of binaries) fs.copyFileSync(path.join(DIST, b), path.join(bin, b));
  for (const b of binaries) fs.chmodSync(path.join(bin, b), 0o755);
  return { bin, cwd: base, env: { PATH: empty, HOME: path.join(base, 'home'), LANG: 'C' } };
}

function agentConfig(base: string, device: string, sync: string): string {
  const file = path.join(base, `agent-${device}.yaml`);
  fs.writeFileSync(
    file,
    [
      `device: {id: ${device}, site: lab}`,
      'data_dir: ./data',
      'system: {enabled: false}',
      `sync: ${sync}`,
      'models:',
      '  - name: fraud',
      '    task: classification',
      '    logs: [./logs/*.jsonl]',
      '    window: 1m',
      '    baseline: {learn: {records: 2000}}',
      '',
    ].join('\n'),
  );
  return file;
}

describe('the single executables, alone in an empty folder', () => {
  let collector: ChildProcess | null = null;
  let mqttPort = 0;
  let httpPort = 0;
  const c = sandbox('collector', ['edgewatch-collector-linux-x64']);
  const collectorBin = path.join(c.bin, 'edgewatch-collector-linux-x64');

  beforeAll(async () => {
    mqttPort = await freePort();
    httpPort = await freePort();
    fs.writeFileSync(
      path.join(c.cwd, 'collector.yaml'),
      [
        'data_dir: ./data',
        `mqtt: {listen: "127.0.0.1:${mqttPort}", allow_anonymous: true}`,
        `http: {listen: "127.0.0.1:${httpPort}", tokens: [{name: t, token: "${TOKEN}", role: read}]}`,
        '',
      ].join('\n'),
    );
    collector = spawn(collectorBin, ['run', '--config', 'collector.yaml'], { cwd: c.cwd, env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    collector.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    collector.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const deadline = Date.now() + 20_000;
    while (!out.includes('collector started')) {
      if (Date.now() > deadline || collector.exitCode !== null) throw new Error(`the collector executable did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(() => {
    collector?.kill('SIGTERM');
  });

  const api = async (route: string): Promise<Record<string, unknown>> => {
    const r = await fetch(`http://127.0.0.1:${httpPort}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    return (await r.json()) as Record<string, unknown>;
  };
  const deviceRow = async (id: string) => ((await api('/api/devices')).devices as Array<{ id: string; summaries: number; last_seq: number }>).find((d) => d.id === id);

  /** The agent's whole round: ingest, status, export, import at the collector, sync (absorbed). */
  async function roundTrip(device: string, run: (args: string[], env: NodeJS.ProcessEnv, cwd: string) => string, records: number): Promise<void> {
    const a = sandbox(device, []);
    writeLogFile(path.join(a.cwd, 'logs', 'app.jsonl'), { seed: 7, records, rate: 100, arrivals: 'even' });
    expect(run(['--version'], a.env, a.cwd).trim()).toMatch(new RegExp(`^${pkg.version.replaceAll('.', '\\.')} \\([0-9a-f]{7,}|unknown\\)$`));

    // Ingest and close every window, no sync: the outbox keeps the summaries.
    const manual = agentConfig(a.cwd, device, '{mode: manual}');
    run(['run', '--config', manual, '--once'], a.env, a.cwd);
    const status = JSON.parse(run(['status', '--config', manual, '--json'], a.env, a.cwd)) as {
      models: { fraud: { accepted: number; rejected: number; windows_closed: number } };
      sync: { outbox: { messages: number } };
    };
    const windows = Math.ceil(records / 100 / 60);
    expect(status.models.fraud).toMatchObject({ accepted: records, rejected: 0, windows_closed: windows });
    // A summary per window and the learned baseline.
    expect(status.sync.outbox.messages).toBe(windows + 1);

    // The bundle goes to the collector by file...
    const bundle = path.join(a.cwd, 'outbox.ewb');
    run(['export', '--config', manual, '--out', bundle], a.env, a.cwd);
    const imported = execFileSync(collectorBin, ['import', bundle, '--config', 'collector.yaml'], { cwd: c.cwd, env: c.env, encoding: 'utf8' });
    expect(imported).toMatch(new RegExp(`${windows + 1} messages, ${windows + 1} stored, 0 duplicate, 0 refused`));
    expect(await deviceRow(device)).toMatchObject({ summaries: windows, last_seq: windows + 1 });

    // ...and the same messages again over MQTT (export left them in the outbox): nothing doubles.
    const mqtt = agentConfig(a.cwd, device, `{mode: continuous, url: "mqtt://127.0.0.1:${mqttPort}"}`);
    run(['run', '--config', mqtt, '--once'], a.env, a.cwd);
    const after = JSON.parse(run(['status', '--config', mqtt, '--json'], a.env, a.cwd)) as { sync: { outbox: { messages: number; delivered: number } } };
    expect(after.sync.outbox).toMatchObject({ messages: 0, delivered: windows + 1 });
    expect(await deviceRow(device)).toMatchObject({ summaries: windows });
    const collectorStatus = JSON.parse(execFileSync(collectorBin, ['status', '--config', 'collector.yaml', '--json'], { cwd: c.cwd, env: c.env, encoding: 'utf8' })) as { duplicates: number };
    expect(collectorStatus.duplicates).toBeGreaterThanOrEqual(windows + 1);
  }

  it('x86-64: ingest, status, export to the collector, sync to it; the page and the API from the collector executable', async () => {
    const a = sandbox('agent-x64', ['edgewatch-agent-linux-x64']);
    const bin = path.join(a.bin, 'edgewatch-agent-linux-x64');
    await roundTrip('edge-x64', (args, env, cwd) => execFileSync(bin, args, { env, cwd, encoding: 'utf8' }), 30_000);
    // The learned baseline came with the summaries; the page is served from inside the executable.
    expect(await api('/api/models/fraud/versions/v1/baseline')).toMatchObject({ from: 'agents' });
    const page = await fetch(`http://127.0.0.1:${httpPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<!doctype html>');
    // The SQLite addon was written once to the cache under HOME, named by its hash.
    expect(fs.readdirSync(path.join(dir, 'edge-x64', 'home', '.cache', 'edgewatch'))).toEqual([expect.stringMatching(/^better_sqlite3-[0-9a-f]{16}\.node$/)]);
  });

  it('arm64 under qemu: the same round on a shorter log', async () => {
    const a = sandbox('agent-arm64', ['edgewatch-agent-linux-arm64']);
    const bin = path.join(a.bin, 'edgewatch-agent-linux-arm64');
    expect(execFileSync('file', ['-b', bin], { encoding: 'utf8' })).toMatch(/ARM aarch64/);
    await roundTrip('edge-arm64', (args, env, cwd) => execFileSync(QEMU, ['-L', ARM64_LIBS, bin, ...args], { env, cwd, encoding: 'utf8' }), 6_000);
  });

  it('writes the addon beside the executable when HOME and the cache folders cannot be written', () => {
    const a = sandbox('agent-nohome', ['edgewatch-agent-linux-x64']);
    const bin = path.join(a.bin, 'edgewatch-agent-linux-x64');
    const cfg = agentConfig(a.cwd, 'edge-nohome', '{mode: manual}');
    fs.mkdirSync(path.join(a.cwd, 'logs'));
    fs.writeFileSync(path.join(a.cwd, 'logs', 'app.jsonl'), '');
    // A file where HOME and XDG_CACHE_HOME should be: no folder can be made under it (even by root).
    const file = path.join(a.cwd, 'not-a-folder');
    fs.writeFileSync(file, '');
    execFileSync(bin, ['run', '--config', cfg, '--once'], { env: { ...a.env, HOME: file, XDG_CACHE_HOME: file }, cwd: a.cwd });
    expect(fs.readdirSync(path.join(a.bin, '.edgewatch-cache'))).toEqual([expect.stringMatching(/^better_sqlite3-[0-9a-f]{16}\.node$/)]);
  });

  it('states its minimum glibc: 2.34 (the addon, built on Debian 12), Node itself 2.28', () => {
    const cache = path.join(ROOT, '.cache', 'binary');
    const newest = (file: string): string => {
      const versions = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).match(/GLIBC_2\.\d+/g) ?? [];
      return versions.map((v) => v.slice(6)).sort((x, y) => Number(x.split('.')[1]) - Number(y.split('.')[1])).at(-1) ?? '';
    };
    const addons = fs.readdirSync(cache).filter((f) => f.endsWith('.node'));
    expect(addons.length).toBeGreaterThanOrEqual(2);
    for (const f of addons) expect(Number(newest(path.join(cache, f)).split('.')[1])).toBeLessThanOrEqual(34);
    expect(newest(path.join(cache, `node-${NODE_VERSION}-x64`, 'bin', 'node'))).toBe('2.28');
  });
});
