// End-to-end sync harness: an agent (in this process, or the built one as a child process) whose
// model log a test fills window by window, a collector (embedded broker or subscribing to a
// Mosquitto), and a Link between agent and broker that a test can cut or make hold the PUBACKs.
// `expectExactlyOnce` is the promise under test: every window the agent closed is in the
// collector's store once, every seq the agent gave out arrived once, nothing waits in the outbox.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, expect } from 'vitest';
import os from 'node:os';
import { Agent } from '../../agent/runtime/index.js';
import { createLogger } from '../../agent/log.js';
import { runUntilStopped } from '../../agent/runtime/run.js';
import type { AgentConfig } from '../../agent/config/types.js';
import { AgentStore } from '../../agent/store/index.js';
import { startCollector, type RunningCollector } from '../../collector/cli/run.js';
import { defaultCollectorConfig } from '../../collector/config/index.js';
import type { CollectorConfig } from '../../collector/config/types.js';
import { silentCollectorLogger } from '../../collector/log.js';
import { DEFAULT_SYNC, testConfig, testModel } from '../helpers/config.js';

export const WINDOW_MS = 60_000;
export const T0 = Date.parse('2026-05-01T00:00:00Z');
export const DEVICE = 'dev-e2e';

/**
 * Undo steps run after each test, newest first (agents halted before the collector closes, before
 * their folders go), and temporary folders that are removed with them.
 */
export function cleanupAfterEach(prefix: string): { cleanups: Array<() => Promise<void> | void>; tmp: () => string } {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const tmp = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return { cleanups, tmp };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The agent's config for these tests: one model, 1-minute windows, fast commits, sync to `url`. */
export function agentConfig(dir: string, sync: Partial<AgentConfig['sync']>): AgentConfig {
  const base = testConfig(path.join(dir, 'agent-data'), [
    testModel({ name: 'm', logs: [path.join(dir, 'logs', '*.jsonl')], window_ms: WINDOW_MS, allowed_lateness_ms: 0 }),
  ], { poll_interval_ms: 20, commit_interval_ms: 50, commit_max_records: 1000 });
  return { ...base, device: { id: DEVICE, site: 'lab', tags: ['e2e'] }, sync: { ...DEFAULT_SYNC, ...sync } };
}

/** Appends `perWindow` records to each window in [from, to), and one in window `to` so they close. */
export function writeWindows(dir: string, from: number, to: number, perWindow = 20): void {
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const lines: string[] = [];
  for (let w = from; w <= to; w++) {
    const n = w === to ? 1 : perWindow;
    for (let i = 0; i < n; i++) {
      const ts = new Date(T0 + w * WINDOW_MS + i * 100).toISOString();
      lines.push(JSON.stringify({
        ts,
        model: 'm',
        model_version: 'v1',
        request_id: `r-${w}-${i}`,
        features: { x: (i % 10) / 10 + w / 1000, colour: i % 3 === 0 ? 'red' : 'blue' },
        prediction: i % 2 === 0 ? 'yes' : 'no',
        confidence: 0.9,
        latency_ms: 4 + (i % 5),
      }));
    }
  }
  fs.appendFileSync(path.join(dir, 'logs', 'app.jsonl'), lines.join('\n') + '\n');
}

/** An agent running its loop in this process. */
export class InProcessAgent {
  private stop: AbortController | null = null;
  private running: Promise<void> | null = null;
  agent: Agent | null = null;

  constructor(readonly config: AgentConfig) {}

  /** `logLines`: where the agent's log lines go (JSON), for tests that read them. */
  start(logLines?: string[]): void {
    const log = logLines === undefined ? undefined : createLogger({ level: 'debug', write: (l) => logLines.push(l) });
    this.agent = Agent.open(this.config, { syncBackoff: { firstMs: 100, capMs: 500 }, ...(log ? { log } : {}) });
    this.stop = new AbortController();
    this.running = runUntilStopped(this.agent, { signal: this.stop.signal });
  }

  async halt(): Promise<void> {
    this.stop?.abort();
    await this.running;
    this.running = null;
    this.agent = null;
  }

  /** Messages waiting, read from the database (safe while the agent writes it). */
  outbox(): { messages: number; nextSeq: number } {
    return readOutbox(this.config.data_dir);
  }
}

export function readOutbox(dataDir: string): { messages: number; nextSeq: number; droppedMessages: number } {
  const store = AgentStore.openForReading(dataDir);
  try {
    const s = store.outbox.stats();
    return { messages: s.messages, nextSeq: s.nextSeq, droppedMessages: s.droppedMessages };
  } finally {
    store.close();
  }
}

/** Closed windows of model m the agent has, as "version@start". */
export function agentWindows(dataDir: string): string[] {
  const store = AgentStore.openForReading(dataDir);
  try {
    return store.closedWindows('m').map((w) => `${w.modelVersion}@${w.start}`);
  } finally {
    store.close();
  }
}

export interface CollectorOptions {
  dataDir: string;
  /** Subscribe to this broker; else run the embedded one. */
  brokerUrl?: string;
  /** The embedded broker's port (0: any; a restart passes the first run's). */
  port?: number;
}

export async function collector(o: CollectorOptions): Promise<RunningCollector> {
  const base = defaultCollectorConfig(o.dataDir);
  const config: CollectorConfig = {
    ...base,
    mqtt: {
      ...base.mqtt,
      url: o.brokerUrl ?? null,
      listen: { host: '127.0.0.1', port: o.port ?? 0 },
      allow_anonymous: true,
      client_id: `edgewatch-collector-e2e-${path.basename(o.dataDir)}`,
    },
    http: { listen: null, tokens: [] },
  };
  const c = await startCollector(config, { log: silentCollectorLogger, backoff: { initialMs: 100, maxMs: 500 } });
  if (c.subscriber !== null) await c.subscriber.ready();
  return c;
}

/** Rows of the collector's store, read from its file (a second connection, read-only). */
export function collectorRows<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path.join(dataDir, 'collector.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function storedSeqs(collectorDir: string): number[] {
  return collectorRows<{ seq: number }>(collectorDir, `SELECT seq FROM messages WHERE device = ? ORDER BY seq`, DEVICE).map((r) => r.seq);
}

export function summaryCount(collectorDir: string): number {
  return collectorRows<{ n: number }>(collectorDir, `SELECT COUNT(*) AS n FROM summaries WHERE device = ? AND kind = 'summary'`, DEVICE)[0]!.n;
}

/**
 * Every window the agent closed is one summary row at the collector; every seq the agent gave out
 * (1 .. next_seq - 1) is one message row; the outbox is empty.
 */
export function expectExactlyOnce(agentDataDir: string, collectorDir: string): { windows: number; duplicates: number } {
  const windows = agentWindows(agentDataDir).sort();
  const rows = collectorRows<{ k: string; n: number }>(
    collectorDir,
    `SELECT model_version || '@' || start_ms AS k, COUNT(*) AS n FROM summaries WHERE device = ? AND kind = 'summary' AND model = 'm' GROUP BY k`,
    DEVICE,
  );
  expect(rows.map((r) => r.k).sort()).toEqual(windows);
  for (const r of rows) expect(r.n, `summaries of window ${r.k}`).toBe(1);
  const out = readOutbox(agentDataDir);
  const seqs = storedSeqs(collectorDir);
  expect(seqs).toEqual(Array.from({ length: out.nextSeq - 1 }, (_, i) => i + 1));
  expect(out.messages).toBe(0);
  const dup = collectorRows<{ value: number }>(collectorDir, `SELECT value FROM counters WHERE name = 'duplicates'`)[0]?.value ?? 0;
  return { windows: windows.length, duplicates: dup };
}
