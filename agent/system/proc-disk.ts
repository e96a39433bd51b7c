// Disk: usage of the filesystems holding the agent's data dir and the configured mounts (statfs),
// and read/write rates of whole block devices from <proc>/diskstats deltas.
// Promise: a device whose counters went backwards, or that just appeared, has no rate that round.

import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { counter, fileError, guardRound, metricPart, ratesPerSecond, readProcFile } from './proc-read.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

/** The fields of statfs(2) the usage needs; `fs.statfsSync` gives them, tests give fakes. */
export interface FsUsage {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface DiskPath {
  /** One metric name part: `disk.<name>.used`. */
  name: string;
  path: string;
}

export interface DiskSourceOptions {
  paths: readonly DiskPath[];
  /** statfs(2) of a path; `fs.statfsSync` unless a test injects one. Throws an errno error. */
  statfs?: (path: string) => FsUsage;
}

/** diskstats counts in 512-byte sectors whatever the device's own sector size. */
const SECTOR_BYTES = 512;

/**
 * Whole devices only: a partition's I/O is already in its disk's counters, and loop, ram and zram
 * devices are memory or files, not storage. eMMC boot areas (mmcblk0boot0) and the RPMB partition
 * see no ordinary I/O.
 */
export function isWholeDisk(name: string): boolean {
  if (/^(loop|ram|zram)\d+$/.test(name)) return false;
  if (/^(sd|hd|vd|xvd)[a-z]+\d+$/.test(name)) return false; // sda1, vdb2, xvda1
  if (/\dp\d+$/.test(name)) return false; // nvme0n1p1, mmcblk0p1, md0p1, nbd0p1
  if (/^mmcblk\d+(boot\d+|rpmb)$/.test(name)) return false;
  return true;
}

/** Sectors read and written per whole device. */
export function parseDiskstats(text: string, path: string): Map<string, [number, number]> {
  const devices = new Map<string, [number, number]>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parts = line.trim().split(/\s+/);
    // major minor name reads merged sectors_read ms_reading writes merged sectors_written ...
    if (parts.length < 10) throw new SourceError('parse', `${path}: short line ${JSON.stringify(line.slice(0, 80))}`);
    const name = parts[2] as string;
    if (!isWholeDisk(name)) continue;
    devices.set(name, [counter(parts[5], `${path} ${name} sectors read`), counter(parts[9], `${path} ${name} sectors written`)]);
  }
  return devices;
}

export class DiskSource implements SystemSource {
  readonly name = 'disk';
  private readonly diskstatsPath: string;
  private readonly paths: readonly DiskPath[];
  private readonly statfs: (path: string) => FsUsage;
  private previous: { at: number; devices: Map<string, [number, number]> } | undefined;

  /** Throws (at start, not per round) when two paths share a name or a name would clash with `io`. */
  constructor(env: Pick<SourceEnv, 'procRoot'>, options: DiskSourceOptions) {
    this.diskstatsPath = join(env.procRoot, 'diskstats');
    const seen = new Set<string>();
    for (const { name } of options.paths) {
      const part = metricPart(name);
      if (part !== name) throw new Error(`disk path name ${JSON.stringify(name)}: use only A-Z a-z 0-9 _ - (e.g. ${JSON.stringify(part)})`);
      if (name === 'io') throw new Error('disk path name "io" is taken by the I/O rates (disk.io.<device>)');
      if (seen.has(name)) throw new Error(`disk path name ${JSON.stringify(name)} is used twice`);
      seen.add(name);
    }
    this.paths = options.paths.map((p) => ({ ...p }));
    this.statfs = options.statfs ?? ((path) => statfsSync(path));
  }

  sample(now: number): Promise<Readings> {
    return guardRound(this.name, () => this.round(now));
  }

  private round(now: number): Readings {
    const readings: Readings = new Map();
    for (const { name, path } of this.paths) {
      let fs: FsUsage;
      try {
        fs = this.statfs(path);
      } catch (err) {
        throw fileError(path, err);
      }
      // As df(1): "free" is what an unprivileged writer may still use (bavail), and the percentage
      // leaves out the blocks reserved for root, so it reaches 100 when such a writer is full.
      const used = (fs.blocks - fs.bfree) * fs.bsize;
      const free = fs.bavail * fs.bsize;
      readings.set(`disk.${name}.total`, fs.blocks * fs.bsize);
      readings.set(`disk.${name}.used`, used);
      readings.set(`disk.${name}.free`, free);
      if (used + free > 0) readings.set(`disk.${name}.used_percent`, (used / (used + free)) * 100);
    }

    const devices = parseDiskstats(readProcFile(this.diskstatsPath), this.diskstatsPath);
    const previous = this.previous;
    this.previous = { at: now, devices };
    if (previous === undefined) return readings;
    const seconds = (now - previous.at) / 1000;
    for (const [device, sectors] of devices) {
      const before = previous.devices.get(device);
      const rates = before === undefined ? undefined : ratesPerSecond(before, sectors, seconds);
      if (rates === undefined) continue;
      const part = metricPart(device);
      readings.set(`disk.io.${part}.read_bytes_per_s`, (rates[0] as number) * SECTOR_BYTES);
      readings.set(`disk.io.${part}.write_bytes_per_s`, (rates[1] as number) * SECTOR_BYTES);
    }
    return readings;
  }
}
