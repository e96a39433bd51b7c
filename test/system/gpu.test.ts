// Fixture cases as folders: each test/system/testdata/gpu/<case>/ holds a fake `nvidia-smi` and/or
// `tegrastats` (a shell script printing the output.txt beside it, or hanging, or failing as the real
// tool does) and an expected.json. One loop runs the gpu source on each case with PATH holding only
// the case folder and a folder of `cat` and `sleep` links, so a real tool on the test machine is
// never found. Every script records its pid; after each case none of them may still be running.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../agent/system/exec.js';
import { gpuSource } from '../../agent/system/gpu.js';
import { DEFAULT_SOURCE_ENV, SourceError, type SourceCause } from '../../agent/system/source.js';

const DATA = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'gpu');
const CASES = fs.readdirSync(DATA).filter((d) => fs.existsSync(path.join(DATA, d, 'expected.json')));
const TOOLS = ['nvidia-smi', 'tegrastats'];
const TIMEOUT_MS = 2_000;

interface Expected {
  /** The tool the gpu source should have picked. */
  tool?: 'nvidia-smi' | 'tegrastats';
  /** All readings of every round, exactly. */
  readings?: Record<string, number>;
  error?: SourceCause;
  /** The round must settle within this many ms. */
  withinMs?: number;
  rounds?: number;
  /** Lines the script wrote to its `calls` file over all rounds. */
  calls?: number;
}

/** Running, as opposed to gone or a zombie waiting for a parent that is not us. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function expectAllGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (pids.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pids.filter(running), 'processes left running').toEqual([]);
}

function readPids(dir: string): number[] {
  const file = path.join(dir, 'pids');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number);
}

let work: string;
let bin: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-gpu-'));
  bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['cat', 'sleep']) {
    const found = await findOnPath(tool, process.env['PATH'] ?? '/usr/bin:/bin');
    if (found === 'missing' || found === 'permission') throw new Error(`${tool} is needed by the fake tools`);
    fs.symlinkSync(found, path.join(bin, tool));
  }
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('gpu source fixture cases', () => {
  it('has cases', () => expect(CASES.length).toBeGreaterThanOrEqual(10));

  for (const name of CASES) {
    it(name, async () => {
      const dir = path.join(work, name);
      fs.cpSync(path.join(DATA, name), dir, { recursive: true });
      // The executable bit may not survive a checkout; the scripts are meant to be executable.
      for (const tool of TOOLS) if (fs.existsSync(path.join(dir, tool))) fs.chmodSync(path.join(dir, tool), 0o755);
      const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
      const source = gpuSource({ ...DEFAULT_SOURCE_ENV, path: `${dir}:${bin}`, timeoutMs: TIMEOUT_MS });
      try {
        for (let round = 0; round < (expected.rounds ?? 1); round++) {
          const started = performance.now();
          const outcome = await source.sample(Date.now()).then(
            (readings) => ({ readings }),
            (error: unknown) => ({ error }),
          );
          const elapsed = performance.now() - started;
          if (expected.withinMs !== undefined) expect(elapsed).toBeLessThan(expected.withinMs);
          if (expected.error) {
            expect('error' in outcome, `expected ${expected.error}, got readings`).toBe(true);
            const error = (outcome as { error: unknown }).error;
            expect(error).toBeInstanceOf(SourceError);
            expect((error as SourceError).kind).toBe(expected.error);
          } else {
            if ('error' in outcome) throw outcome.error;
            expect(Object.fromEntries(outcome.readings)).toEqual(expected.readings);
            for (const value of outcome.readings.values()) expect(Number.isFinite(value)).toBe(true);
          }
          expect(source.tool).toBe(expected.tool);
        }
        if (expected.calls !== undefined) {
          const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter((l) => l !== '');
          expect(calls).toHaveLength(expected.calls);
        }
        await expectAllGone(readPids(dir));
      } finally {
        source.close();
      }
    });
  }
});
