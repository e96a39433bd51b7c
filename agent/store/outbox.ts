// The outbox (migration 5): messages for the collector, from the commit that made them until the
// broker acknowledges them (or `export --mark-sent` hands them to a bundle). Bounded in bytes: when
// full, the oldest messages go and one gap message, with a new seq, says which seqs, which windows
// and how many records were lost, so the loss is visible at the collector.
import type Database from 'better-sqlite3';
import { decodeCbor, encodeBody, unpackBody, type BodyEncoding, type BaselineBody, type GapBody, type MessageKind } from '../wire/envelope.js';

/** What a commit puts in the outbox; the seq is given when it is stored. */
export interface OutboxEntry {
  kind: MessageKind;
  /** As it will travel: CBOR, deflated when `enc` says so (agent/wire packBody). */
  body: Uint8Array;
  enc: BodyEncoding | null;
  /** Records counted in the window (summaries and revisions; 0 otherwise). */
  records: number;
  windowStart: number | null;
  windowEnd: number | null;
}

export interface OutboxMessage {
  seq: number;
  kind: MessageKind;
  createdAt: number;
  body: Uint8Array;
  enc: BodyEncoding | null;
}

export interface OutboxStats {
  /** Messages waiting, and their bytes. */
  messages: number;
  bytes: number;
  oldestSeq: number | null;
  oldestCreatedAt: number | null;
  /** The seq the next message gets. */
  nextSeq: number;
  delivered: number;
  droppedMessages: number;
  droppedRecords: number;
  gaps: number;
  trimmedExamples: number;
  splitSummaries: number;
}

interface Row {
  seq: number;
  kind: MessageKind;
  created_at: number;
  body: Buffer;
  enc: BodyEncoding | null;
  bytes: number;
  records: number;
  window_start: number | null;
  window_end: number | null;
}

interface StateRow {
  next_seq: number;
  messages: number;
  bytes: number;
  delivered: number;
  dropped_messages: number;
  dropped_records: number;
  gaps: number;
  trimmed_examples: number;
  split_summaries: number;
}

/** Rows read per step while making room, so a long outbox is never loaded whole. */
const EVICT_BATCH = 256;

export class OutboxStore {
  private readonly insert: Database.Statement;
  private readonly oldest: Database.Statement;
  private readonly deleteOne: Database.Statement;
  private readonly after: Database.Statement;
  private readonly state: Database.Statement;
  private readonly setState: Database.Statement;
  private readonly sizeOf: Database.Statement;
  private readonly gapsWaiting: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO outbox (seq, kind, created_at, body, enc, bytes, records, window_start, window_end)
       VALUES (@seq, @kind, @createdAt, @body, @enc, @bytes, @records, @windowStart, @windowEnd)`,
    );
    this.oldest = db.prepare(`SELECT * FROM outbox ORDER BY seq LIMIT ?`);
    this.deleteOne = db.prepare(`DELETE FROM outbox WHERE seq = ?`);
    this.after = db.prepare(`SELECT seq, kind, created_at, body, enc FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`);
    this.state = db.prepare(`SELECT * FROM outbox_state WHERE id = 1`);
    this.sizeOf = db.prepare(`SELECT bytes FROM outbox WHERE seq = ?`);
    this.gapsWaiting = db.prepare(`SELECT * FROM outbox WHERE kind = 'gap'`);
    this.setState = db.prepare(
      `UPDATE outbox_state SET next_seq = @next_seq, messages = @messages, bytes = @bytes, delivered = @delivered, dropped_messages = @dropped_messages,
         dropped_records = @dropped_records, gaps = @gaps, trimmed_examples = @trimmed_examples,
         split_summaries = @split_summaries WHERE id = 1`,
    );
  }

  /**
   * Stores the entries with the next seqs, then makes room under `maxBytes` by dropping the oldest
   * messages for one gap message. Runs inside the caller's transaction (the agent's commit), so a
   * window's summary is in the outbox exactly when its close is committed. Returns the ids of the
   * baselines it dropped (agent/wire baselineId): the caller sends them again.
   */
  enqueue(entries: readonly OutboxEntry[], now: number, maxBytes: number, counts: { trimmedExamples?: number; splitSummaries?: number } = {}): string[] {
    const droppedBaselines: string[] = [];
    if (entries.length === 0 && !counts.trimmedExamples && !counts.splitSummaries) return droppedBaselines;
    const st = this.state.get() as StateRow;
    for (const e of entries) {
      this.insert.run({ seq: st.next_seq, kind: e.kind, createdAt: now, body: e.body, enc: e.enc, bytes: e.body.length, records: e.records, windowStart: e.windowStart, windowEnd: e.windowEnd });
      st.next_seq++;
      st.messages++;
      st.bytes += e.body.length;
    }
    st.trimmed_examples += counts.trimmedExamples ?? 0;
    st.split_summaries += counts.splitSummaries ?? 0;
    if (st.bytes > maxBytes) this.evict(st, now, maxBytes, droppedBaselines);
    this.setState.run(st);
    return droppedBaselines;
  }

  private evict(st: StateRow, now: number, maxBytes: number, droppedBaselines: string[]): void {
    // Room for the gap message itself: a few hundred bytes at most.
    const target = maxBytes - 512;
    const gap = { from: Number.POSITIVE_INFINITY, to: 0, messages: 0, records: 0, wFrom: Number.POSITIVE_INFINITY, wTo: 0 };
    // An earlier gap folds into this one: its range and counts carry over.
    const fold = (r: Row): void => {
      const g = decodeGap(r);
      gap.from = Math.min(gap.from, g.from_seq);
      gap.to = Math.max(gap.to, g.to_seq);
      gap.messages += g.messages;
      gap.records += g.records;
      if (g.windows_from !== null) gap.wFrom = Math.min(gap.wFrom, g.windows_from);
      if (g.windows_to !== null) gap.wTo = Math.max(gap.wTo, g.windows_to);
    };
    outer: while (st.bytes > target) {
      const rows = this.oldest.all(EVICT_BATCH) as Row[];
      if (rows.length === 0) break;
      for (const r of rows) {
        if (st.bytes <= target) break outer;
        if (r.kind === 'gap') fold(r);
        else {
          if (r.kind === 'baseline') droppedBaselines.push(decodeBaselineId(r));
          gap.messages++;
          gap.records += r.records;
          st.dropped_messages++;
          st.dropped_records += r.records;
          gap.from = Math.min(gap.from, r.seq);
          gap.to = Math.max(gap.to, r.seq);
          if (r.window_start !== null) gap.wFrom = Math.min(gap.wFrom, r.window_start);
          if (r.window_end !== null) gap.wTo = Math.max(gap.wTo, r.window_end);
        }
        this.deleteOne.run(r.seq);
        st.messages--;
        st.bytes -= r.bytes;
      }
    }
    if (gap.messages === 0) return;
    // One gap waits at a time: an earlier one not yet sent folds into this one (its seq, which held
    // no records, is not counted as lost), so weeks offline leave one gap, not one per window.
    for (const r of this.gapsWaiting.all() as Row[]) {
      fold(r);
      this.deleteOne.run(r.seq);
      st.messages--;
      st.bytes -= r.bytes;
    }
    const body: GapBody = {
      from_seq: gap.from,
      to_seq: gap.to,
      messages: gap.messages,
      records: gap.records,
      windows_from: Number.isFinite(gap.wFrom) ? gap.wFrom : null,
      windows_to: gap.wTo > 0 ? gap.wTo : null,
      reason: 'outbox_full',
    };
    const bytes = encodeBody({ kind: 'gap', body });
    this.insert.run({ seq: st.next_seq, kind: 'gap', createdAt: now, body: bytes, enc: null, bytes: bytes.length, records: 0, windowStart: null, windowEnd: null });
    st.next_seq++;
    st.gaps++;
    st.messages++;
    st.bytes += bytes.length;
  }

  /** Up to `limit` messages with seq above `afterSeq`, oldest first. */
  next(afterSeq: number, limit: number): OutboxMessage[] {
    return (this.after.all(afterSeq, limit) as Row[]).map((r) => ({ seq: r.seq, kind: r.kind, createdAt: r.created_at, body: r.body, enc: r.enc }));
  }

  /** Removes delivered messages (acknowledged, or written to a bundle and marked sent). */
  remove(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    return this.db.transaction(() => {
      const st = this.state.get() as StateRow;
      let removed = 0;
      for (const seq of seqs) {
        const r = this.sizeOf.get(seq) as { bytes: number } | undefined;
        if (r === undefined) continue;
        this.deleteOne.run(seq);
        removed++;
        st.messages--;
        st.bytes -= r.bytes;
      }
      st.delivered += removed;
      if (removed > 0) this.setState.run(st);
      return removed;
    })();
  }

  /** Messages waiting. */
  get messages(): number {
    return (this.state.get() as StateRow).messages;
  }

  /** Bytes of the messages waiting. */
  get bytes(): number {
    return (this.state.get() as StateRow).bytes;
  }

  /** Every message waiting, oldest first (for a bundle). */
  all(): OutboxMessage[] {
    return this.next(0, Number.MAX_SAFE_INTEGER);
  }

  stats(): OutboxStats {
    const st = this.state.get() as StateRow;
    const o = this.db.prepare(`SELECT seq, created_at FROM outbox ORDER BY seq LIMIT 1`).get() as { seq: number; created_at: number } | undefined;
    return {
      messages: st.messages,
      bytes: st.bytes,
      oldestSeq: o?.seq ?? null,
      oldestCreatedAt: o?.created_at ?? null,
      nextSeq: st.next_seq,
      delivered: st.delivered,
      droppedMessages: st.dropped_messages,
      droppedRecords: st.dropped_records,
      gaps: st.gaps,
      trimmedExamples: st.trimmed_examples,
      splitSummaries: st.split_summaries,
    };
  }
}

function decodeGap(r: Row): GapBody {
  // Our own gap rows: written by evict() above (plain CBOR), so their shape is known.
  const plain = unpackBody({ body: r.body, ...(r.enc === null ? {} : { enc: r.enc }) });
  if (!plain.ok) throw new Error(`outbox gap ${r.seq}: ${plain.detail}`);
  return decodeCbor(plain.value) as GapBody;
}

function decodeBaselineId(r: Row): string {
  // Our own baseline rows (agent/sync/summary.ts baselineMessage): the id is the body's.
  const plain = unpackBody({ body: r.body, ...(r.enc === null ? {} : { enc: r.enc }) });
  if (!plain.ok) throw new Error(`outbox baseline ${r.seq}: ${plain.detail}`);
  return (decodeCbor(plain.value) as BaselineBody).id;
}
