// Alerts in the agent's database (table `alerts`, migration 4). `write` runs inside the caller's
// transaction (the agent's commit), so an alert changes state together with the windows it came from.
import type Database from 'better-sqlite3';
import type { Alert } from './engine.js';

/** An alert as stored: its labels as JSON text. */
type AlertRow = Omit<Alert, 'labels'> & { labels: string };

function toAlert(r: AlertRow): Alert {
  return { ...r, labels: JSON.parse(r.labels) as Record<string, string> };
}

// Firing before pending, then the most severe, then the oldest.
const ACTIVE_ORDER = `state = 'pending', CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, pending_at, id`;

export class AlertStore {
  private readonly upsert: Database.Statement;
  private readonly activeRows: Database.Statement;
  private readonly resolvedSince: Database.Statement;
  private readonly maxId: Database.Statement;
  private readonly pruneResolved: Database.Statement;

  /** True when the database has the alerts table (a read-only store of an older agent may not). */
  static available(db: Database.Database): boolean {
    return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'`).get() !== undefined;
  }

  constructor(db: Database.Database) {
    this.upsert = db.prepare(`
      INSERT INTO alerts (id, rule, model, model_version, state, severity, labels, metric, op, threshold, value,
        last_value, pending_at, firing_at, resolved_at, updated_at, reason)
      VALUES (@id, @rule, @model, @model_version, @state, @severity, @labels, @metric, @op, @threshold, @value,
        @last_value, @pending_at, @firing_at, @resolved_at, @updated_at, @reason)
      ON CONFLICT (id) DO UPDATE SET state = excluded.state, severity = excluded.severity, labels = excluded.labels,
        metric = excluded.metric, op = excluded.op, threshold = excluded.threshold, value = excluded.value,
        last_value = excluded.last_value, firing_at = excluded.firing_at, resolved_at = excluded.resolved_at,
        updated_at = excluded.updated_at, reason = excluded.reason`);
    this.activeRows = db.prepare(`SELECT * FROM alerts WHERE state <> 'resolved' ORDER BY ${ACTIVE_ORDER}`);
    this.resolvedSince = db.prepare(
      `SELECT * FROM alerts WHERE state = 'resolved' AND resolved_at >= ? ORDER BY resolved_at DESC, id DESC`,
    );
    this.maxId = db.prepare(`SELECT COALESCE(MAX(id), 0) AS id FROM alerts`);
    this.pruneResolved = db.prepare(`DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?`);
  }

  /** Pending and firing alerts: what the engine is constructed from. */
  active(): Alert[] {
    return (this.activeRows.all() as AlertRow[]).map(toAlert);
  }

  /** The id the engine gives its next new alert. */
  nextId(): number {
    return (this.maxId.get() as { id: number }).id + 1;
  }

  /** Writes the engine's changes; no transaction of its own, so it joins the caller's. */
  write(changes: readonly Alert[]): void {
    for (const a of changes) this.upsert.run({ ...a, labels: JSON.stringify(a.labels) });
  }

  /** Active alerts, and those resolved at or after `since` (epoch ms), newest first. */
  list(opts: { since: number }): { active: Alert[]; recent: Alert[] } {
    return { active: this.active(), recent: (this.resolvedSince.all(opts.since) as AlertRow[]).map(toAlert) };
  }

  /** Removes resolved alerts older than `before`; returns how many. */
  prune(before: number): number {
    return this.pruneResolved.run(before).changes;
  }
}
