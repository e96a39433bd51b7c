// The system part of a window profile: every sampled metric (CPU, memory, GPU, disks, processes,
// the agent's own health) as a numeric summary with its digest, so a window holds p50, p95 and max
// of a reading, not one number; and the sampler's failures by source and cause. Merges by addition.
import type { NumericJson } from './index.js';
import { NumericSummary } from './numeric.js';
import type { NumericWire } from './codec.js';

/** Distinct metrics kept per window; readings of later ones are counted in `dropped`. */
export const SYSTEM_METRIC_CAP = 512;

export interface SystemJson {
  /** Sampling rounds that fed this window. */
  rounds: number;
  metrics: Record<string, NumericJson>;
  /** "<source>:<cause>" -> rounds in which that source failed that way. */
  failures: Record<string, number>;
  /** Readings not kept because the window already held SYSTEM_METRIC_CAP metrics. */
  dropped: number;
}

export interface SystemWire {
  r: number;
  m: [string, NumericWire][];
  f: [string, number][];
  d: number;
}

export class SystemSummary {
  private nRounds = 0;
  private nDropped = 0;
  private readonly metrics = new Map<string, NumericSummary>();
  private readonly failures = new Map<string, number>();

  get rounds(): number {
    return this.nRounds;
  }
  get dropped(): number {
    return this.nDropped;
  }
  get empty(): boolean {
    return this.nRounds === 0 && this.failures.size === 0;
  }

  /** The summary of one metric (e.g. `gpu.0.temperature`); callers must not modify it. */
  metric(name: string): NumericSummary | undefined {
    return this.metrics.get(name);
  }

  metricNames(): string[] {
    return [...this.metrics.keys()].sort();
  }

  /** One sampling round: its readings, and the sources that failed in it with their cause. */
  addRound(readings: ReadonlyMap<string, number>, failed: Iterable<string> = []): void {
    this.nRounds++;
    for (const [name, value] of readings) {
      let s = this.metrics.get(name);
      if (s === undefined) {
        if (this.metrics.size >= SYSTEM_METRIC_CAP) {
          this.nDropped++;
          continue;
        }
        this.metrics.set(name, (s = new NumericSummary()));
      }
      s.add(value);
    }
    for (const key of failed) this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
  }

  merge(o: SystemSummary): void {
    this.nRounds += o.nRounds;
    this.nDropped += o.nDropped;
    for (const [name, theirs] of o.metrics) {
      const mine = this.metrics.get(name);
      if (mine !== undefined) mine.merge(theirs);
      else if (this.metrics.size < SYSTEM_METRIC_CAP) {
        const copy = new NumericSummary();
        copy.merge(theirs);
        this.metrics.set(name, copy);
      } else this.nDropped += theirs.count;
    }
    for (const [key, n] of o.failures) this.failures.set(key, (this.failures.get(key) ?? 0) + n);
  }

  toJSON(): SystemJson {
    const metrics: Record<string, NumericJson> = {};
    for (const name of this.metricNames()) Object.defineProperty(metrics, name, { value: this.metrics.get(name)!.toJSON(), enumerable: true });
    const failures: Record<string, number> = {};
    for (const key of [...this.failures.keys()].sort()) Object.defineProperty(failures, key, { value: this.failures.get(key)!, enumerable: true });
    return { rounds: this.nRounds, metrics, failures, dropped: this.nDropped };
  }

  toWire(): SystemWire {
    return {
      r: this.nRounds,
      m: this.metricNames().map((name) => [name, this.metrics.get(name)!.toWire()]),
      f: [...this.failures.keys()].sort().map((k) => [k, this.failures.get(k)!]),
      d: this.nDropped,
    };
  }

  static fromWire(w: SystemWire, where: string): SystemSummary {
    const s = new SystemSummary();
    if (w.m.length > SYSTEM_METRIC_CAP) throw new Error(`${where}: ${w.m.length} metrics exceed the cap of ${SYSTEM_METRIC_CAP}`);
    s.nRounds = w.r;
    s.nDropped = w.d;
    for (const [name, m] of w.m) {
      if (s.metrics.has(name)) throw new Error(`${where}: metric ${JSON.stringify(name)} twice`);
      s.metrics.set(name, NumericSummary.fromWire(m, `${where}.${name}`));
    }
    for (const [key, n] of w.f) {
      if (s.failures.has(key)) throw new Error(`${where}: failure ${JSON.stringify(key)} twice`);
      s.failures.set(key, n);
    }
    return s;
  }
}
