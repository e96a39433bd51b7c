// The agent's log: one JSON object per line on stderr. Runtime faults are logged once per key
// (stage + cause) and counted, so a broken file cannot flood the log.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** Logs the first time `key` is seen; later calls only count. Returns the count so far. */
  once(key: string, level: Level, msg: string, fields?: Record<string, unknown>): number;
  readonly counts: ReadonlyMap<string, number>;
}

export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const counts = new Map<string, number>();
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  };
  return {
    log,
    once(key, level, msg, fields) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n === 1) log(level, msg, fields);
      return n;
    },
    counts,
  };
}

export const silentLogger: Logger = createLogger({ write: () => {} });
