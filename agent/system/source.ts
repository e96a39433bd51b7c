// What every system source (CPU, memory, disk, network, temperatures, GPU, processes, containers)
// gives the sampler: one round of readings, named by metric, or an error with its cause. A source
// keeps what it needs between rounds (previous counters for rates) and never throws anything else.

/**
 * One round: metric name (dot path under `system.`, e.g. `cpu.total`, `gpu.0.temperature`,
 * `memory.available`, `process.triton.up`) -> value in the unit the name's docs state (percent,
 * bytes, bytes per second, degrees Celsius, watts, MHz, seconds, 0/1 for states). A metric the
 * device does not report this round is absent, not NaN.
 */
export type Readings = Map<string, number>;

/** Why a source gave nothing this round; the sampler counts and logs once per (source, cause). */
export type SourceCause =
  | 'missing' // the tool, file or socket is not there (no GPU is a normal case)
  | 'permission' // it is there but may not be read
  | 'timeout' // it did not answer within the source's time limit (2 s)
  | 'driver' // the tool ran and reported an error (e.g. nvidia-smi cannot talk to the driver)
  | 'parse' // the output was not what the source understands
  | 'failed'; // anything else (exit status, I/O error)

export class SourceError extends Error {
  /** Not Error.cause (an underlying error): the kind of failure, for counting and logging once. */
  readonly kind: SourceCause;
  constructor(kind: SourceCause, message: string) {
    super(message);
    this.name = 'SourceError';
    this.kind = kind;
  }
}

export interface SystemSource {
  /** Short and stable: `cpu`, `memory`, `disk`, `network`, `temperature`, `gpu`, `tegra`, `process`, `container`. */
  readonly name: string;
  /** One round at wall time `now` (ms). Rejects only with a SourceError. */
  sample(now: number): Promise<Readings>;
  /** Releases what the source holds (child processes, sockets). */
  close?(): void;
}

/** Where sources look: the /proc and /sys roots and PATH, injectable so tests use recorded fixtures. */
export interface SourceEnv {
  procRoot: string; // default "/proc"
  sysRoot: string; // default "/sys"
  /** PATH used to find nvidia-smi and tegrastats. */
  path: string;
  /** Time limit for one external command or request, ms (default 2000). */
  timeoutMs: number;
}

export const DEFAULT_SOURCE_ENV: SourceEnv = {
  procRoot: '/proc',
  sysRoot: '/sys',
  path: process.env['PATH'] ?? '/usr/bin:/bin',
  timeoutMs: 2_000,
};
