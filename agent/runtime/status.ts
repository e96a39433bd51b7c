// What `edgewatch-agent status` reports, read from the store (safe while an agent is writing it).
import fs from 'node:fs';
import type { AgentConfig } from '../config/types.js';
import type { LabelCounters } from '../labels/joiner.js';
import type { AgentStore } from '../store/index.js';

export interface ModelStatus {
  accepted: number;
  rejected: number;
  rejected_by_reason: Record<string, number>;
  late: number;
  windows_open: number;
  windows_closed: number;
  watermark: string | null;
  last_version: string | null;
  /** Delayed-label joins (null when labels.delayed is off). */
  labels: LabelCounters | null;
}

export interface FileStatus {
  model: string;
  path: string;
  offset: number;
  size: number;
  done: boolean;
}

export interface AgentStatus {
  device: string;
  site: string;
  database: string;
  models: Record<string, ModelStatus>;
  files: FileStatus[];
}

export function readStatus(config: AgentConfig, store: AgentStore): AgentStatus {
  const models: Record<string, ModelStatus> = {};
  for (const m of config.models) {
    const c = store.loadCounters(m.name);
    const w = store.windowCounts(m.name);
    models[m.name] = {
      accepted: c?.accepted ?? 0,
      rejected: c?.rejected ?? 0,
      rejected_by_reason: c?.rejectedByReason ?? {},
      late: c?.late ?? 0,
      windows_open: w.open,
      windows_closed: w.closed,
      watermark: c?.watermark != null ? new Date(c.watermark).toISOString() : null,
      last_version: c?.lastVersion ?? null,
      labels: m.labels.delayed ? (store.pending.counters(m.name) ?? null) : null,
    };
  }
  const files = store.allFiles().map((f) => ({
    model: f.model,
    path: f.path,
    offset: f.offset,
    size: liveSize(f.path, f.key) ?? f.size,
    done: f.done,
  }));
  return { device: config.device.id, site: config.device.site, database: store.file, models, files };
}

/** The file's size now, when the path still holds the same file. */
function liveSize(p: string, key: string): number | null {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.dev}:${st.ino}` === key ? Number(st.size) : null;
  } catch {
    return null;
  }
}

export function formatStatus(s: AgentStatus): string {
  const lines: string[] = [`device ${s.device} (site ${s.site})   database ${s.database}`, ''];
  const head = ['model', 'accepted', 'rejected', 'late', 'open', 'closed', 'watermark'];
  const rows = Object.entries(s.models).map(([name, m]) => [
    name,
    String(m.accepted),
    String(m.rejected),
    String(m.late),
    String(m.windows_open),
    String(m.windows_closed),
    m.watermark ?? '-',
  ]);
  lines.push(...table(head, rows));
  for (const [name, m] of Object.entries(s.models)) {
    const reasons = Object.entries(m.rejected_by_reason);
    if (reasons.length > 0) lines.push('', `rejected lines of ${name}: ` + reasons.map(([r, n]) => `${r} ${n}`).join(', '));
    const l = m.labels;
    if (l) {
      lines.push('', `delayed labels of ${name}: joined ${l.joined} (${l.joined_after_close} after their window closed), ` +
        `waiting ${l.pending_predictions} predictions and ${l.pending_labels} labels (${l.pending_bytes} bytes), ` +
        `expired ${l.expired_predictions} predictions and ${l.expired_labels} labels, overflow ${l.overflow}, ` +
        `duplicates ${l.duplicates}, window gone ${l.unrevisable}`);
    }
  }
  lines.push('');
  lines.push(...table(['file', 'model', 'offset', 'size', 'state'], s.files.map((f) => [f.path, f.model, String(f.offset), String(f.size), f.done ? 'done' : f.offset < f.size ? 'behind' : 'following'])));
  return lines.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}
