// The collector's log: one JSON object per line on stderr. A fleet of misbehaving devices must not
// flood it, so faults are logged once per key (`once`) or at most once per (device, reason) per
// minute (`limited`), and the line that ends a quiet minute says how many were left out.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** How long `limited` stays quiet for one (device, reason) after logging it. */
export const RATE_LIMIT_MS = 60_000;
/** Keys remembered by `limited` before quiet ones are forgotten (device ids come from the network). */
const MAX_LIMITED_KEYS = 10_000;

export interface CollectorLogger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** Logs the first time `key` is seen; later calls only count. Returns the count so far. */
  once(key: string, level: Level, msg: string, fields?: Record<string, unknown>): number;
  /**
   * Logs at most once per (device, reason) per RATE_LIMIT_MS; a line after a quiet spell carries
   * `suppressed`, the number left out. True when this call wrote a line.
   */
  limited(device: string, reason: string, level: Level, msg: string, fields?: Record<string, unknown>): boolean;
  readonly counts: ReadonlyMap<string, number>;
}

/** The broker side names the logger `Logger`. */
export type Logger = CollectorLogger;

export interface LoggerOptions {
  level?: Level;
  write?: (line: string) => void;
  /** Clock for timestamps and rate limits (epoch ms). */
  now?: () => number;
  /**
   * Hands each line that passes the level and the limits to another logger instead of writing it
   * (the ingest worker's lines go to the main thread's logger this way).
   */
  forward?: (level: Level, msg: string, fields: Record<string, unknown> | undefined) => void;
}

export function createCollectorLogger(opts: LoggerOptions = {}): CollectorLogger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? Date.now;
  const counts = new Map<string, number>();
  const recent = new Map<string, { at: number; suppressed: number }>();

  const forward = opts.forward;
  const log = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    if (forward !== undefined) return forward(level, msg, fields);
    write(JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...fields }));
  };

  return {
    log,
    once(key, level, msg, fields) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n === 1) log(level, msg, fields);
      return n;
    },
    limited(device, reason, level, msg, fields) {
      const t = now();
      // JSON keeps "a|b" + "c" apart from "a" + "b|c".
      const key = JSON.stringify([device, reason]);
      const seen = recent.get(key);
      if (seen !== undefined && t - seen.at < RATE_LIMIT_MS) {
        seen.suppressed++;
        return false;
      }
      if (recent.size >= MAX_LIMITED_KEYS) {
        for (const [k, v] of recent) if (t - v.at >= RATE_LIMIT_MS) recent.delete(k);
        // Still full: all are recent, and forgetting them costs at most one extra line each.
        if (recent.size >= MAX_LIMITED_KEYS) recent.clear();
      }
      recent.set(key, { at: t, suppressed: 0 });
      const suppressed = seen?.suppressed ?? 0;
      log(level, msg, { device, reason, ...fields, ...(suppressed > 0 ? { suppressed } : {}) });
      return true;
    },
    counts,
  };
}

export const silentCollectorLogger: CollectorLogger = createCollectorLogger({ write: () => {} });
