// Retention: what the collector keeps, and for how long (config `retention`). Summaries are the
// bulk (a 20-feature summary is about 17 KB; 10,000 devices send 14 million a day), so they go first,
// once folded into the rollups; fleet windows go after a couple of days, hours after months, days
// after years. The (device, seq) dedupe log stays: it is small, and it is what keeps a bundle
// imported twice, weeks apart, from counting twice.
//
// Pruning runs on the fleet worker's thread in small transactions (DELETE ... LIMIT by rowid), so
// ingest's writer never waits long for the lock.
import type Database from 'better-sqlite3';
import type { CollectorConfig } from '../config/types.js';

/** Rows deleted per transaction. */
const CHUNK = 2_000;

export interface PruneResult {
  summaries: number;
  buckets: { window: number; hour: number; day: number };
}

export class Pruner {
  private readonly s: Record<string, Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly retention: CollectorConfig['retention'],
  ) {
    this.s = {
      watermark: db.prepare("SELECT value FROM fleet_state WHERE name = 'folded_rowid'"),
      // Summaries arrive roughly in time order: the lowest rowids are the oldest windows, so the
      // scan reads from there and stops at the first young one.
      oldestSummaries: db.prepare(`SELECT rowid, device, end_ms FROM summaries WHERE rowid <= ? ORDER BY rowid LIMIT ${CHUNK}`),
      deleteSummary: db.prepare('DELETE FROM summaries WHERE rowid = ?'),
      uncount: db.prepare('UPDATE devices SET summaries = max(0, summaries - ?) WHERE id = ?'),
      deleteBuckets: db.prepare(`
        DELETE FROM fleet_buckets WHERE rowid IN (SELECT rowid FROM fleet_buckets WHERE resolution = ? AND start_ms < ? LIMIT ${CHUNK})`),
    };
  }

  /** Deletes what is past its retention at `now`, at most `maxChunks` transactions of each kind. */
  prune(now: number, maxChunks = 50): PruneResult {
    const out: PruneResult = { summaries: 0, buckets: { window: 0, hour: 0, day: 0 } };
    const r = this.retention;
    if (r.summaries !== null) {
      // Only what the rollups already hold.
      const folded = (this.s['watermark']!.get() as { value: number } | undefined)?.value ?? 0;
      const cutoff = now - r.summaries;
      for (let i = 0; i < maxChunks; i++) {
        const oldest = this.s['oldestSummaries']!.all(folded) as { rowid: number; device: string; end_ms: number }[];
        const rows = oldest.filter((row) => row.end_ms < cutoff);
        if (rows.length === 0) break;
        this.db.transaction(() => {
          const perDevice = new Map<string, number>();
          for (const row of rows) {
            this.s['deleteSummary']!.run(row.rowid);
            perDevice.set(row.device, (perDevice.get(row.device) ?? 0) + 1);
          }
          for (const [device, n] of perDevice) this.s['uncount']!.run(n, device);
        })();
        out.summaries += rows.length;
        // Young rows among the oldest: what is older came late and waits for the rows around it.
        if (rows.length < oldest.length || oldest.length < CHUNK) break;
      }
    }
    for (const [res, keep] of [['window', r.fleet_windows], ['hour', r.fleet_hours], ['day', r.fleet_days]] as const) {
      if (keep === null) continue;
      for (let i = 0; i < maxChunks; i++) {
        const n = this.s['deleteBuckets']!.run(res, now - keep).changes;
        out.buckets[res] += n;
        if (n < CHUNK) break;
      }
    }
    return out;
  }
}
