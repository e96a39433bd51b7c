// Delayed ground truth: a label line joins the prediction with the same request_id, whichever comes
// first. What waits lives in the agent's SQLite store, committed with the windows and offsets, so a
// restart neither loses a waiting prediction nor joins a label twice. Between commits the joiner
// holds only this batch's changes; lookups fall through to the committed rows.
import type { LabelsConfig } from '../config/types.js';
import type { DelayedLabel, InferenceRecord } from '../records/types.js';

export interface PendingPrediction {
  requestId: string;
  modelVersion: string;
  /** The window the prediction was counted in. */
  windowStart: number;
  /** Its event time: it waits until the model's watermark passes ts + horizon. */
  ts: number;
  prediction: string | number;
  confidence: number | null;
  segments: Record<string, string>;
  /** What it costs in the store, for the byte bound. */
  bytes: number;
}

export interface PendingLabel {
  requestId: string;
  ts: number;
  label: string | number;
  bytes: number;
}

/** What the label join has done for one model, kept with the model's counters. */
export interface LabelCounters {
  /** Labels joined to their prediction (whichever came first). */
  joined: number;
  /** Of those, labels whose prediction's window had already closed: the window was revised. */
  joined_after_close: number;
  /** Labels whose prediction's window is gone from the store (rolled up): counted, not applied. */
  unrevisable: number;
  pending_predictions: number;
  pending_labels: number;
  pending_bytes: number;
  /** Predictions whose label did not come within the horizon. */
  expired_predictions: number;
  /** Labels whose prediction did not come within the horizon (a label for an unknown request). */
  expired_labels: number;
  /** Predictions or labels not kept because max_pending or max_pending_size was reached. */
  overflow: number;
  /** A second prediction or label for a request_id already waiting: the first one is kept. */
  duplicates: number;
}

export function emptyLabelCounters(): LabelCounters {
  return {
    joined: 0,
    joined_after_close: 0,
    unrevisable: 0,
    pending_predictions: 0,
    pending_labels: 0,
    pending_bytes: 0,
    expired_predictions: 0,
    expired_labels: 0,
    overflow: 0,
    duplicates: 0,
  };
}

/** The committed waiting entries of one model. */
export interface PendingSource {
  prediction(requestId: string): PendingPrediction | null;
  label(requestId: string): PendingLabel | null;
}

/** One batch's changes to what waits, written by the store in the commit's transaction. */
export interface LabelChanges {
  putPredictions: PendingPrediction[];
  deletePredictions: string[];
  putLabels: PendingLabel[];
  deleteLabels: string[];
  /** Entries with event time before this expire (null: nothing to expire yet). */
  expireBefore: number | null;
  /**
   * The joiner's own counters, live: the store adjusts them for the duplicates it finds among the
   * committed rows and for what expires, before writing them in the same transaction.
   */
  counters: LabelCounters;
}

// Fixed cost of a row beyond its text: key columns, integers, index entries.
const ROW_OVERHEAD_BYTES = 64;

export function predictionPayload(p: Pick<PendingPrediction, 'prediction' | 'confidence' | 'segments'>): string {
  return JSON.stringify({ p: p.prediction, c: p.confidence, s: p.segments });
}

export function parsePredictionPayload(text: string): Pick<PendingPrediction, 'prediction' | 'confidence' | 'segments'> {
  const v = JSON.parse(text) as { p: string | number; c: number | null; s: Record<string, string> };
  return { prediction: v.p, confidence: v.c, segments: v.s };
}

export class LabelJoiner {
  readonly counters: LabelCounters;
  private readonly putP = new Map<string, PendingPrediction>();
  private readonly delP = new Set<string>();
  private readonly putL = new Map<string, PendingLabel>();
  private readonly delL = new Set<string>();

  constructor(
    private readonly config: LabelsConfig,
    private readonly source: PendingSource,
    counters: LabelCounters | null,
  ) {
    this.counters = counters ? { ...emptyLabelCounters(), ...counters } : emptyLabelCounters();
  }

  /**
   * A prediction without a label is about to be counted: the label that came before it, if one is
   * waiting (it is then no longer waiting), else null.
   */
  takeWaitingLabel(requestId: string, ts: number): string | number | null {
    const c = this.counters;
    // Labels rarely come first: with none waiting, predictions cost no lookup.
    if (c.pending_labels === 0) return null;
    const l = this.putL.get(requestId) ?? (this.delL.has(requestId) ? null : this.source.label(requestId));
    // Further apart than the horizon they do not join, whether or not the sweep has run yet.
    if (!l || Math.abs(ts - l.ts) > this.config.horizon_ms) return null;
    if (!this.putL.delete(requestId)) this.delL.add(requestId);
    c.pending_labels--;
    c.pending_bytes -= l.bytes;
    c.joined++;
    return l.label;
  }

  /** A prediction without a label, counted in the window starting at `windowStart`, waits for it. */
  keep(r: InferenceRecord & { requestId: string }, windowStart: number): void {
    const c = this.counters;
    if (this.putP.has(r.requestId)) {
      c.duplicates++;
      return;
    }
    const p: PendingPrediction = {
      requestId: r.requestId,
      modelVersion: r.modelVersion,
      windowStart,
      ts: r.ts,
      prediction: r.prediction,
      confidence: r.confidence,
      segments: r.segments,
      bytes: 0,
    };
    p.bytes = ROW_OVERHEAD_BYTES + r.requestId.length + r.modelVersion.length + predictionPayload(p).length;
    if (!this.fits(p.bytes)) {
      c.overflow++;
      return;
    }
    this.putP.set(r.requestId, p);
    c.pending_predictions++;
    c.pending_bytes += p.bytes;
  }

  /**
   * A label line: the waiting prediction it completes (no longer waiting), or null when the label
   * now waits for its prediction (or was not kept: a duplicate or over the bounds).
   */
  join(l: DelayedLabel): PendingPrediction | null {
    const c = this.counters;
    const id = l.requestId;
    const p = this.putP.get(id) ?? (this.delP.has(id) ? null : this.source.prediction(id));
    if (p && Math.abs(l.ts - p.ts) <= this.config.horizon_ms) {
      if (!this.putP.delete(id)) this.delP.add(id);
      c.pending_predictions--;
      c.pending_bytes -= p.bytes;
      c.joined++;
      return p;
    }
    if (this.putL.has(id)) {
      c.duplicates++;
      return null;
    }
    const waiting: PendingLabel = { requestId: id, ts: l.ts, label: l.label, bytes: 0 };
    waiting.bytes = ROW_OVERHEAD_BYTES + id.length + JSON.stringify(l.label).length;
    if (!this.fits(waiting.bytes)) {
      c.overflow++;
      return null;
    }
    this.putL.set(id, waiting);
    c.pending_labels++;
    c.pending_bytes += waiting.bytes;
    return null;
  }

  private fits(bytes: number): boolean {
    const c = this.counters;
    return c.pending_predictions + c.pending_labels < this.config.max_pending && c.pending_bytes + bytes <= this.config.max_pending_bytes;
  }

  /** Whether this batch changed what waits (expiry alone waits for the next commit that happens). */
  hasChanges(): boolean {
    return this.putP.size > 0 || this.delP.size > 0 || this.putL.size > 0 || this.delL.size > 0;
  }

  /** This batch's changes for the commit; `watermark` is the model's, for the horizon. */
  takeChanges(watermark: number | null): LabelChanges {
    const changes: LabelChanges = {
      putPredictions: [...this.putP.values()],
      deletePredictions: [...this.delP],
      putLabels: [...this.putL.values()],
      deleteLabels: [...this.delL],
      expireBefore: watermark === null ? null : watermark - this.config.horizon_ms,
      counters: this.counters,
    };
    this.putP.clear();
    this.delP.clear();
    this.putL.clear();
    this.delL.clear();
    return changes;
  }
}
