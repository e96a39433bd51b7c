// What the /proc and /sys sources share: reading one small kernel file into a SourceError on
// failure, making a kernel name safe between dots, and turning two counter readings into a rate.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SourceError, type SourceCause } from './source.js';

/** The SourceError kind for a failed file-system call, from its errno code. */
export function causeOf(err: unknown): SourceCause {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'permission';
  return 'failed';
}

export function fileError(path: string, err: unknown): SourceError {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? String(err);
  return new SourceError(causeOf(err), `${path}: ${code}`);
}

/**
 * Synchronous on purpose: /proc files are generated in memory by the kernel, so a blocking read
 * costs microseconds, far less than a hop through the libuv thread pool. (/sys sensor files are
 * different, see readSysFile.)
 */
export function readProcFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(path, err);
  }
}

/** Asynchronous: a hwmon driver may talk to an I2C chip and sleep for milliseconds per read. */
export async function readSysFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw fileError(path, err);
  }
}

/** A kernel name (interface, device, sensor label) as one part of a dotted metric name. */
export function metricPart(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return safe === '' ? '_' : safe;
}

/** A non-negative integer counter, or a parse error naming where it came from. */
export function counter(text: string | undefined, where: string): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new SourceError('parse', `${where}: expected a counter, got ${JSON.stringify(text ?? '')}`);
  }
  return Number(text);
}

/**
 * Per-second rates from two readings of the same counters `dtSeconds` apart, or undefined when any
 * counter went backwards (reset, 32-bit wrap, device replaced): the caller skips the round and the
 * new reading becomes the base for the next one.
 */
export function ratesPerSecond(
  previous: readonly number[],
  current: readonly number[],
  dtSeconds: number,
): number[] | undefined {
  if (previous.length !== current.length || !(dtSeconds > 0)) return undefined;
  const rates: number[] = [];
  for (let i = 0; i < current.length; i++) {
    const delta = (current[i] as number) - (previous[i] as number);
    if (delta < 0) return undefined;
    rates.push(delta / dtSeconds);
  }
  return rates;
}

/** Runs one round, turning anything that is not already a SourceError into kind 'failed'. */
export async function guardRound<T>(source: string, round: () => T | Promise<T>): Promise<T> {
  try {
    return await round();
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError('failed', `${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
