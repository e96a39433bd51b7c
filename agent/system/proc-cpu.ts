// CPU busy and iowait shares from <proc>/stat deltas between rounds, and the load averages from
// <proc>/loadavg. Shares are ratios of jiffies, so they need no clock; a round whose counters went
// backwards, or whose set of online cores changed, gives no share for what it touched.

import { join } from 'node:path';
import { counter, guardRound, readProcFile } from './proc-read.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

/** Jiffies of one `cpu` line: the time counted as `total`, of which `idle` and `iowait`. */
interface CpuTimes {
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest is already inside user). */
  fields: number[];
  total: number;
  idle: number;
  iowait: number;
}

interface StatSnapshot {
  all: CpuTimes;
  cores: Map<number, CpuTimes>;
}

/** Fields counted in the total: user nice system idle iowait irq softirq steal. */
const COUNTED_FIELDS = 8;

export function parseStat(text: string, path: string): StatSnapshot {
  let all: CpuTimes | undefined;
  const cores = new Map<number, CpuTimes>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const parts = line.trim().split(/\s+/);
    const label = parts[0] as string;
    // Kernels before 2.6.11 have four fields (no iowait, irq, softirq); they count as 0.
    if (parts.length < 5) throw new SourceError('parse', `${path}: short line ${JSON.stringify(line)}`);
    const fields = parts.slice(1, 1 + COUNTED_FIELDS).map((f) => counter(f, `${path} ${label}`));
    while (fields.length < COUNTED_FIELDS) fields.push(0);
    const times: CpuTimes = {
      fields,
      total: fields.reduce((a, b) => a + b, 0),
      idle: fields[3] as number,
      iowait: fields[4] as number,
    };
    if (label === 'cpu') {
      all = times;
    } else {
      const index = label.slice(3);
      if (!/^\d+$/.test(index)) throw new SourceError('parse', `${path}: unexpected line label ${JSON.stringify(label)}`);
      cores.set(Number(index), times);
    }
  }
  if (all === undefined) throw new SourceError('parse', `${path}: no aggregate "cpu" line`);
  return { all, cores };
}

/** [busy %, iowait %] between two readings, or undefined when a counter went backwards or none moved. */
function shares(previous: CpuTimes, current: CpuTimes): [number, number] | undefined {
  for (let i = 0; i < COUNTED_FIELDS; i++) {
    if ((current.fields[i] as number) < (previous.fields[i] as number)) return undefined;
  }
  const total = current.total - previous.total;
  if (total <= 0) return undefined;
  const idle = current.idle - previous.idle;
  const iowait = current.iowait - previous.iowait;
  return [((total - idle - iowait) / total) * 100, (iowait / total) * 100];
}

export function parseLoadavg(text: string, path: string): [number, number, number] {
  const parts = text.trim().split(/\s+/);
  const loads = parts.slice(0, 3).map(Number);
  if (loads.length < 3 || parts.slice(0, 3).some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    throw new SourceError('parse', `${path}: expected three load averages, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return loads as [number, number, number];
}

export class CpuSource implements SystemSource {
  readonly name = 'cpu';
  private readonly statPath: string;
  private readonly loadavgPath: string;
  private previous: StatSnapshot | undefined;

  constructor(env: Pick<SourceEnv, 'procRoot'>) {
    this.statPath = join(env.procRoot, 'stat');
    this.loadavgPath = join(env.procRoot, 'loadavg');
  }

  sample(_now: number): Promise<Readings> {
    return guardRound(this.name, () => this.round());
  }

  private round(): Readings {
    const current = parseStat(readProcFile(this.statPath), this.statPath);
    const [load1, load5, load15] = parseLoadavg(readProcFile(this.loadavgPath), this.loadavgPath);
    const readings: Readings = new Map();
    readings.set('cpu.cores', current.cores.size);
    readings.set('load.1m', load1);
    readings.set('load.5m', load5);
    readings.set('load.15m', load15);

    const previous = this.previous;
    this.previous = current;
    if (previous === undefined) return readings;

    // With a core gone or added the aggregate line sums a different set of cores (or, on kernels
    // that sum all possible cores, keeps an offline core's frozen counters): skip it this round.
    const sameCores =
      previous.cores.size === current.cores.size && [...current.cores.keys()].every((i) => previous.cores.has(i));
    const overall = sameCores ? shares(previous.all, current.all) : undefined;
    if (overall !== undefined) {
      readings.set('cpu.total', overall[0]);
      readings.set('cpu.iowait', overall[1]);
    }
    for (const [index, times] of current.cores) {
      const before = previous.cores.get(index);
      const core = before === undefined ? undefined : shares(before, times);
      if (core !== undefined) readings.set(`cpu.core.${index}`, core[0]);
    }
    return readings;
  }
}
