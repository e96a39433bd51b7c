// Fleet alerts and silences as the API reads and changes them (the main thread's connection); the
// engine (engine.ts) evaluates them on the fleet worker's thread.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AlertDevice, AlertState, FleetAlert, Silence } from './engine.js';

export interface NewSilence {
  matchers: Record<string, string>;
  starts_at: number;
  ends_at: number;
  comment: string;
  created_by: string;
}

export class AlertQueries {
  private readonly rows: Database.Statement;
  private readonly active: Database.Statement;
  private readonly all: Database.Statement;
  private readonly ack: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly expire: Database.Statement;

  constructor(db: Database.Database) {
    this.rows = db.prepare('SELECT * FROM fleet_alerts ORDER BY updated_at DESC');
    this.active = db.prepare('SELECT * FROM silences WHERE starts_at <= ? AND ends_at > ? ORDER BY ends_at');
    this.all = db.prepare('SELECT * FROM silences ORDER BY created_at DESC');
    this.ack = db.prepare("UPDATE fleet_alerts SET ack_by = ?, ack_at = ? WHERE fingerprint = ? AND state != 'resolved'");
    this.insert = db.prepare(`
      INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)
      VALUES (@id, @matchers, @starts_at, @ends_at, @comment, @created_by, @created_at)`);
    this.expire = db.prepare('UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?');
  }

  /** The silences running at `now`. */
  activeSilences(now: number): Silence[] {
    return (this.active.all(now, now) as (Omit<Silence, 'matchers'> & { matchers: string })[]).map((s) => ({ ...s, matchers: JSON.parse(s.matchers) as Record<string, string> }));
  }

  fleetAlerts(now: number): FleetAlert[] {
    const silences = this.activeSilences(now);
    return (this.rows.all() as AlertRow[]).map((r) => toAlert(r, silences));
  }

  /** False when there is no such active alert. */
  acknowledge(id: string, by: string, at: number): boolean {
    return this.ack.run(by, at, id).changes === 1;
  }

  silences(): Silence[] {
    return (this.all.all() as (Omit<Silence, 'matchers'> & { matchers: string })[]).map((s) => ({ ...s, matchers: JSON.parse(s.matchers) as Record<string, string> }));
  }

  addSilence(s: NewSilence, now: number): Silence {
    const row: Silence = { id: randomUUID(), ...s, created_at: now };
    this.insert.run({ ...row, matchers: JSON.stringify(row.matchers) });
    return row;
  }

  /** Ends a silence now; false when there is none by that id still running. */
  expireSilence(id: string, now: number): boolean {
    return this.expire.run(now, id, now).changes === 1;
  }
}

/** A fleet_alerts row. */
export interface AlertRow {
  fingerprint: string;
  name: string;
  labels: string;
  severity: string;
  source: 'devices' | 'rule';
  state: AlertState;
  summary: string;
  devices: string;
  firing: number;
  resolved: number;
  active_since: number;
  firing_since: number | null;
  resolved_at: number | null;
  updated_at: number;
  ack_by: string | null;
  ack_at: number | null;
}

export function silenceMatches(s: Pick<Silence, 'matchers'>, labels: Record<string, string>): boolean {
  return Object.entries(s.matchers).every(([k, v]) => labels[k] === v);
}

export function toAlert(r: AlertRow, silences: readonly Silence[]): FleetAlert {
  const labels = JSON.parse(r.labels) as Record<string, string>;
  const silence = r.state === 'resolved' ? undefined : silences.find((s) => silenceMatches(s, labels));
  return {
    id: r.fingerprint,
    name: r.name,
    labels,
    severity: r.severity,
    source: r.source,
    state: r.state,
    summary: r.summary,
    devices: JSON.parse(r.devices) as AlertDevice[],
    firing: r.firing,
    resolved: r.resolved,
    active_since: r.active_since,
    firing_since: r.firing_since,
    resolved_at: r.resolved_at,
    updated_at: r.updated_at,
    acknowledged: r.ack_by === null || r.ack_at === null ? null : { by: r.ack_by, at: r.ack_at },
    silenced_by: silence?.id ?? null,
  };
}
