import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ContainerSource, cpuPercent, memoryUsed } from '../../agent/system/container.js';
import { SourceError, type Readings } from '../../agent/system/source.js';
import { repoPath, runUnprivileged } from '../helpers/unprivileged.js';

const API = join(dirname(fileURLToPath(import.meta.url)), 'testdata/process/docker-api');
const recorded = (file: string): string => readFileSync(join(API, file), 'utf8');

/** What the fake daemon does for one path: answer (in turn, the last one repeating) or never answer. */
type Route = { status: number; body: string }[] | 'hang';

interface FakeDaemon {
  socketPath: string;
  requests: string[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'ew-docker-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function fakeDaemon(routes: Record<string, Route>): Promise<FakeDaemon> {
  const socketPath = join(tempDir(), 'docker.sock');
  const requests: string[] = [];
  const served = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const route = routes[url];
    if (route === 'hang') return; // never answers
    if (route === undefined) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `No such container: ${decodeURIComponent(url.split('/')[2] ?? '')}` }));
      return;
    }
    const n = served.get(url) ?? 0;
    served.set(url, n + 1);
    const answer = route[Math.min(n, route.length - 1)] as { status: number; body: string };
    res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Api-Version': '1.45', Server: 'Docker/26.1.3 (linux)' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const daemon: FakeDaemon = {
    socketPath,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  cleanups.push(() => daemon.close());
  return daemon;
}

const ok = (...files: string[]) => files.map((f) => ({ status: 200, body: recorded(f) }));
const inspectPath = (name: string) => `/containers/${name}/json`;
const statsPath = (name: string) => `/containers/${name}/stats?stream=false&one-shot=true`;
const T0 = Date.parse('2024-03-01T10:00:00Z');

function source(daemon: FakeDaemon, names: string[], timeoutMs = 2_000): ContainerSource {
  const s = new ContainerSource({ timeoutMs }, names, daemon.socketPath);
  cleanups.push(() => s.close());
  return s;
}

function expectReadings(got: Readings, want: Record<string, number>): void {
  expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [key, value] of Object.entries(want)) expect(got.get(key), key).toBeCloseTo(value, 6);
}

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe('container source against a fake Docker Engine API', () => {
  it('a running, healthy container: CPU from one round to the next, memory less inactive_file', async () => {
    const daemon = await fakeDaemon({
      [inspectPath('triton')]: ok('inspect-running-healthy.json'),
      [statsPath('triton')]: ok('stats-v2-round1.json', 'stats-v2-round2.json'),
    });
    const s = source(daemon, ['triton']);
    // StartedAt 09:15:02.123456789 -> 44 min 57.877 s = 2697.877 s before 10:00:00 (Date keeps milliseconds)
    expectReadings(await s.sample(T0), {
      'container.triton.running': 1,
      'container.triton.healthy': 1,
      'container.triton.restarts': 0,
      'container.triton.uptime': 2697.877,
      'container.triton.memory': 1_800_000_000,
      'container.triton.memory_limit': 8_589_934_592,
    });
    // 5e9 ns CPU / 40e9 ns host * 4 CPUs * 100 = 50 % (see docker-api/README.md)
    expectReadings(await s.sample(T0 + 10_000), {
      'container.triton.running': 1,
      'container.triton.healthy': 1,
      'container.triton.restarts': 0,
      'container.triton.uptime': 2707.877,
      'container.triton.cpu': 50,
      'container.triton.memory': 1_850_000_000,
      'container.triton.memory_limit': 8_589_934_592,
    });
    expect(daemon.requests).toEqual([inspectPath('triton'), statsPath('triton'), inspectPath('triton'), statsPath('triton')]);
  });

  it('an unhealthy container, a restarting one (not running, no stats asked) and one that does not exist', async () => {
    const daemon = await fakeDaemon({
      [inspectPath('detector')]: ok('inspect-unhealthy.json'),
      [statsPath('detector')]: ok('stats-v2-round1.json'),
      [inspectPath('feature-store')]: ok('inspect-restarting.json'),
    });
    const got = await source(daemon, ['detector', 'feature-store', 'gone']).sample(T0);
    expectReadings(got, {
      'container.detector.running': 1,
      'container.detector.healthy': 0,
      'container.detector.restarts': 2,
      'container.detector.uptime': 600,
      'container.detector.memory': 1_800_000_000,
      'container.detector.memory_limit': 8_589_934_592,
      'container.feature-store.running': 0,
      'container.feature-store.restarts': 7,
      'container.gone.running': 0,
    });
    expect(daemon.requests).not.toContain(statsPath('feature-store'));
  });

  it('a daemon that ignored one-shot and primed precpu_stats (cgroup v1): CPU from the one answer', async () => {
    const running = JSON.parse(recorded('inspect-restarting.json')) as { State: Record<string, unknown> };
    running.State['Status'] = 'running';
    running.State['Restarting'] = false;
    const daemon = await fakeDaemon({
      [inspectPath('feature-store')]: [{ status: 200, body: JSON.stringify(running) }],
      [statsPath('feature-store')]: ok('stats-v1-primed.json'),
    });
    const got = await source(daemon, ['feature-store']).sample(Date.parse('2024-03-01T10:00:00.5Z'));
    expectReadings(got, {
      'container.feature-store.running': 1,
      'container.feature-store.restarts': 7,
      'container.feature-store.uptime': 20,
      'container.feature-store.cpu': 10,
      'container.feature-store.memory': 100_663_296,
      'container.feature-store.memory_limit': 536_870_912,
    });
  });

  it('no CPU across a container restart (another StartedAt): its counters began again', async () => {
    const restarted = JSON.parse(recorded('inspect-running-healthy.json')) as { State: Record<string, unknown> };
    restarted.State['StartedAt'] = '2024-03-01T10:00:05Z';
    const daemon = await fakeDaemon({
      [inspectPath('triton')]: [...ok('inspect-running-healthy.json'), { status: 200, body: JSON.stringify(restarted) }],
      [statsPath('triton')]: ok('stats-v2-round1.json', 'stats-v2-round2.json'),
    });
    const s = source(daemon, ['triton']);
    await s.sample(T0);
    const second = await s.sample(T0 + 10_000);
    expect(second.has('container.triton.cpu')).toBe(false);
    expect(second.get('container.triton.uptime')).toBeCloseTo(5, 6);
  });

  it('garbage JSON is "parse"', async () => {
    const daemon = await fakeDaemon({ [inspectPath('triton')]: [{ status: 200, body: '{"Id": "ba03', }] });
    const err = await rejection(source(daemon, ['triton']).sample(T0));
    expect(err.kind).toBe('parse');
    expect(err.message).toContain('/containers/triton/json');
  });

  it('a daemon error is "driver", with its message', async () => {
    const daemon = await fakeDaemon({ [inspectPath('triton')]: [{ status: 500, body: '{"message":"context deadline exceeded"}' }] });
    const err = await rejection(source(daemon, ['triton']).sample(T0));
    expect(err.kind).toBe('driver');
    expect(err.message).toContain('context deadline exceeded');
  });

  it('a daemon that never answers is "timeout" within the time limit', async () => {
    const daemon = await fakeDaemon({ [inspectPath('triton')]: 'hang' });
    const started = performance.now();
    const err = await rejection(source(daemon, ['triton'], 150).sample(T0));
    expect(err.kind).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('no socket is "missing"; a socket nobody listens on is "failed"', async () => {
    const dir = tempDir();
    const none = new ContainerSource({ timeoutMs: 500 }, ['triton'], join(dir, 'docker.sock'));
    expect((await rejection(none.sample(T0))).kind).toBe('missing');

    // dockerd killed hard: the socket file stays, nobody listens (a clean close would unlink it).
    const stalePath = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => console.log('up'))`]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
    const stale = new ContainerSource({ timeoutMs: 500 }, ['triton'], stalePath);
    const err = await rejection(stale.sample(T0));
    expect(err.kind).toBe('failed');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('a socket we may not open is "permission"', async () => {
    const daemon = await fakeDaemon({});
    chmodSync(dirname(daemon.socketPath), 0o755);
    chmodSync(daemon.socketPath, 0o000);
    // Root may connect to any socket; the check runs as user nobody in a child process.
    const kind = await runUnprivileged(`
      const { ContainerSource } = await import(${repoPath('agent/system/container.ts')});
      const source = new ContainerSource({ timeoutMs: 2000 }, ['triton'], ${JSON.stringify(daemon.socketPath)});
      try { await source.sample(0); console.log('no error'); } catch (e) { console.log(e.kind); }`);
    expect(kind.trim()).toBe('permission');
  });

  it('no containers configured: an empty round, no request', async () => {
    const daemon = await fakeDaemon({});
    expect((await source(daemon, []).sample(T0)).size).toBe(0);
    expect(daemon.requests).toEqual([]);
  });
});

describe('docker stats arithmetic', () => {
  it('memory: total_inactive_file on cgroup v1, inactive_file on v2, usage when neither is smaller', () => {
    expect(memoryUsed({ usage: 1000, stats: { total_inactive_file: 300, inactive_file: 100, cache: 500 } })).toBe(700);
    expect(memoryUsed({ usage: 1000, stats: { inactive_file: 100 } })).toBe(900);
    expect(memoryUsed({ usage: 1000, stats: { inactive_file: 5000 } })).toBe(1000);
    expect(memoryUsed({})).toBeUndefined();
  });

  it('CPU: nothing without a base; a counter that went backwards gives no reading', () => {
    const stats = (total: number, system: number) => ({ cpu_stats: { cpu_usage: { total_usage: total }, system_cpu_usage: system, online_cpus: 2 } });
    const first = cpuPercent(stats(1e9, 1e12), undefined, 'a');
    expect(first.percent).toBeUndefined();
    // 0.5e9 / 2e9 * 2 * 100 = 50
    expect(cpuPercent(stats(1.5e9, 1.002e12), first.sample, 'a').percent).toBeCloseTo(50, 9);
    expect(cpuPercent(stats(1.5e9, 1.002e12), first.sample, 'b').percent).toBeUndefined();
    expect(cpuPercent(stats(0.5e9, 1.002e12), first.sample, 'a').percent).toBeUndefined();
  });
});
