// What the collector's /metrics reads from the store at each scrape (collector/http/metrics.ts
// renders it), beside the counters the ingest side keeps since start.
import type Database from 'better-sqlite3';

/** Counters since the collector started, kept by the ingest side (IngestWorker, the broker). */
export interface CollectorCounters {
  /** Messages by ingest result: stored, duplicate, status, ignored. */
  messages: Record<string, number>;
  /** Messages refused by ingest, by reason. */
  refused: Record<string, number>;
  /** MQTT refusals by the embedded broker: connection, acl, subscribe; and commits that failed. */
  broker: Record<string, number>;
}

export interface MetricsInput {
  devices: { online: number; offline: number; unknown: number };
  /** Device alerts whose latest state is firing, by rule name and severity. */
  alertsFiring: { name: string; severity: string; devices: number }[];
  /** Fleet drift share of each model version's latest hour compared with a baseline. */
  fleetDrift: { model: string; version: string; share: number; hour: number }[];
  /** Summaries stored and not folded into the fleet rollups yet. */
  fleetBacklog: number;
  counters: CollectorCounters;
  uptimeS: number;
}

/** Reads what /metrics shows from the store (the main thread's connection). */
export class MetricsQueries {
  private readonly devices: Database.Statement;
  private readonly alerts: Database.Statement;
  private readonly drift: Database.Statement;
  private readonly backlog: Database.Statement;

  constructor(db: Database.Database) {
    this.devices = db.prepare('SELECT online, count(*) AS n FROM devices GROUP BY online');
    // An agent alert's latest state is the one in the newest alert message that carried it.
    this.alerts = db.prepare(`
      SELECT a.rule AS name, a.severity, count(DISTINCT a.device) AS devices
      FROM alerts a JOIN (SELECT device, alert_id, max(seq) AS seq FROM alerts GROUP BY device, alert_id) l
        ON l.device = a.device AND l.alert_id = a.alert_id AND l.seq = a.seq
      WHERE a.state = 'firing' GROUP BY a.rule, a.severity ORDER BY a.rule, a.severity`);
    this.drift = db.prepare(`
      SELECT b.model, b.model_version AS version, b.drift_share AS share, b.start_ms AS hour FROM fleet_buckets b
      JOIN (SELECT model, model_version, max(start_ms) AS start_ms FROM fleet_buckets
            WHERE resolution = 'hour' AND scope = '' AND drift_share IS NOT NULL GROUP BY model, model_version) l
        ON l.model = b.model AND l.model_version = b.model_version AND l.start_ms = b.start_ms
      WHERE b.resolution = 'hour' AND b.scope = '' ORDER BY b.model, b.model_version`);
    this.backlog = db.prepare(`
      SELECT (SELECT coalesce(max(rowid), 0) FROM summaries) - coalesce((SELECT value FROM fleet_state WHERE name = 'folded_rowid'), 0) AS n`);
  }

  read(counters: CollectorCounters, uptimeS: number): MetricsInput {
    const devices = { online: 0, offline: 0, unknown: 0 };
    for (const r of this.devices.all() as { online: number | null; n: number }[]) {
      if (r.online === 1) devices.online += r.n;
      else if (r.online === 0) devices.offline += r.n;
      else devices.unknown += r.n;
    }
    return {
      devices,
      alertsFiring: this.alerts.all() as MetricsInput['alertsFiring'],
      fleetDrift: this.drift.all() as MetricsInput['fleetDrift'],
      fleetBacklog: Math.max(0, (this.backlog.get() as { n: number }).n),
      counters,
      uptimeS,
    };
  }
}

