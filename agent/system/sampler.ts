// Samples every system source on an interval, off the ingest path: each round runs the sources
// concurrently on the event loop (child processes and sockets asynchronously; /proc files, which
// the kernel builds in memory, with short synchronous reads: 0.2 ms a round) and hands one merged
// SystemRound to the agent, which folds it into its windows at its next step. A failing
// source is skipped for a growing back-off, counted by cause and logged once per cause.
import type { Logger } from '../log.js';
import { SourceError, type Readings, type SourceCause, type SystemSource } from './source.js';

export interface SystemRound {
  /** Wall time the round started, ms. */
  at: number;
  readings: Readings;
  /** "<source>:<cause>" for each source that failed this round. */
  failed: string[];
}

export interface SamplerOptions {
  intervalMs: number;
  sources: readonly SystemSource[];
  now: () => number;
  log: Logger;
  onRound: (round: SystemRound) => void;
}

/** A failing source waits interval * 2^k before its next try (k = failures in a row), up to this. */
export const MAX_BACKOFF_FACTOR = 32;

// A missing tool or device (no GPU, no Docker) is a normal state of a machine, not a fault.
const QUIET_CAUSES: ReadonlySet<SourceCause> = new Set(['missing']);

interface SourceState {
  source: SystemSource;
  failuresInRow: number;
  nextTryAt: number;
}

export class SystemSampler {
  private readonly states: SourceState[];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** "<source>:<cause>" -> failed rounds since start. */
  readonly failures = new Map<string, number>();
  /** CPU time of the latest round's own work, ms (what a round costs the device). */
  lastRoundCpuMs = 0;

  constructor(private readonly opts: SamplerOptions) {
    this.states = opts.sources.map((source) => ({ source, failuresInRow: 0, nextTryAt: 0 }));
  }

  /** Starts rounds every interval, the first one now. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = this.opts.now();
      this.running = this.round()
        .then((r) => this.opts.onRound(r))
        .catch((err: unknown) => {
          this.opts.log.once('system:round', 'error', 'system sampling round failed', { detail: String(err) });
        })
        .finally(() => {
          this.running = null;
          // Rounds keep their rhythm; a slow round is followed at once, never overlapped.
          this.schedule(Math.max(0, started + this.opts.intervalMs - this.opts.now()));
        });
    }, delay);
    this.timer.unref();
  }

  /** One round now: every source whose back-off has passed, concurrently. */
  async round(): Promise<SystemRound> {
    const at = this.opts.now();
    const cpuBefore = process.cpuUsage();
    const due = this.states.filter((s) => s.nextTryAt <= at);
    const results = await Promise.allSettled(due.map((s) => s.source.sample(at)));
    const readings: Readings = new Map();
    const failed: string[] = [];
    results.forEach((res, i) => {
      const st = due[i]!;
      if (res.status === 'fulfilled') {
        st.failuresInRow = 0;
        st.nextTryAt = 0;
        for (const [k, v] of res.value) if (Number.isFinite(v)) readings.set(k, v);
        return;
      }
      const err = res.reason;
      const cause: SourceCause = err instanceof SourceError ? err.kind : 'failed';
      const key = `${st.source.name}:${cause}`;
      failed.push(key);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      st.failuresInRow++;
      const factor = Math.min(MAX_BACKOFF_FACTOR, 2 ** (st.failuresInRow - 1));
      st.nextTryAt = at + this.opts.intervalMs * factor;
      this.opts.log.once(`system:${key}`, QUIET_CAUSES.has(cause) ? 'info' : 'warn', `system source ${st.source.name} unavailable`, {
        code: 'EW_ERR_SYSTEM_SOURCE',
        source: st.source.name,
        cause,
        detail: err instanceof Error ? err.message : String(err),
      });
    });
    const cpu = process.cpuUsage(cpuBefore);
    this.lastRoundCpuMs = (cpu.user + cpu.system) / 1000;
    return { at, readings, failed };
  }

  /** Stops the rhythm and waits for a round in flight; nothing is handed over after this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running;
    for (const s of this.states) s.source.close?.();
  }
}
