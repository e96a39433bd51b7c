// Network: bytes, errors and drops per second per interface (except loopback) from <proc>/net/dev
// deltas. Promise: an interface that just appeared, or whose counters went backwards (driver
// reload, 32-bit wrap), has no rate that round; the next round measures from this one.

import { join } from 'node:path';
import { counter, guardRound, metricPart, ratesPerSecond, readProcFile } from './proc-read.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

/** [rx bytes, tx bytes, rx errs, tx errs, rx drop, tx drop] per interface. */
export function parseNetDev(text: string, path: string): Map<string, number[]> {
  const interfaces = new Map<string, number[]>();
  const lines = text.split('\n');
  if (!(lines[0] ?? '').includes('|')) throw new SourceError('parse', `${path}: no header`);
  for (const line of lines.slice(2)) {
    if (line.trim() === '') continue;
    // Old kernels run a long byte count into the name ("eth0:123456789"), so split on the colon.
    const colon = line.indexOf(':');
    if (colon < 0) throw new SourceError('parse', `${path}: no "name:" in ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    if (fields.length < 16) throw new SourceError('parse', `${path}: short line for ${name}`);
    const c = (i: number, what: string): number => counter(fields[i], `${path} ${name} ${what}`);
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    interfaces.set(name, [
      c(0, 'rx bytes'),
      c(8, 'tx bytes'),
      c(2, 'rx errs'),
      c(10, 'tx errs'),
      c(3, 'rx drop'),
      c(11, 'tx drop'),
    ]);
  }
  return interfaces;
}

export class NetworkSource implements SystemSource {
  readonly name = 'network';
  private readonly path: string;
  private previous: { at: number; interfaces: Map<string, number[]> } | undefined;

  constructor(env: Pick<SourceEnv, 'procRoot'>) {
    this.path = join(env.procRoot, 'net', 'dev');
  }

  sample(now: number): Promise<Readings> {
    return guardRound(this.name, () => this.round(now));
  }

  private round(now: number): Readings {
    const interfaces = parseNetDev(readProcFile(this.path), this.path);
    interfaces.delete('lo');
    const readings: Readings = new Map();
    const previous = this.previous;
    this.previous = { at: now, interfaces };
    if (previous === undefined) return readings;
    const seconds = (now - previous.at) / 1000;
    for (const [name, counters] of interfaces) {
      const before = previous.interfaces.get(name);
      const rates = before === undefined ? undefined : ratesPerSecond(before, counters, seconds);
      if (rates === undefined) continue;
      const part = metricPart(name);
      readings.set(`network.${part}.rx_bytes_per_s`, rates[0] as number);
      readings.set(`network.${part}.tx_bytes_per_s`, rates[1] as number);
      readings.set(`network.${part}.errors_per_s`, (rates[2] as number) + (rates[3] as number));
      readings.set(`network.${part}.drops_per_s`, (rates[4] as number) + (rates[5] as number));
    }
    return readings;
  }
}
