// What `edgewatch-agent status` reports, read from the store (safe while an agent is writing it).
import fs from 'node:fs';
import type { AgentConfig } from '../config/types.js';
import type { LabelCounters } from '../labels/joiner.js';
import type { AgentStore } from '../store/index.js';
import { WindowProfile } from '../profile/index.js';

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

/** One system metric over the newest window that holds readings. */
export interface SystemMetricStatus {
  min: number | null;
  p50: number | null;
  max: number | null;
}

export interface SystemStatus {
  /** The window the readings come from (the newest one with a sampling round), ISO times. */
  window: { model: string; start: string; end: string; rounds: number };
  metrics: Record<string, SystemMetricStatus>;
  /** "<source>:<cause>" -> rounds in that window. */
  failures: Record<string, number>;
}

export interface AgentStatus {
  device: string;
  site: string;
  database: string;
  models: Record<string, ModelStatus>;
  files: FileStatus[];
  /** The latest system readings and the agent's own health (agent.*), or null before any round. */
  system: SystemStatus | null;
  sync: SyncStatus;
}

export interface SyncStatus {
  mode: AgentConfig['sync']['mode'];
  url: string | null;
  cron: string | null;
  /** The outbox (null: a database from before the outbox existed). */
  outbox: {
    messages: number;
    bytes: number;
    max_bytes: number;
    oldest_seq: number | null;
    oldest_created_at: string | null;
    next_seq: number;
    delivered: number;
    dropped_messages: number;
    dropped_records: number;
    gaps: number;
    trimmed_examples: number;
    split_summaries: number;
  } | null;
}

function syncStatus(config: AgentConfig, store: AgentStore): SyncStatus {
  let outbox: SyncStatus['outbox'] = null;
  // A store written before migration 5 has no outbox table; read-only, it cannot be migrated here.
  const hasOutbox = store.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'`).get() !== undefined;
  if (hasOutbox) {
    const o = store.outbox.stats();
    outbox = {
      messages: o.messages,
      bytes: o.bytes,
      max_bytes: config.sync.outbox_max_bytes,
      oldest_seq: o.oldestSeq,
      oldest_created_at: o.oldestCreatedAt === null ? null : new Date(o.oldestCreatedAt).toISOString(),
      next_seq: o.nextSeq,
      delivered: o.delivered,
      dropped_messages: o.droppedMessages,
      dropped_records: o.droppedRecords,
      gaps: o.gaps,
      trimmed_examples: o.trimmedExamples,
      split_summaries: o.splitSummaries,
    };
  }
  return { mode: config.sync.mode, url: config.sync.url, cron: config.sync.cron, outbox };
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
  return { device: config.device.id, site: config.device.site, database: store.file, models, files, system: latestSystem(config, store), sync: syncStatus(config, store) };
}

/** The newest open window (of any model) that holds sampling rounds, summed up per metric. */
function latestSystem(config: AgentConfig, store: AgentStore): SystemStatus | null {
  let best: WindowProfile | null = null;
  for (const m of config.models) {
    for (const w of store.loadOpenWindows(m.name)) {
      if (best !== null && w.start <= best.start) continue;
      const p = WindowProfile.decode(w.profile);
      if (p.system.rounds > 0) best = p;
    }
  }
  if (best === null) return null;
  const json = best.system.toJSON();
  const metrics: Record<string, SystemMetricStatus> = {};
  for (const [name, m] of Object.entries(json.metrics)) {
    metrics[name] = { min: m.min, p50: m.quantiles?.p50 ?? null, max: m.max };
  }
  return {
    window: { model: best.model, start: new Date(best.start).toISOString(), end: new Date(best.end).toISOString(), rounds: json.rounds },
    metrics,
    failures: json.failures,
  };
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
  const sys = s.system;
  if (sys) {
    lines.push('', `system and agent, window ${sys.window.start} (${sys.window.rounds} rounds)`);
    const names = Object.keys(sys.metrics).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
    lines.push(...table(['metric', 'min', 'p50', 'max'], names.map((n) => {
      const m = sys.metrics[n]!;
      return [n, num(m.min), num(m.p50), num(m.max)];
    })));
    const failures = Object.entries(sys.failures);
    if (failures.length > 0) lines.push('', 'sources that failed: ' + failures.map(([k, n]) => `${k} ${n}`).join(', '));
  } else {
    lines.push('', 'system: no sampling round yet (system.enabled, every system.interval while `run` runs)');
  }
  const sync = s.sync;
  const how = sync.mode === 'manual' ? 'manual (export bundles)' : sync.mode === 'scheduled' ? `scheduled "${sync.cron}" to ${sync.url}` : `continuous to ${sync.url}`;
  lines.push('', `sync: ${how}`);
  const o = sync.outbox;
  if (o !== null) {
    lines.push(`outbox: ${o.messages} messages, ${o.bytes} of ${o.max_bytes} bytes` +
      (o.oldest_seq !== null ? `, oldest seq ${o.oldest_seq} from ${o.oldest_created_at}` : '') +
      `; next seq ${o.next_seq}; delivered ${o.delivered}` +
      (o.dropped_messages > 0 ? `; dropped ${o.dropped_messages} messages (${o.dropped_records} records) in ${o.gaps} gaps` : '') +
      (o.trimmed_examples > 0 || o.split_summaries > 0 ? `; ${o.trimmed_examples} examples trimmed, ${o.split_summaries} summaries split to fit` : ''));
  }
  return lines.join('\n');
}

// The agent's own health first, then the machine, then per-core and per-device detail.
function rank(name: string): number {
  if (name.startsWith('agent.')) return 0;
  if (/^(cpu\.core|disk\.io|network)\./.test(name)) return 2;
  return 1;
}

function num(x: number | null): string {
  if (x === null) return '-';
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 2 ** 30).toFixed(2)}Gi`;
  if (a >= 1e6) return `${(x / 2 ** 20).toFixed(1)}Mi`;
  return a >= 100 || Number.isInteger(x) ? x.toFixed(0) : x.toFixed(2);
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}
