// The /proc and /sys sources against the machine running the tests: readings in their ranges, and
// what one round of all five costs (printed, for the docs; not asserted, machines differ).

import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { procSources } from '../../agent/system/proc.js';
import { DEFAULT_SOURCE_ENV, SourceError, type Readings, type SystemSource } from '../../agent/system/source.js';

const diskPaths = [
  { name: 'root', path: '/' },
  { name: 'tmp', path: tmpdir() },
];

async function sampleAll(sources: SystemSource[], now: number): Promise<Map<string, Readings | SourceError>> {
  const out = new Map<string, Readings | SourceError>();
  for (const source of sources) {
    try {
      out.set(source.name, await source.sample(now));
    } catch (err) {
      expect(err).toBeInstanceOf(SourceError);
      out.set(source.name, err as SourceError);
    }
  }
  return out;
}

function readings(round: Map<string, Readings | SourceError>, name: string): Readings {
  const r = round.get(name);
  if (!(r instanceof Map)) throw new Error(`${name} failed on this machine: ${String(r)}`);
  return r;
}

describe.runIf(process.platform === 'linux')('proc sources on this machine', () => {
  it('gives plausible readings', async () => {
    const sources = procSources(DEFAULT_SOURCE_ENV, { diskPaths });
    await sampleAll(sources, Date.now());
    // Enough time for the jiffies (10 ms each) to move on a 1-core box.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const round = await sampleAll(sources, Date.now());

    const cpu = readings(round, 'cpu');
    expect(cpu.get('cpu.cores')).toBeGreaterThanOrEqual(1);
    expect(cpu.has('cpu.total')).toBe(true);
    for (const [name, value] of cpu) {
      if (name.startsWith('load.')) expect(value).toBeGreaterThanOrEqual(0);
      else if (name !== 'cpu.cores') expect(value, name).toBeGreaterThanOrEqual(0), expect(value, name).toBeLessThanOrEqual(100);
    }

    const memory = readings(round, 'memory');
    expect(memory.get('memory.total')).toBeGreaterThan(0);
    expect(memory.get('memory.used')).toBeLessThanOrEqual(memory.get('memory.total') as number);
    expect(memory.get('memory.used_percent')).toBeGreaterThan(0);
    expect(memory.get('memory.used_percent')).toBeLessThan(100);

    const disk = readings(round, 'disk');
    expect(disk.get('disk.root.total')).toBeGreaterThan(0);
    expect(disk.get('disk.root.used_percent')).toBeGreaterThanOrEqual(0);
    expect(disk.get('disk.root.used_percent')).toBeLessThanOrEqual(100);
    for (const [name, value] of disk) expect(value, name).toBeGreaterThanOrEqual(0);

    const network = readings(round, 'network');
    for (const [name, value] of network) expect(value, name).toBeGreaterThanOrEqual(0);
    expect([...network.keys()].some((k) => k.startsWith('network.lo.'))).toBe(false);

    // Many machines (VMs, containers) expose no sensors; what is there must be a body temperature
    // for silicon, and a failure must be a SourceError (checked in sampleAll).
    const temperature = round.get('temperature');
    if (temperature instanceof Map) {
      for (const [name, value] of temperature) expect(value, name).toBeGreaterThan(-60), expect(value, name).toBeLessThan(150);
    }
  });

  it('costs little per round (median of 200 rounds of all five sources)', async () => {
    const sources = procSources(DEFAULT_SOURCE_ENV, { diskPaths });
    const rounds: number[] = [];
    const perSource = new Map<string, number[]>(sources.map((s) => [s.name, []]));
    for (let i = 0; i < 220; i++) {
      const start = performance.now();
      for (const source of sources) {
        const t = performance.now();
        await source.sample(Date.now()).catch(() => undefined);
        if (i >= 20) perSource.get(source.name)?.push(performance.now() - t);
      }
      if (i >= 20) rounds.push(performance.now() - start); // the first 20 warm the JIT and caches
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const parts = [...perSource].map(([name, xs]) => `${name} ${median(xs).toFixed(3)}`).join(', ');
    console.log(`proc sources: one round of all five, median of ${rounds.length}: ${median(rounds).toFixed(3)} ms (${parts} ms)`);
    expect(median(rounds)).toBeLessThan(50);
  });
});
