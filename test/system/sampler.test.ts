// The sampler: sources run concurrently; a failing one is skipped for a growing back-off, counted by
// cause and logged once per cause; anything a source throws is a failure, never a crash.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { MAX_BACKOFF_FACTOR, SourceError, SystemSampler, type Readings, type SystemRound, type SystemSource } from '../../agent/system/index.js';

const INTERVAL = 10_000;

function source(name: string, sample: (now: number) => Promise<Readings>): SystemSource & { calls: number[] } {
  const calls: number[] = [];
  return {
    name,
    calls,
    sample: (now) => {
      calls.push(now);
      return sample(now);
    },
  };
}

function sampler(sources: SystemSource[], clock: { t: number }) {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  const rounds: SystemRound[] = [];
  const s = new SystemSampler({ intervalMs: INTERVAL, sources, now: () => clock.t, log, onRound: (r) => rounds.push(r) });
  return { s, lines, rounds, log };
}

describe('system sampler', () => {
  it('merges the readings of every source into one round, and keeps only finite values', async () => {
    const clock = { t: 1_000 };
    const a = source('cpu', async () => new Map([['cpu.total', 12.5], ['cpu.bad', NaN]]));
    const b = source('memory', async () => new Map([['memory.total', 8e9]]));
    const { s } = sampler([a, b], clock);
    const r = await s.round();
    expect(r).toEqual({ at: 1_000, readings: new Map([['cpu.total', 12.5], ['memory.total', 8e9]]), failed: [] });
  });

  it('skips a failing source for interval x 2^k, counts each failure by cause and logs it once', async () => {
    const clock = { t: 0 };
    const gpu = source('gpu', async () => {
      throw new SourceError('missing', 'nvidia-smi not on PATH');
    });
    const cpu = source('cpu', async () => new Map([['cpu.total', 1]]));
    const { s, lines } = sampler([gpu, cpu], clock);
    const tries: number[] = [];
    for (let round = 0; round < 200; round++) {
      clock.t = round * INTERVAL;
      const r = await s.round();
      if (r.failed.length > 0) tries.push(round);
      expect(r.readings.get('cpu.total')).toBe(1);
    }
    // Tried at rounds 0, 1, 3, 7, 15, 31, 63, then every 32 rounds (the cap).
    expect(tries).toEqual([0, 1, 3, 7, 15, 31, 63, 95, 127, 159, 191]);
    expect(MAX_BACKOFF_FACTOR).toBe(32);
    expect(s.failures).toEqual(new Map([['gpu:missing', tries.length]]));
    expect(cpu.calls).toHaveLength(200);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; cause: string; source: string });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'info', source: 'gpu', cause: 'missing' }); // no GPU is normal
  });

  it('a source that recovers is tried every round again; a new cause is logged once more, as a warning', async () => {
    const clock = { t: 0 };
    let mode: 'ok' | 'driver' | 'weird' = 'driver';
    const gpu = source('gpu', async () => {
      if (mode === 'driver') throw new SourceError('driver', 'NVIDIA-SMI has failed');
      if (mode === 'weird') throw new TypeError('a bug in a parser');
      return new Map([['gpu.count', 1]]);
    });
    const { s, lines, log } = sampler([gpu], clock);
    await s.round();
    clock.t = INTERVAL;
    mode = 'ok';
    expect((await s.round()).readings.get('gpu.count')).toBe(1);
    clock.t = 2 * INTERVAL;
    mode = 'weird';
    expect((await s.round()).failed).toEqual(['gpu:failed']);
    clock.t = 4 * INTERVAL; // after one failure, one interval of back-off
    mode = 'driver';
    expect((await s.round()).failed).toEqual(['gpu:driver']);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; cause: string });
    expect(logged.map((l) => [l.level, l.cause])).toEqual([['warn', 'driver'], ['warn', 'failed']]);
    expect(s.failures).toEqual(new Map([['gpu:driver', 2], ['gpu:failed', 1]]));
    // Every failure counts in the agent's own health (by stage and code), though logged once per cause.
    expect(log.faults).toEqual(new Map([['system.EW_ERR_SYSTEM_SOURCE', 3]]));
  });

  it('hands rounds over on its rhythm and none after stop() resolves', async () => {
    const clock = { t: 0 };
    let release: () => void = () => {};
    const slow = source('slow', () => new Promise<Readings>((resolve) => (release = () => resolve(new Map([['x', 1]])))));
    const { s, rounds } = sampler([slow], clock);
    s.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(slow.calls).toHaveLength(1);
    const stopped = s.stop();
    release();
    await stopped;
    const seen = rounds.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(rounds.length).toBe(seen);
    expect(seen).toBe(1); // the round in flight is handed over before stop() resolves
  });
});
