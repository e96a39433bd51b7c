// The system stage: samples the device (CPU, memory, disks, network, temperatures, GPUs, watched
// processes and containers) and the agent itself on an interval, off the ingest path. Promise: a
// source that fails is skipped with a back-off, counted by cause and logged once; it never throws.
import path from 'node:path';
import type { AgentConfig } from '../config/types.js';
import { ContainerSource } from './container.js';
import { gpuSource } from './gpu.js';
import { ProcessSource } from './process.js';
import { procSources } from './proc.js';
import { SelfSource, type AgentHealth } from './self.js';
import { DEFAULT_SOURCE_ENV, type SourceEnv, type SystemSource } from './source.js';

export { SystemSampler, MAX_BACKOFF_FACTOR, type SamplerOptions, type SystemRound } from './sampler.js';
export { SelfSource, type AgentHealth } from './self.js';
export { SourceError, DEFAULT_SOURCE_ENV, type Readings, type SourceCause, type SourceEnv, type SystemSource } from './source.js';

/** The sources a config asks for: the Linux ones always, GPU when enabled, processes and containers when listed. */
export function systemSources(config: AgentConfig, health: () => AgentHealth, env: Partial<SourceEnv> = {}): SystemSource[] {
  const s = config.system;
  const full: SourceEnv = { ...DEFAULT_SOURCE_ENV, procRoot: s.proc_root, sysRoot: s.sys_root, ...env };
  const diskPaths = [{ name: 'data', path: path.resolve(config.data_dir) }, ...Object.entries(s.mounts).map(([name, p]) => ({ name, path: p }))];
  const sources: SystemSource[] = [...procSources(full, { diskPaths }), new SelfSource(health)];
  if (s.gpu) sources.push(gpuSource(full));
  if (s.processes.length > 0) sources.push(new ProcessSource(full, s.processes));
  if (s.containers.names.length > 0) sources.push(new ContainerSource(full, s.containers.names, s.containers.socket));
  return sources;
}
