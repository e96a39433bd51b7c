// Predictions waiting for their delayed label and labels waiting for their prediction (migration 3).
// Written only inside the agent's commit transaction, so what waits always agrees with the windows
// and offsets committed beside it.
import type Database from 'better-sqlite3';
import {
  parsePredictionPayload,
  predictionPayload,
  type LabelChanges,
  type LabelCounters,
  type PendingLabel,
  type PendingPrediction,
  type PendingSource,
} from '../labels/joiner.js';

interface PredictionRow {
  request_id: string;
  model_version: string;
  window_start: number;
  ts: number;
  payload: string;
  bytes: number;
}

interface LabelRow {
  request_id: string;
  ts: number;
  label: string;
  bytes: number;
}

export class PendingStore {
  private readonly getPrediction: Database.Statement;
  private readonly getLabel: Database.Statement;
  private readonly putPrediction: Database.Statement;
  private readonly putLabel: Database.Statement;
  private readonly delPrediction: Database.Statement;
  private readonly delLabel: Database.Statement;
  private readonly expiredPredictions: Database.Statement;
  private readonly expiredLabels: Database.Statement;
  private readonly dropPredictions: Database.Statement;
  private readonly dropLabels: Database.Statement;
  private readonly putCounters: Database.Statement;
  private readonly getCounters: Database.Statement;

  constructor(db: Database.Database) {
    this.getPrediction = db.prepare(`SELECT * FROM pending_predictions WHERE model = ? AND request_id = ?`);
    this.getLabel = db.prepare(`SELECT * FROM pending_labels WHERE model = ? AND request_id = ?`);
    // OR IGNORE: a request_id already waiting keeps its first entry; the caller counts a duplicate.
    this.putPrediction = db.prepare(`
      INSERT OR IGNORE INTO pending_predictions (model, request_id, model_version, window_start, ts, payload, bytes)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.putLabel = db.prepare(`INSERT OR IGNORE INTO pending_labels (model, request_id, ts, label, bytes) VALUES (?, ?, ?, ?, ?)`);
    this.delPrediction = db.prepare(`DELETE FROM pending_predictions WHERE model = ? AND request_id = ?`);
    this.delLabel = db.prepare(`DELETE FROM pending_labels WHERE model = ? AND request_id = ?`);
    this.expiredPredictions = db.prepare(`SELECT COUNT(*) AS n, TOTAL(bytes) AS bytes FROM pending_predictions WHERE model = ? AND ts < ?`);
    this.expiredLabels = db.prepare(`SELECT COUNT(*) AS n, TOTAL(bytes) AS bytes FROM pending_labels WHERE model = ? AND ts < ?`);
    this.dropPredictions = db.prepare(`DELETE FROM pending_predictions WHERE model = ? AND ts < ?`);
    this.dropLabels = db.prepare(`DELETE FROM pending_labels WHERE model = ? AND ts < ?`);
    this.putCounters = db.prepare(`UPDATE model_counters SET labels = ? WHERE model = ?`);
    this.getCounters = db.prepare(`SELECT labels FROM model_counters WHERE model = ?`);
  }

  /** The committed entries of one model, for the joiner's lookups. */
  source(model: string): PendingSource {
    return {
      prediction: (requestId) => {
        const r = this.getPrediction.get(model, requestId) as PredictionRow | undefined;
        if (!r) return null;
        return {
          requestId: r.request_id,
          modelVersion: r.model_version,
          windowStart: r.window_start,
          ts: r.ts,
          bytes: r.bytes,
          ...parsePredictionPayload(r.payload),
        };
      },
      label: (requestId) => {
        const r = this.getLabel.get(model, requestId) as LabelRow | undefined;
        if (!r) return null;
        return { requestId: r.request_id, ts: r.ts, bytes: r.bytes, label: JSON.parse(r.label) as string | number };
      },
    };
  }

  counters(model: string): LabelCounters | null {
    const r = this.getCounters.get(model) as { labels: string | null } | undefined;
    return r?.labels ? (JSON.parse(r.labels) as LabelCounters) : null;
  }

  /**
   * Applies one batch inside the caller's transaction (after the model's counters row is written):
   * joined entries leave, new ones arrive, then what the horizon passed expires. Adjusts `changes.
   * counters` for duplicates of committed rows and for what expired, and stores them.
   */
  write(model: string, changes: LabelChanges): void {
    const c = changes.counters;
    for (const id of changes.deletePredictions) this.delPrediction.run(model, id);
    for (const id of changes.deleteLabels) this.delLabel.run(model, id);
    for (const p of changes.putPredictions) {
      if (this.putPrediction.run(model, p.requestId, p.modelVersion, p.windowStart, p.ts, predictionPayload(p), p.bytes).changes === 0) {
        this.unkept(c, p, 'pending_predictions');
      }
    }
    for (const l of changes.putLabels) {
      if (this.putLabel.run(model, l.requestId, l.ts, JSON.stringify(l.label), l.bytes).changes === 0) {
        this.unkept(c, l, 'pending_labels');
      }
    }
    if (changes.expireBefore !== null) {
      const cutoff = changes.expireBefore;
      const p = this.expiredPredictions.get(model, cutoff) as { n: number; bytes: number };
      if (p.n > 0) {
        this.dropPredictions.run(model, cutoff);
        c.expired_predictions += p.n;
        c.pending_predictions -= p.n;
        c.pending_bytes -= p.bytes;
      }
      const l = this.expiredLabels.get(model, cutoff) as { n: number; bytes: number };
      if (l.n > 0) {
        this.dropLabels.run(model, cutoff);
        c.expired_labels += l.n;
        c.pending_labels -= l.n;
        c.pending_bytes -= l.bytes;
      }
    }
    this.putCounters.run(JSON.stringify(c), model);
  }

  private unkept(c: LabelCounters, entry: PendingPrediction | PendingLabel, kind: 'pending_predictions' | 'pending_labels'): void {
    c.duplicates++;
    c[kind]--;
    c.pending_bytes -= entry.bytes;
  }
}
