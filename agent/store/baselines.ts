// Baselines in the agent's database: one profile of reference data per (model, version), or per
// model for every version without its own ('*').
import type Database from 'better-sqlite3';

export const ALL_VERSIONS = '*';

export interface StoredBaseline {
  model: string;
  modelVersion: string;
  source: string;
  createdAt: number;
  records: number;
  profile: Uint8Array;
  /** False while it is being learned from a version's first records. */
  complete: boolean;
  /** Learning: event time of the version's first record. */
  firstTs: number | null;
  /** The id of the copy last sent to the collector (agent/wire baselineId); read, never written by put. */
  sentId?: string | null;
}

interface BaselineRow {
  model: string;
  model_version: string;
  source: string;
  created_at: number;
  records: number;
  profile: Buffer;
  complete: number;
  first_ts: number | null;
  sent_id: string | null;
}

function toBaseline(r: BaselineRow): StoredBaseline {
  return {
    model: r.model,
    modelVersion: r.model_version,
    source: r.source,
    createdAt: r.created_at,
    records: r.records,
    profile: r.profile,
    complete: r.complete === 1,
    firstTs: r.first_ts,
    sentId: r.sent_id,
  };
}

export class BaselineStore {
  private readonly upsert: Database.Statement;
  private readonly byVersion: Database.Statement;
  private readonly ofModel: Database.Statement;
  private readonly learningOf: Database.Statement;
  private readonly stamp: Database.Statement;
  private readonly sent: Database.Statement;
  private readonly unsent: Database.Statement;

  constructor(db: Database.Database) {
    this.upsert = db.prepare(
      `INSERT INTO baselines (model, model_version, source, created_at, records, profile, complete, first_ts)
       VALUES (@model, @modelVersion, @source, @createdAt, @records, @profile, @complete, @firstTs)
       ON CONFLICT (model, model_version) DO UPDATE SET source = excluded.source, created_at = excluded.created_at,
         records = excluded.records, profile = excluded.profile, complete = excluded.complete, first_ts = excluded.first_ts`,
    );
    this.byVersion = db.prepare(
      `SELECT * FROM baselines WHERE model = ? AND complete = 1 AND model_version IN (?, ?) ORDER BY model_version = ? DESC LIMIT 1`,
    );
    this.ofModel = db.prepare(`SELECT * FROM baselines WHERE model = ? ORDER BY model_version`);
    this.learningOf = db.prepare(`SELECT * FROM baselines WHERE model = ? AND complete = 0`);
    this.sent = db.prepare(`UPDATE baselines SET sent_id = ? WHERE model = ? AND model_version = ?`);
    this.unsent = db.prepare(`UPDATE baselines SET sent_id = NULL WHERE sent_id = ?`);
    this.stamp = db.prepare(`SELECT COUNT(*) AS n, MAX(created_at) AS at FROM baselines WHERE model = ? AND complete = 1`);
  }

  /** Stores a baseline, replacing the one for the same (model, version). */
  put(b: StoredBaseline): void {
    const { sentId: _sent, ...row } = b;
    this.upsert.run({ ...row, complete: row.complete ? 1 : 0 });
  }

  /** Notes that this copy of the baseline went into the outbox. */
  markSent(model: string, modelVersion: string, id: string): void {
    this.sent.run(id, model, modelVersion);
  }

  /**
   * Notes that the outbox dropped this copy (full, offline too long): the next window compared with
   * the baseline sends it again, so the collector still gets every baseline its summaries used.
   */
  forgetSent(id: string): void {
    this.unsent.run(id);
  }

  /** Baselines still being learned. */
  learning(model: string): StoredBaseline[] {
    return (this.learningOf.all(model) as BaselineRow[]).map(toBaseline);
  }

  /** The baseline of this version, else the model's baseline for all versions. */
  get(model: string, modelVersion: string): StoredBaseline | null {
    const row = this.byVersion.get(model, modelVersion, ALL_VERSIONS, modelVersion) as BaselineRow | undefined;
    return row ? toBaseline(row) : null;
  }

  list(model: string): StoredBaseline[] {
    return (this.ofModel.all(model) as BaselineRow[]).map(toBaseline);
  }

  /** Changes whenever a baseline is added or replaced: a cheap check for a running agent. */
  version(model: string): string {
    const r = this.stamp.get(model) as { n: number; at: number | null };
    return `${r.n}:${r.at ?? 0}`;
  }
}
