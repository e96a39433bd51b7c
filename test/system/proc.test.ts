// The /proc and /sys sources against recorded trees (Telegraf testcases style): each folder under
// testdata/proc/<case>/ holds roundN/{proc,sys,statfs.json}, a case.json (times, disk paths) and an
// expected.json whose values were worked out by hand (the arithmetic is in its "notes").
// The sources keep one root for their life, so the test points a symlink at each round in turn.

import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { procSources, isWholeDisk, metricPart, DiskSource, NetworkSource, CpuSource, type FsUsage } from '../../agent/system/proc.js';
import { causeOf } from '../../agent/system/proc-read.js';
import { SourceError, type SystemSource } from '../../agent/system/source.js';

const TESTDATA = join(import.meta.dirname, 'testdata', 'proc');

const Case = z.strictObject({
  description: z.string(),
  disk_paths: z.array(z.strictObject({ name: z.string(), path: z.string() })),
  rounds: z.array(z.strictObject({ dir: z.string(), now: z.number() })).min(1),
});
const SourceExpectation = z.union([z.strictObject({ error: z.string() }), z.record(z.string(), z.number())]);
const Expected = z.object({ notes: z.record(z.string(), z.string()).optional() }).catchall(z.unknown());
const FsFake = z.record(
  z.string(),
  z.union([
    z.strictObject({ bsize: z.number(), blocks: z.number(), bfree: z.number(), bavail: z.number() }),
    z.strictObject({ error: z.string() }),
  ]),
);

const scratch = mkdtempSync(join(tmpdir(), 'edgewatch-proc-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Outcome = Record<string, number> | { error: string };

async function outcome(source: SystemSource, now: number): Promise<Outcome> {
  try {
    return Object.fromEntries(await source.sample(now));
  } catch (err) {
    expect(err).toBeInstanceOf(SourceError);
    return { error: (err as SourceError).kind };
  }
}

function expectReadings(actual: Outcome, expected: z.infer<typeof SourceExpectation>, where: string): void {
  if ('error' in expected && typeof expected.error === 'string') {
    expect(actual, where).toEqual(expected);
    return;
  }
  expect(Object.keys(actual).sort(), where).toEqual(Object.keys(expected).sort());
  for (const [name, value] of Object.entries(expected)) {
    expect((actual as Record<string, number>)[name], `${where} ${name}`).toBeCloseTo(value as number, 6);
  }
}

describe('proc sources: fixture cases', () => {
  const cases = readdirSync(TESTDATA).sort();
  it('has the cases the issue asks for', () => {
    expect(cases).toEqual(
      expect.arrayContaining(['normal-4core', 'counters-backwards', 'cpu-count-change', 'interface-appears', 'missing-files', 'garbage', 'no-thermal']),
    );
  });

  for (const name of cases) {
    it(name, async () => {
      const dir = join(TESTDATA, name);
      const spec = Case.parse(JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')));
      const expected = Expected.parse(JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')));
      const root = join(scratch, name);
      let fsFake: z.infer<typeof FsFake> = {};
      const statfs = (path: string): FsUsage => {
        const entry = fsFake[path];
        if (entry === undefined || 'error' in entry) {
          throw Object.assign(new Error(`statfs ${path}`), { code: entry?.error ?? 'ENOENT' });
        }
        return entry;
      };
      const sources = procSources({ procRoot: join(root, 'proc'), sysRoot: join(root, 'sys') }, { diskPaths: spec.disk_paths, statfs });

      for (const round of spec.rounds) {
        const roundDir = join(dir, round.dir);
        if (existsSync(root)) unlinkSync(root);
        symlinkSync(roundDir, root);
        const fsPath = join(roundDir, 'statfs.json');
        fsFake = existsSync(fsPath) ? FsFake.parse(JSON.parse(readFileSync(fsPath, 'utf8'))) : {};
        const want = z.record(z.string(), SourceExpectation).parse(expected[round.dir] ?? {});
        for (const source of sources) {
          const got = await outcome(source, round.now);
          const expectation = want[source.name];
          if (expectation !== undefined) expectReadings(got, expectation, `${name} ${round.dir} ${source.name}`);
          // Whatever a case does not check must still keep the contract's ranges.
          if (!('error' in got)) {
            for (const [metric, value] of Object.entries(got)) {
              expect(Number.isFinite(value), metric).toBe(true);
              if (/percent|^cpu\.(total|iowait|core\.)/.test(metric)) expect(value).toBeGreaterThanOrEqual(0);
              if (/percent|^cpu\.(total|iowait|core\.)/.test(metric)) expect(value).toBeLessThanOrEqual(100);
            }
          }
        }
      }
    });
  }
});

describe('proc sources: pieces', () => {
  it('makes kernel names safe between dots', () => {
    expect(metricPart('eth0.100')).toBe('eth0_100');
    expect(metricPart('Package id 0')).toBe('Package_id_0');
    expect(metricPart('CPU-therm')).toBe('CPU-therm');
    expect(metricPart('')).toBe('_');
  });

  it('tells whole disks from partitions and memory devices', () => {
    for (const d of ['sda', 'vdb', 'xvda', 'nvme0n1', 'mmcblk0', 'mmcblk1', 'dm-0', 'md0']) expect(isWholeDisk(d), d).toBe(true);
    for (const d of ['sda1', 'vda15', 'xvda1', 'nvme0n1p1', 'mmcblk0p12', 'mmcblk0boot1', 'mmcblk0rpmb', 'loop7', 'ram0', 'zram0', 'md0p1']) {
      expect(isWholeDisk(d), d).toBe(false);
    }
  });

  it('maps errno codes to causes', () => {
    expect(causeOf({ code: 'ENOENT' })).toBe('missing');
    expect(causeOf({ code: 'ENOTDIR' })).toBe('missing');
    expect(causeOf({ code: 'EACCES' })).toBe('permission');
    expect(causeOf({ code: 'EPERM' })).toBe('permission');
    expect(causeOf({ code: 'EIO' })).toBe('failed');
    expect(causeOf(new Error('x'))).toBe('failed');
  });

  it('refuses disk path names that are not one safe part, repeat, or clash with io', () => {
    const env = { procRoot: '/proc' };
    expect(() => new DiskSource(env, { paths: [{ name: 'data dir', path: '/' }] })).toThrow(/data_dir/);
    expect(() => new DiskSource(env, { paths: [{ name: 'io', path: '/' }] })).toThrow(/io/);
    expect(() => new DiskSource(env, { paths: [{ name: 'a', path: '/' }, { name: 'a', path: '/tmp' }] })).toThrow(/twice/);
  });

  it('gives no rates when the clock did not move forward, and measures from that round next', async () => {
    const dir = join(TESTDATA, 'interface-appears');
    const root = join(scratch, 'clock');
    const network = new NetworkSource({ procRoot: join(root, 'proc') });
    symlinkSync(join(dir, 'round1'), root);
    await network.sample(5_000);
    unlinkSync(root);
    symlinkSync(join(dir, 'round2'), root);
    expect(await network.sample(5_000)).toEqual(new Map());
    unlinkSync(root);
    symlinkSync(join(dir, 'round3'), root);
    expect((await network.sample(10_000)).get('network.eth0.rx_bytes_per_s')).toBeCloseTo(2000, 6);
  });

  it('keeps the last good reading as the base after a failed round', async () => {
    const dir = join(TESTDATA, 'counters-backwards');
    const root = join(scratch, 'failed-round');
    const cpu = new CpuSource({ procRoot: join(root, 'proc') });
    symlinkSync(join(dir, 'round2'), root);
    await cpu.sample(0);
    unlinkSync(root);
    symlinkSync(join(TESTDATA, 'missing-files', 'round1'), root);
    await expect(cpu.sample(1)).rejects.toMatchObject({ kind: 'missing' });
    unlinkSync(root);
    symlinkSync(join(dir, 'round3'), root);
    expect((await cpu.sample(2)).get('cpu.total')).toBeCloseTo(36.25, 6);
  });
});
