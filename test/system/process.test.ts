import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isNamed } from '../../agent/system/process-find.js';
import { parseStat, parseVmRssBytes } from '../../agent/system/process-stat.js';
import { ProcessSource, type ProcessWatch } from '../../agent/system/process.js';
import { DEFAULT_SOURCE_ENV, SourceError, type Readings } from '../../agent/system/source.js';
import { repoPath, runUnprivileged } from '../helpers/unprivileged.js';

const CASES = join(dirname(fileURLToPath(import.meta.url)), 'testdata/process');

interface FixtureCase {
  about: string;
  watches: ProcessWatch[];
  expected: Record<string, number>[];
}

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function tempRoot(): string {
  const t = mkdtempSync(join(os.tmpdir(), 'ew-process-'));
  temps.push(t);
  return t;
}

/** Makes `root` hold exactly one round's proc/, sys/ and run/ (the source keeps its paths). */
function stage(root: string, roundDir: string): void {
  for (const entry of readdirSync(root)) rmSync(join(root, entry), { recursive: true, force: true });
  cpSync(roundDir, root, { recursive: true });
}

function sourceAt(root: string, watches: readonly ProcessWatch[]): ProcessSource {
  const rooted = watches.map((w) =>
    'pid_file' in w.match && !isAbsolute(w.match.pid_file) ? { ...w, match: { pid_file: join(root, w.match.pid_file) } } : w,
  );
  return new ProcessSource({ procRoot: join(root, 'proc'), sysRoot: join(root, 'sys') }, rooted);
}

function expectReadings(got: Readings, want: Record<string, number>): void {
  expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [key, value] of Object.entries(want)) {
    expect(got.get(key), key).toBeCloseTo(value, 9);
  }
}

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe('process source on recorded /proc trees', () => {
  const names = readdirSync(CASES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(CASES, d.name, 'case.json')))
    .map((d) => d.name);

  it('has the cases the issue asks for', () => {
    expect(names).toEqual(expect.arrayContaining(['by-name', 'by-pid-file', 'by-cgroup', 'restart', 'pid-reused', 'down', 'comm-truncated']));
  });

  for (const name of names) {
    const fixture = JSON.parse(readFileSync(join(CASES, name, 'case.json'), 'utf8')) as FixtureCase;
    it(`${name}: ${fixture.about}`, async () => {
      const root = tempRoot();
      const source = sourceAt(root, fixture.watches);
      for (const [i, want] of fixture.expected.entries()) {
        stage(root, join(CASES, name, `round${i + 1}`));
        const got = await source.sample(Date.UTC(2024, 2, 1) + i * 10_000);
        expectReadings(got, want);
      }
    });
  }
});

describe('process source faults', () => {
  it('rejects with "missing" when the /proc root is not there', async () => {
    const source = new ProcessSource({ procRoot: '/nonexistent/proc', sysRoot: '/nonexistent/sys' }, []);
    expect((await rejection(source.sample(0))).kind).toBe('missing');
  });

  it('rejects with "parse" naming a pid file that holds no pid', async () => {
    const root = tempRoot();
    stage(root, join(CASES, 'by-pid-file/round1'));
    writeFileSync(join(root, 'run/detector.pid'), 'detector running\n');
    const err = await rejection(sourceAt(root, [{ name: 'detector', match: { pid_file: 'run/detector.pid' } }]).sample(0));
    expect(err.kind).toBe('parse');
    expect(err.message).toContain('detector.pid');
  });

  it('an empty pid file (the server is writing it) is down, not an error', async () => {
    const root = tempRoot();
    stage(root, join(CASES, 'by-pid-file/round1'));
    writeFileSync(join(root, 'run/detector.pid'), '');
    const got = await sourceAt(root, [{ name: 'detector', match: { pid_file: 'run/detector.pid' } }]).sample(0);
    expectReadings(got, { 'process.detector.up': 0, 'process.detector.restarts': 0 });
  });

  it('rejects with "permission" when the pid file may not be read', async () => {
    const root = tempRoot();
    stage(root, join(CASES, 'by-pid-file/round1'));
    const { chmodSync } = await import('node:fs');
    chmodSync(root, 0o755);
    chmodSync(join(root, 'run/detector.pid'), 0o000);
    // Root reads any file; the check runs as user nobody in a child process.
    const kind = await runUnprivileged(`
      const { ProcessSource } = await import(${repoPath('agent/system/process.ts')});
      const source = new ProcessSource({ procRoot: ${JSON.stringify(join(root, 'proc'))}, sysRoot: ${JSON.stringify(join(root, 'sys'))} },
        [{ name: 'detector', match: { pid_file: ${JSON.stringify(join(root, 'run/detector.pid'))} } }]);
      try { await source.sample(0); console.log('no error'); } catch (e) { console.log(e.kind); }`);
    expect(kind.trim()).toBe('permission');
  });

  it('refuses at construction two watches with one metric name, and a unit name that is a path', () => {
    const env = { procRoot: '/proc', sysRoot: '/sys' };
    expect(() => new ProcessSource(env, [
      { name: 'a', match: { process_name: 'x' } },
      { name: 'a', match: { process_name: 'y' } },
    ])).toThrow(/same metric name/);
    expect(() => new ProcessSource(env, [{ name: 'a', match: { systemd_unit: '../../etc' } }])).toThrow(/not a unit name/);
  });
});

describe('reading /proc files', () => {
  it('parses a stat line whose comm holds spaces and parentheses', () => {
    const line = '4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 10 0 0 0 123 45 0 0 20 0 7 0 98765 1000 50 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
    expect(parseStat(line)).toEqual({ pid: 4242, comm: 'my (odd) app', state: 'S', cpuTicks: 168, threads: 7, startTicks: 98765 });
    expect(parseStat('4242 (cut')).toBeNull();
    expect(parseStat('4242 (x) S 1 2')).toBeNull();
  });

  it('takes VmRSS in kB as bytes, and none for a kernel thread', () => {
    expect(parseVmRssBytes('Name:\tx\nVmRSS:\t    1748 kB\nThreads:\t1\n')).toBe(1748 * 1024);
    expect(parseVmRssBytes('Name:\tkworker/0:1\nThreads:\t1\n')).toBeNull();
  });

  it('matches a long name on argv[0] only when comm was cut at 15 bytes', () => {
    const argv = (a: string) => () => `${a}\0--flag\0`;
    expect(isNamed('tritonserver', 'tritonserver', argv('x'))).toBe(true);
    expect(isNamed('nvidia-inference-server', 'nvidia-inferenc', argv('/opt/bin/nvidia-inference-server'))).toBe(true);
    expect(isNamed('nvidia-inference-server', 'nvidia-inferenc', argv('/opt/bin/nvidia-inference-helper'))).toBe(false);
    expect(isNamed('nvidia-inference-server', 'nvidia-inferenc', () => null)).toBe(false);
    // a short comm that happens to prefix the name is another program
    expect(isNamed('tritonserver', 'triton', argv('/bin/tritonserver'))).toBe(false);
  });
});

describe('process source on this machine', () => {
  it('watches the test runner through a pid file with plausible values', async () => {
    const dir = tempRoot();
    const pidFile = join(dir, 'runner.pid');
    mkdirSync(dir, { recursive: true });
    writeFileSync(pidFile, `${process.pid}\n`);
    const source = new ProcessSource(DEFAULT_SOURCE_ENV, [{ name: 'runner', match: { pid_file: pidFile } }]);

    const first = await source.sample(Date.now());
    expect(first.get('process.runner.up')).toBe(1);
    expect(first.has('process.runner.cpu')).toBe(false);

    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    let x = 0;
    while (performance.now() - wallBefore < 500) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const second = await source.sample(Date.now());
    const wallSeconds = (performance.now() - wallBefore) / 1000;
    const used = process.cpuUsage(cpuBefore);
    const ownPercent = ((used.user + used.system) / 1e6 / wallSeconds) * 100;

    expect(second.get('process.runner.up')).toBe(1);
    expect(second.get('process.runner.restarts')).toBe(0);
    // A busy loop: how much of a core it gets depends on the machine's load, but the source must
    // agree with what Node itself counted, within the 10 ms granularity of ticks and of /proc/uptime
    // over ~0.5 s (2 % each) plus slack for the reads in between.
    const cpu = second.get('process.runner.cpu') ?? NaN;
    expect(cpu).toBeGreaterThan(0);
    expect(cpu).toBeLessThan(100 * os.availableParallelism() + 10);
    expect(Math.abs(cpu - ownPercent), `source ${cpu} %, Node ${ownPercent} %`).toBeLessThan(15);
    const rss = second.get('process.runner.rss') ?? NaN;
    expect(rss).toBeGreaterThan(10 * 2 ** 20);
    expect(Math.abs(rss - process.memoryUsage().rss)).toBeLessThan(64 * 2 ** 20);
    expect(second.get('process.runner.threads')).toBeGreaterThanOrEqual(2);
    // starttime in ticks of 100 Hz agrees with Node's own idea of how long it has run
    expect(Math.abs((second.get('process.runner.uptime') ?? NaN) - process.uptime())).toBeLessThan(1.5);
  });
});
