// The Linux system sources: CPU, memory, disk, network and temperatures, read from /proc and /sys
// under an injectable root so tests use recorded trees. A round is a few small file reads (no
// child processes, no walks of /proc); rates come from the previous round, so the first has none.

import { CpuSource } from './proc-cpu.js';
import { DiskSource, type DiskPath, type FsUsage } from './proc-disk.js';
import { MemorySource } from './proc-memory.js';
import { NetworkSource } from './proc-network.js';
import { TemperatureSource } from './proc-temperature.js';
import type { SourceEnv, SystemSource } from './source.js';

export { CpuSource } from './proc-cpu.js';
export { DiskSource, isWholeDisk, type DiskPath, type DiskSourceOptions, type FsUsage } from './proc-disk.js';
export { MemorySource } from './proc-memory.js';
export { NetworkSource } from './proc-network.js';
export { TemperatureSource } from './proc-temperature.js';
export { metricPart } from './proc-read.js';

export interface ProcSourcesOptions {
  /** The agent's data dir and configured mounts, for `disk.<name>.*`. */
  diskPaths: readonly DiskPath[];
  /** Injected statfs(2) for tests; `fs.statfsSync` otherwise. */
  statfs?: (path: string) => FsUsage;
}

/** The five sources in the order the sampler reports them. */
export function procSources(env: Pick<SourceEnv, 'procRoot' | 'sysRoot'>, options: ProcSourcesOptions): SystemSource[] {
  return [
    new CpuSource(env),
    new MemorySource(env),
    new DiskSource(env, { paths: options.diskPaths, ...(options.statfs ? { statfs: options.statfs } : {}) }),
    new NetworkSource(env),
    new TemperatureSource(env),
  ];
}
