// The agent's log: one JSON object per line on stderr. Runtime faults are logged once per key
// (stage + cause) and counted, so a broken file cannot flood the log.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** Logs the first time `key` is seen; later calls only count. Returns the count so far. */
  once(key: string, level: Level, msg: string, fields?: Record<string, unknown>): number;
  readonly counts: ReadonlyMap<string, number>;
  /**
   * Faults by stage and code ("<stage>.<code>", e.g. "tail.EW_ERR_READ"): every log or once call
   * at warn or error that carries `code`, counted whether or not once() wrote it.
   */
  readonly faults: ReadonlyMap<string, number>;
}

// The stage a runtime fault comes from, for the agent's own health figures.
const STAGE_OF: Readonly<Record<string, string>> = {
  EW_ERR_READ: 'tail',
  EW_ERR_COMMIT: 'store',
  EW_ERR_SYSTEM_SOURCE: 'system',
  EW_ERR_METRICS_LISTEN: 'metrics',
};

export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const counts = new Map<string, number>();
  const faults = new Map<string, number>();
  const countFault = (level: Level, fields?: Record<string, unknown>) => {
    const code = fields?.['code'];
    if (typeof code !== 'string' || ORDER[level] < ORDER.warn) return;
    const key = `${STAGE_OF[code] ?? 'agent'}.${code}`;
    faults.set(key, (faults.get(key) ?? 0) + 1);
  };
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    countFault(level, fields);
    if (ORDER[level] < min) return;
    write(JSON.stringify({ time: isoTime(Date.now()), level, msg, ...fields }));
  };
  return {
    log,
    once(key, level, msg, fields) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n === 1) log(level, msg, fields);
      else countFault(level, fields);
      return n;
    },
    counts,
    faults,
  };
}

export const silentLogger: Logger = createLogger({ write: () => {} });

/**
 * RFC 3339 UTC time with milliseconds, as Date#toISOString writes it. Built from the getUTC*
 * parts because Node 20's toISOString loads ICU's time-zone data on first use: about 1 MB of RSS
 * for the lifetime of an agent that otherwise never needs it (docs/footprint.md).
 */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) return d.toISOString();
  const p2 = (n: number) => (n < 10 ? '0' : '') + n;
  const msPart = d.getUTCMilliseconds();
  return `${String(year).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${String(msPart).padStart(3, '0')}Z`;
}
