// `edgewatch-agent alerts`: the active alerts and those resolved recently, read from the store
// (safe while an agent is writing it), as two tables or one JSON object.
import type { Alert } from '../alerts/index.js';
import { AlertStore } from '../alerts/index.js';
import type { AgentConfig } from '../config/types.js';
import { AgentStore } from '../store/index.js';

/** Resolved alerts of the last day are shown unless --since says otherwise. */
export const RECENT_MS = 86_400_000;

export interface AlertList {
  active: Alert[];
  recent: Alert[];
}

export function readAlerts(config: AgentConfig, since: number): AlertList {
  const store = AgentStore.openForReading(config.data_dir);
  try {
    // A database last written by an agent before alerts existed has no table: nothing to show.
    if (!AlertStore.available(store.db)) return { active: [], recent: [] };
    return new AlertStore(store.db).list({ since });
  } finally {
    store.close();
  }
}

// To the second: the table is for reading; --json has the exact times.
const iso = (ms: number | null): string => (ms === null ? '-' : `${new Date(ms).toISOString().slice(0, 19)}Z`);

function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}

const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') || '-';

export function formatAlerts(list: AlertList, since: number): string {
  const lines: string[] = [];
  lines.push(`active alerts: ${list.active.length}`);
  if (list.active.length > 0) {
    lines.push('');
    lines.push(...table(
      ['state', 'severity', 'rule', 'model', 'version', 'condition', 'value', 'last', 'since', 'labels'],
      list.active.map((a) => [
        a.state, a.severity, a.rule, a.model, a.model_version || '-', `${a.metric} ${a.op} ${num(a.threshold)}`,
        num(a.value), num(a.last_value), iso(a.firing_at ?? a.pending_at), labelText(a.labels),
      ]),
    ));
  }
  lines.push('', `resolved since ${iso(since)}: ${list.recent.length}`);
  if (list.recent.length > 0) {
    lines.push('');
    lines.push(...table(
      ['severity', 'rule', 'model', 'version', 'condition', 'value', 'pending', 'fired', 'resolved', 'reason'],
      list.recent.map((a) => [
        a.severity, a.rule, a.model, a.model_version || '-', `${a.metric} ${a.op} ${num(a.threshold)}`,
        num(a.value), iso(a.pending_at), iso(a.firing_at), iso(a.resolved_at), a.reason ?? '-',
      ]),
    ));
  }
  return lines.join('\n');
}

export function alertsCommand(
  config: AgentConfig,
  opts: { json: boolean; since?: number | undefined; now?: number },
  out: (s: string) => void,
): number {
  const since = opts.since ?? (opts.now ?? Date.now()) - RECENT_MS;
  const list = readAlerts(config, since);
  out(opts.json ? JSON.stringify(list) : formatAlerts(list, since));
  return 0;
}
