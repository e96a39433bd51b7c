// The agent's one SQLite file (WAL). Everything that must agree after a crash - file offsets, open
// window state, counters, inferred types - is written in one transaction by `commit`.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite.js';
import type { FeatureType } from '../config/types.js';
import type { FileCheckpoint } from '../tail/index.js';
import { AgentError } from '../errors.js';
import { BaselineStore, type StoredBaseline } from './baselines.js';
import { PendingStore } from './pending.js';
import { OutboxStore, type OutboxEntry } from './outbox.js';
import { AlertStore } from '../alerts/store.js';
import type { Alert } from '../alerts/engine.js';
import type { LabelChanges } from '../labels/joiner.js';
import { MIGRATIONS } from './schema.js';

export const DB_FILE = 'edgewatch.db';
const LOCK_FILE = 'agent.lock';

export interface ModelCounters {
  accepted: number;
  rejected: number;
  late: number;
  rejectedByReason: Record<string, number>;
  watermark: number | null;
  lastVersion: string | null;
  lastRecordAt: number | null;
}

export interface StoredWindow {
  model: string;
  modelVersion: string;
  start: number;
  end: number;
  state: 'open' | 'closed';
  closedAt: number | null;
  count: number;
  rejected: number;
  late: number;
  profile: Uint8Array;
  /** JSON drift report against the baseline, computed when the window closed (null: no baseline). */
  drift: string | null;
  /** 0 as closed; +1 each time delayed labels revised it after it closed. */
  revision: number;
}

export interface ModelCommit {
  model: string;
  counters: ModelCounters;
  featureTypes: Record<string, FeatureType> | null;
  /** Open windows whose state changed; a window listed here and in `closed` ends closed. */
  open: StoredWindow[];
  closed: StoredWindow[];
  checkpoints: FileCheckpoint[];
  /** Baselines being learned (or just learned) from the records of this batch. */
  baselines: StoredBaseline[];
  /** Baselines put in this commit's outbox (or found too large to send), by their key and id. */
  baselinesSent: Array<{ modelVersion: string; id: string }>;
  /** Delayed-label join changes (null: the model does not join delayed labels). */
  labels: LabelChanges | null;
  /** Closed windows that delayed labels changed in this batch: stored with revision + 1. */
  revised: StoredWindow[];
}

/** A commit's messages for the collector, and what fitting them to the size limit cost. */
export interface OutboxCommit {
  entries: OutboxEntry[];
  maxBytes: number;
  trimmedExamples: number;
  splitSummaries: number;
}

interface WindowRow {
  model: string;
  model_version: string;
  start_ms: number;
  end_ms: number;
  state: 'open' | 'closed';
  closed_at: number | null;
  count: number;
  rejected: number;
  late: number;
  profile: Buffer;
  drift: string | null;
  revision: number | null;
}

interface FileRow {
  model: string;
  key: string;
  path: string;
  head_hash: string;
  head_len: number;
  offset: number;
  size: number;
  done: number;
}

function toCheckpoint(r: FileRow): FileCheckpoint {
  return { key: r.key, path: r.path, headHash: r.head_hash, headLen: r.head_len, offset: r.offset, size: r.size, done: r.done === 1 };
}

function toWindow(r: WindowRow): StoredWindow {
  return {
    model: r.model,
    modelVersion: r.model_version,
    start: r.start_ms,
    end: r.end_ms,
    state: r.state,
    closedAt: r.closed_at,
    count: r.count,
    rejected: r.rejected,
    late: r.late,
    profile: r.profile,
    drift: r.drift ?? null,
    revision: r.revision ?? 0,
  };
}

export class AgentStore {
  private readonly upsertWindow: Database.Statement;
  private readonly upsertFile: Database.Statement;
  private readonly upsertCounters: Database.Statement;
  private readonly upsertType: Database.Statement;
  private readonly reviseWindow: Database.Statement;
  private pendingStore: PendingStore | null = null;
  private outboxStore: OutboxStore | null = null;
  private alertStore: AlertStore | null = null;
  private lock: Database.Database | null = null;
  private baselineStore: BaselineStore | null = null;

  private constructor(readonly db: Database.Database, readonly file: string) {
    this.upsertWindow = db.prepare(`
      INSERT INTO windows (model, model_version, start_ms, end_ms, state, closed_at, count, rejected, late, profile, drift)
      VALUES (@model, @modelVersion, @start, @end, @state, @closedAt, @count, @rejected, @late, @profile, @drift)
      ON CONFLICT (model, model_version, start_ms) DO UPDATE SET end_ms = excluded.end_ms, state = excluded.state,
        closed_at = excluded.closed_at, count = excluded.count, rejected = excluded.rejected,
        late = excluded.late, profile = excluded.profile, drift = excluded.drift`);
    this.upsertFile = db.prepare(`
      INSERT INTO files (model, key, path, head_hash, head_len, offset, size, done, updated_at)
      VALUES (@model, @key, @path, @headHash, @headLen, @offset, @size, @done, @now)
      ON CONFLICT (model, key) DO UPDATE SET path = excluded.path, head_hash = excluded.head_hash,
        head_len = excluded.head_len, offset = excluded.offset, size = excluded.size, done = excluded.done,
        updated_at = CASE WHEN files.offset = excluded.offset THEN files.updated_at ELSE excluded.updated_at END`);
    this.upsertCounters = db.prepare(`
      INSERT INTO model_counters (model, accepted, rejected, late, rejected_by_reason, watermark, last_version, last_record_at)
      VALUES (@model, @accepted, @rejected, @late, @reasons, @watermark, @lastVersion, @lastRecordAt)
      ON CONFLICT (model) DO UPDATE SET accepted = excluded.accepted, rejected = excluded.rejected,
        late = excluded.late, rejected_by_reason = excluded.rejected_by_reason, watermark = excluded.watermark,
        last_version = excluded.last_version, last_record_at = excluded.last_record_at`);
    this.reviseWindow = db.prepare(`
      UPDATE windows SET count = @count, rejected = @rejected, late = @late, profile = @profile, drift = @drift,
        revision = revision + 1
      WHERE model = @model AND model_version = @modelVersion AND start_ms = @start AND state = 'closed'`);
    this.upsertType = db.prepare(
      `INSERT INTO feature_types (model, name, type) VALUES (?, ?, ?)
       ON CONFLICT (model, name) DO UPDATE SET type = excluded.type`,
    );
  }

  /** Opens (creating when needed) the store in `dataDir` for the one agent allowed to write it. */
  static openForWriting(dataDir: string, deviceId: string): AgentStore {
    fs.mkdirSync(dataDir, { recursive: true });
    const lock = takeLock(dataDir);
    const file = path.join(dataDir, DB_FILE);
    const db = openSqlite(file);
    try {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode may lose the last commits on power loss, but never splits one: offsets
      // and window state roll back together, so the lines are read again, not lost or doubled.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // 512 KiB of page cache instead of SQLite's 2 MiB: the agent writes whole rows per commit and
      // reads little back, so a small cache costs no throughput (docs/footprint.md) and saves RSS.
      db.pragma('cache_size = -512');
      migrate(db);
      const store = new AgentStore(db, file);
      store.lock = lock;
      db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)`).run(String(Date.now()));
      db.prepare(`INSERT INTO meta (key, value) VALUES ('device', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(deviceId);
      return store;
    } catch (err) {
      db.close();
      lock.close();
      throw err;
    }
  }

  /**
   * Opens (creating when needed) the store to write what is not the agent's own state (baselines),
   * while an agent may be running: no lock, SQLite serialises the writes.
   */
  static openShared(dataDir: string): AgentStore {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, DB_FILE);
    const db = openSqlite(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
      return new AgentStore(db, file);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Opens an existing store to read while an agent may be writing it. */
  static openForReading(dataDir: string): AgentStore {
    const file = path.join(dataDir, DB_FILE);
    if (!fs.existsSync(file)) {
      throw new AgentError('EW_ERR_NO_DATA', `no agent database at ${file}: has the agent run with this config?`);
    }
    const db = openSqlite(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      db.close();
      throw new AgentError('EW_ERR_DB_VERSION', `database ${file} has schema ${version}, newer than this agent knows (${MIGRATIONS.length})`);
    }
    return new AgentStore(db, file);
  }

  loadCheckpoints(model: string): FileCheckpoint[] {
    return (this.db.prepare(`SELECT * FROM files WHERE model = ?`).all(model) as FileRow[]).map(toCheckpoint);
  }

  loadOpenWindows(model: string): StoredWindow[] {
    const rows = this.db.prepare(`SELECT * FROM windows WHERE model = ? AND state = 'open'`).all(model) as WindowRow[];
    return rows.map(toWindow);
  }

  loadCounters(model: string): ModelCounters | null {
    const r = this.db.prepare(`SELECT * FROM model_counters WHERE model = ?`).get(model) as
      | { accepted: number; rejected: number; late: number; rejected_by_reason: string; watermark: number | null; last_version: string | null; last_record_at: number | null }
      | undefined;
    if (!r) return null;
    return {
      accepted: r.accepted,
      rejected: r.rejected,
      late: r.late,
      rejectedByReason: JSON.parse(r.rejected_by_reason) as Record<string, number>,
      watermark: r.watermark,
      lastVersion: r.last_version,
      lastRecordAt: r.last_record_at,
    };
  }

  loadFeatureTypes(model: string): Record<string, FeatureType> {
    const rows = this.db.prepare(`SELECT name, type FROM feature_types WHERE model = ?`).all(model) as Array<{ name: string; type: FeatureType }>;
    return Object.fromEntries(rows.map((r) => [r.name, r.type]));
  }

  /**
   * Writes everything a batch of lines changed, the alerts that changed with it, and the messages
   * they make for the collector, atomically.
   */
  commit(models: ModelCommit[], now: number, alerts: readonly Alert[] = [], outbox: OutboxCommit | null = null): void {
    this.db.transaction(() => {
      for (const m of models) {
        for (const w of m.open) this.upsertWindow.run(w);
        for (const w of m.closed) this.upsertWindow.run(w);
        for (const w of m.revised) this.reviseWindow.run(w);
        for (const b of m.baselines) this.baselines.put(b);
        for (const b of m.baselinesSent) this.baselines.markSent(m.model, b.modelVersion, b.id);
        for (const cp of m.checkpoints) {
          this.upsertFile.run({ model: m.model, ...cp, done: cp.done ? 1 : 0, now });
        }
        const c = m.counters;
        this.upsertCounters.run({
          model: m.model,
          accepted: c.accepted,
          rejected: c.rejected,
          late: c.late,
          reasons: JSON.stringify(c.rejectedByReason),
          watermark: c.watermark,
          lastVersion: c.lastVersion,
          lastRecordAt: c.lastRecordAt,
        });
        if (m.labels) this.pending.write(m.model, m.labels);
        if (m.featureTypes) {
          for (const [name, type] of Object.entries(m.featureTypes)) this.upsertType.run(m.model, name, type);
        }
      }
      if (alerts.length > 0) this.alerts.write(alerts);
      if (outbox !== null) {
        for (const id of this.outbox.enqueue(outbox.entries, now, outbox.maxBytes, outbox)) this.baselines.forgetSent(id);
      }
    })();
  }

  closedWindows(model: string, opts: { from?: number; to?: number } = {}): StoredWindow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM windows WHERE model = ? AND state = 'closed' AND start_ms >= ? AND start_ms < ?
         ORDER BY start_ms, model_version`,
      )
      .all(model, opts.from ?? Number.MIN_SAFE_INTEGER, opts.to ?? Number.MAX_SAFE_INTEGER) as WindowRow[];
    return rows.map(toWindow);
  }

  windowCounts(model: string): { open: number; closed: number } {
    const r = this.db
      .prepare(`SELECT SUM(state = 'open') AS open, SUM(state = 'closed') AS closed FROM windows WHERE model = ?`)
      .get(model) as { open: number | null; closed: number | null };
    return { open: r.open ?? 0, closed: r.closed ?? 0 };
  }

  /** Closed windows ending before `cutoff`, oldest first, at most `limit`. */
  expiredWindows(model: string, cutoff: number, limit: number): StoredWindow[] {
    const rows = this.db
      .prepare(`SELECT * FROM windows WHERE model = ? AND state = 'closed' AND end_ms <= ? ORDER BY start_ms LIMIT ?`)
      .all(model, cutoff, limit) as WindowRow[];
    return rows.map(toWindow);
  }

  loadRollup(model: string, modelVersion: string, start: number): StoredWindow | null {
    const r = this.db
      .prepare(`SELECT *, 'closed' AS state, NULL AS closed_at, NULL AS drift FROM rollups WHERE model = ? AND model_version = ? AND start_ms = ?`)
      .get(model, modelVersion, start) as WindowRow | undefined;
    return r ? toWindow(r) : null;
  }

  rollups(model: string): StoredWindow[] {
    const rows = this.db
      .prepare(`SELECT *, 'closed' AS state, NULL AS closed_at, NULL AS drift FROM rollups WHERE model = ? ORDER BY start_ms, model_version`)
      .all(model) as WindowRow[];
    return rows.map(toWindow);
  }

  /** Replaces expired windows by their hourly rollups, and drops rollups older than `rollupCutoff`. */
  applyRollup(model: string, rollups: StoredWindow[], removed: StoredWindow[], rollupCutoff: number): void {
    const put = this.db.prepare(`
      INSERT INTO rollups (model, model_version, start_ms, end_ms, count, rejected, late, profile)
      VALUES (@model, @modelVersion, @start, @end, @count, @rejected, @late, @profile)
      ON CONFLICT (model, model_version, start_ms) DO UPDATE SET end_ms = excluded.end_ms, count = excluded.count,
        rejected = excluded.rejected, late = excluded.late, profile = excluded.profile`);
    const del = this.db.prepare(`DELETE FROM windows WHERE model = ? AND model_version = ? AND start_ms = ? AND state = 'closed'`);
    this.db.transaction(() => {
      for (const r of rollups) put.run(r);
      for (const w of removed) del.run(model, w.modelVersion, w.start);
      this.db.prepare(`DELETE FROM rollups WHERE model = ? AND end_ms <= ?`).run(model, rollupCutoff);
    })();
  }

  /** Forgets retired files not seen for a long time, so the table stays bounded. */
  pruneFiles(before: number): number {
    return this.db.prepare(`DELETE FROM files WHERE done = 1 AND updated_at < ?`).run(before).changes;
  }

  /** Local alerts (migration 4); statements prepared once, on first use. */
  get alerts(): AlertStore {
    this.alertStore ??= new AlertStore(this.db);
    return this.alertStore;
  }

  /** Messages for the collector (migration 5); statements prepared once, on first use. */
  get outbox(): OutboxStore {
    this.outboxStore ??= new OutboxStore(this.db);
    return this.outboxStore;
  }

  /** Delayed-label entries; statements prepared once, on first use. */
  get pending(): PendingStore {
    this.pendingStore ??= new PendingStore(this.db);
    return this.pendingStore;
  }

  /** One closed window, for a revision by delayed labels; null when it is gone (rolled up). */
  closedWindow(model: string, modelVersion: string, start: number): StoredWindow | null {
    const r = this.db
      .prepare(`SELECT * FROM windows WHERE model = ? AND model_version = ? AND start_ms = ? AND state = 'closed'`)
      .get(model, modelVersion, start) as WindowRow | undefined;
    return r ? toWindow(r) : null;
  }

  /** Statements prepared once, on first use (a read-only store of an old schema never needs them). */
  get baselines(): BaselineStore {
    this.baselineStore ??= new BaselineStore(this.db);
    return this.baselineStore;
  }

  meta(key: string): string | null {
    const r = this.db.prepare(`SELECT value FROM meta WHERE key = ?`).get(key) as { value: string } | undefined;
    return r ? r.value : null;
  }

  allFiles(): Array<FileCheckpoint & { model: string }> {
    const rows = this.db.prepare(`SELECT * FROM files ORDER BY model, path`).all() as FileRow[];
    return rows.map((r) => ({ model: r.model, ...toCheckpoint(r) }));
  }

  close(): void {
    this.db.close();
    this.lock?.close();
    this.lock = null;
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new AgentError('EW_ERR_DB_VERSION', `database has schema ${version}, newer than this agent knows (${MIGRATIONS.length})`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * One writer per data dir: a second agent on the same files would count every line twice. The lock
 * is an exclusive SQLite transaction held open on a small file, so the operating system releases it
 * when the process dies, however it dies (no stale pid files, no pid reuse).
 */
function takeLock(dataDir: string): Database.Database {
  const lockPath = path.join(dataDir, LOCK_FILE);
  const lock = openSqlite(lockPath);
  try {
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new AgentError('EW_ERR_LOCKED', `another agent is using ${dataDir} (it holds ${lockPath}); stop it or give this one another data_dir`);
    }
    throw err;
  }
}
