// The `gpu` source: whichever GPU tool this device has. tegrastats exists only on Jetson, and there
// it wins over nvidia-smi, which JetPack 6 also ships but which reports the integrated GPU mostly
// as [N/A]. Otherwise nvidia-smi; with neither, the round rejects 'missing' (no GPU, the normal case).
//
// The choice is made again every round, not cached: it costs a stat per PATH entry, and a driver
// installed or removed while the agent runs is then picked up without a restart. The two sources
// themselves are kept, so what nvidia-smi learnt (which throttle field the driver accepts) stays.
import { findOnPath } from './exec.js';
import { NvidiaSmiSource } from './nvidia-smi.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';
import { TegrastatsSource } from './tegrastats.js';

/** The tools in the order they are preferred, each with the source that reads it. */
const TOOLS = [
  { tool: 'tegrastats', make: (env: SourceEnv): SystemSource => new TegrastatsSource(env) },
  { tool: 'nvidia-smi', make: (env: SourceEnv): SystemSource => new NvidiaSmiSource(env) },
] as const;

export type GpuTool = (typeof TOOLS)[number]['tool'];

export class GpuSource implements SystemSource {
  readonly name = 'gpu';
  private readonly env: SourceEnv;
  private readonly sources = new Map<GpuTool, SystemSource>();
  private last: GpuTool | undefined;

  constructor(env: SourceEnv) {
    this.env = env;
  }

  /** The tool used in the latest round (for status and logs); undefined before one or with none. */
  get tool(): GpuTool | undefined {
    return this.last;
  }

  async sample(now: number): Promise<Readings> {
    this.last = undefined;
    let denied: GpuTool | undefined;
    for (const { tool, make } of TOOLS) {
      const found = await findOnPath(tool, this.env.path);
      if (found === 'missing') continue;
      if (found === 'permission') {
        denied ??= tool;
        continue;
      }
      let source = this.sources.get(tool);
      if (!source) {
        source = make(this.env);
        this.sources.set(tool, source);
      }
      this.last = tool;
      return source.sample(now);
    }
    if (denied) throw new SourceError('permission', `${denied} on PATH is not executable`);
    throw new SourceError('missing', 'neither tegrastats nor nvidia-smi is on PATH');
  }

  close(): void {
    for (const source of this.sources.values()) source.close?.();
  }
}

export function gpuSource(env: SourceEnv): GpuSource {
  return new GpuSource(env);
}
