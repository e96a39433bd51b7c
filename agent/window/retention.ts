// Keeps the database bounded: closed windows older than `retention.windows` (in event time, so a
// replay of old logs is not rolled up at once) are merged into hourly rollups and removed; rollups
// older than `retention.rollups` are removed. A rollup is a merge, so it loses no count.
import type { ModelConfig, RetentionConfig } from '../config/types.js';
import { WindowProfile } from '../profile/index.js';
import type { AgentStore, StoredWindow } from '../store/index.js';

const HOUR_MS = 3_600_000;
const BATCH = 2_000;

export function rollUpExpired(store: AgentStore, model: ModelConfig, retention: RetentionConfig, watermark: number): number {
  const period = Math.max(HOUR_MS, model.window_ms);
  const cutoff = watermark - retention.windows_ms;
  let removed = 0;
  for (;;) {
    const expired = store.expiredWindows(model.name, cutoff, BATCH);
    if (expired.length === 0) break;
    const groups = new Map<string, { version: string; start: number; windows: StoredWindow[] }>();
    for (const w of expired) {
      const start = Math.floor(w.start / period) * period;
      const key = `${w.modelVersion}\u0000${start}`;
      const g = groups.get(key) ?? { version: w.modelVersion, start, windows: [] };
      g.windows.push(w);
      groups.set(key, g);
    }
    const rollups: StoredWindow[] = [];
    for (const g of groups.values()) {
      const existing = store.loadRollup(model.name, g.version, g.start);
      let merged: WindowProfile | null = existing ? WindowProfile.decode(existing.profile) : null;
      for (const w of g.windows) {
        const p = WindowProfile.decode(w.profile);
        if (merged) merged.merge(p);
        else merged = p;
      }
      if (!merged) continue;
      rollups.push({
        model: model.name,
        modelVersion: g.version,
        start: g.start,
        end: g.start + period,
        state: 'closed',
        closedAt: null,
        count: merged.count,
        rejected: merged.rejected,
        late: merged.late,
        profile: merged.encode(),
        drift: null,
      revision: 0,
      });
    }
    store.applyRollup(model.name, rollups, expired, watermark - retention.rollups_ms);
    removed += expired.length;
    if (expired.length < BATCH) break;
  }
  return removed;
}
