// Memory and swap from <proc>/meminfo (kB there, bytes here). "Used" is total minus what the
// kernel says could be handed to a new program without swapping (MemAvailable), as free(1) does.

import { join } from 'node:path';
import { guardRound, readProcFile } from './proc-read.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

export function parseMeminfo(text: string, path: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([^:\s]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (match === null) throw new SourceError('parse', `${path}: unexpected line ${JSON.stringify(line.slice(0, 80))}`);
    const unit = line.trimEnd().endsWith('kB') ? 1024 : 1;
    values.set(match[1] as string, Number(match[2]) * unit);
  }
  return values;
}

export class MemorySource implements SystemSource {
  readonly name = 'memory';
  private readonly path: string;

  constructor(env: Pick<SourceEnv, 'procRoot'>) {
    this.path = join(env.procRoot, 'meminfo');
  }

  sample(_now: number): Promise<Readings> {
    return guardRound(this.name, () => this.round());
  }

  private round(): Readings {
    const info = parseMeminfo(readProcFile(this.path), this.path);
    const total = info.get('MemTotal');
    if (total === undefined || total <= 0) throw new SourceError('parse', `${this.path}: no MemTotal`);
    // Kernels before 3.14 (still found on old boards) have no MemAvailable: estimate it the way
    // free(1) did then, from free memory plus the page cache and reclaimable slab.
    const available =
      info.get('MemAvailable') ??
      (info.get('MemFree') ?? 0) + (info.get('Buffers') ?? 0) + (info.get('Cached') ?? 0) + (info.get('SReclaimable') ?? 0);
    const used = Math.max(0, total - Math.min(available, total));
    const readings: Readings = new Map([
      ['memory.total', total],
      ['memory.available', available],
      ['memory.used', used],
      ['memory.used_percent', (used / total) * 100],
    ]);
    const swapTotal = info.get('SwapTotal');
    const swapFree = info.get('SwapFree');
    if (swapTotal !== undefined && swapFree !== undefined) {
      readings.set('swap.total', swapTotal);
      readings.set('swap.used', Math.max(0, swapTotal - swapFree));
    }
    return readings;
  }
}
