// Fleet alerts: what fires fleet-wide and why, evaluated every `alerts.interval` from the store.
//
// Candidates, each with a name and labels (its identity is a hash of both):
//   - agent alerts grouped: the latest state of every device's alert, grouped by rule name, model,
//     version and severity into one fleet alert that lists the devices, with counts firing and
//     resolved; it is firing while any device's is (pending while only pending ones are);
//   - config rules: `device_share` (the share of a model's devices whose newest window meets a
//     condition: a feature drifted, or an agent alert firing) and `fleet_drift` (the drift share
//     of the fleet's merged profile in the latest rolled-up hour);
//   - built in: devices offline past a grace period (status topic and last will), devices whose
//     sync is overdue for their own schedule, gaps received (outbox overflows).
// Lifecycle per alert: pending when its condition starts, firing once it has held for the rule's
// `for`, resolved when it stops; a resolved alert that comes back starts pending again. An alert
// matched by an active silence is still tracked and shown, marked silenced, and not notified. An
// acknowledgement holds until the alert resolves.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { AlertsConfig, FleetRule } from '../config/types.js';
import type { CollectorLogger } from '../log.js';
import { AlertQueries, toAlert, type AlertRow } from './queries.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertDevice {
  device: string;
  site: string;
  state: string;
}

/** One fleet alert as it is stored and shown. */
export interface FleetAlert {
  id: string;
  name: string;
  labels: Record<string, string>;
  severity: string;
  source: 'devices' | 'rule';
  state: AlertState;
  summary: string;
  devices: AlertDevice[];
  firing: number;
  resolved: number;
  active_since: number;
  firing_since: number | null;
  resolved_at: number | null;
  updated_at: number;
  acknowledged: { by: string; at: number } | null;
  silenced_by: string | null;
}

interface Candidate {
  name: string;
  labels: Record<string, string>;
  severity: string;
  source: 'devices' | 'rule';
  summary: string;
  devices: AlertDevice[];
  firing: number;
  resolved: number;
  /** The condition holds now. */
  active: boolean;
  /** How long it must hold before firing. */
  forMs: number;
  /** Agent alerts: the fleet alert mirrors them (firing when any device's is), no `for`. */
  mirror?: AlertState;
}

export interface Silence {
  id: string;
  matchers: Record<string, string>;
  starts_at: number;
  ends_at: number;
  comment: string;
  created_by: string;
  created_at: number;
}

/** A state change for the notifier. */
export interface Transition {
  alert: FleetAlert;
  from: AlertState | null;
}


/** Alert identity: a hash of the name and the labels in key order. */
export function fingerprint(name: string, labels: Record<string, string>): string {
  const canon = JSON.stringify([name, Object.keys(labels).sort().map((k) => [k, labels[k]])]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 16);
}


/** The time between two runs of a cron schedule (node-cron computes the runs). */
function cronPeriodMs(expr: string): number | null {
  try {
    const cron = createRequire(import.meta.url)('node-cron') as { createTask(e: string, f: () => void): { getNextRuns(n: number): Date[]; destroy(): void } };
    const task = cron.createTask(expr, () => {});
    const runs = task.getNextRuns(3);
    void task.destroy();
    if (runs.length < 3) return null;
    return Math.max(runs[1]!.getTime() - runs[0]!.getTime(), runs[2]!.getTime() - runs[1]!.getTime());
  } catch {
    return null;
  }
}

export class AlertEngine {
  private readonly s: Record<string, Database.Statement>;
  private readonly periods = new Map<string, number | null>();
  private readonly q: AlertQueries;

  constructor(
    private readonly db: Database.Database,
    private readonly config: AlertsConfig,
    private readonly log: CollectorLogger,
  ) {
    this.q = new AlertQueries(db);
    this.s = {
      // The latest state of each device's agent alert (the newest alert message that carried it).
      deviceAlerts: db.prepare(`
        SELECT a.device, d.site, a.rule, a.model, a.model_version, a.severity, a.state
        FROM alerts a JOIN (SELECT device, alert_id, max(seq) AS seq FROM alerts GROUP BY device, alert_id) l
          ON l.device = a.device AND l.alert_id = a.alert_id AND l.seq = a.seq
        JOIN devices d ON d.id = a.device`),
      newestWindows: db.prepare(`
        SELECT s.device, d.site, s.model_version, s.drifted, s.alerts, s.start_ms FROM summaries s JOIN devices d ON d.id = s.device
        WHERE s.model = ? AND s.start_ms >= ? AND s.part_index = 0 ORDER BY s.start_ms`),
      fleetDrift: db.prepare(`
        SELECT model_version, drift_share, drifted, start_ms FROM fleet_buckets
        WHERE model = ? AND resolution = 'hour' AND scope = '' AND drift_share IS NOT NULL ORDER BY start_ms DESC`),
      devices: db.prepare('SELECT id, site, online, last_seen, sync_mode, sync_cron FROM devices'),
      gaps: db.prepare('SELECT g.device, d.site, g.from_seq, g.to_seq, g.records, g.received_at FROM gaps g JOIN devices d ON d.id = g.device WHERE g.received_at >= ?'),
      rows: db.prepare('SELECT * FROM fleet_alerts'),
      put: db.prepare(`
        INSERT INTO fleet_alerts (fingerprint, name, labels, severity, source, state, summary, devices, firing, resolved,
          active_since, firing_since, resolved_at, updated_at, ack_by, ack_at)
        VALUES (@fingerprint, @name, @labels, @severity, @source, @state, @summary, @devices, @firing, @resolved,
          @active_since, @firing_since, @resolved_at, @updated_at, @ack_by, @ack_at)
        ON CONFLICT (fingerprint) DO UPDATE SET severity = excluded.severity, state = excluded.state, summary = excluded.summary,
          devices = excluded.devices, firing = excluded.firing, resolved = excluded.resolved, active_since = excluded.active_since,
          firing_since = excluded.firing_since, resolved_at = excluded.resolved_at, updated_at = excluded.updated_at,
          ack_by = excluded.ack_by, ack_at = excluded.ack_at`),
    };
  }

  /** Evaluates every candidate at `now`, stores the alerts, returns the state changes. */
  evaluate(now: number): Transition[] {
    const candidates = [...this.agentAlerts(), ...this.config.rules.flatMap((r) => this.rule(r, now)), ...this.builtins(now)];
    const rows = new Map((this.s['rows']!.all() as AlertRow[]).map((r) => [r.fingerprint, r]));
    const silences = this.q.activeSilences(now);
    const transitions: Transition[] = [];
    const seen = new Set<string>();
    const write = (row: AlertRow, from: AlertState | null) => {
      this.s['put']!.run(row);
      if (from !== row.state) transitions.push({ alert: toAlert(row, silences), from });
    };
    this.db.transaction(() => {
      for (const c of candidates) {
        const fp = fingerprint(c.name, c.labels);
        seen.add(fp);
        const old = rows.get(fp);
        const base = {
          fingerprint: fp,
          name: c.name,
          labels: JSON.stringify(c.labels),
          severity: c.severity,
          source: c.source,
          summary: c.summary,
          devices: JSON.stringify(c.devices),
          firing: c.firing,
          resolved: c.resolved,
          updated_at: now,
        };
        const wasActive = old !== undefined && old.state !== 'resolved';
        if (!c.active) {
          // A resolved alert keeps what it said when it resolved.
          if (wasActive) write({ ...base, state: 'resolved', active_since: old.active_since, firing_since: old.firing_since, resolved_at: now, ack_by: null, ack_at: null }, old.state);
          continue;
        }
        const activeSince = wasActive ? old.active_since : now;
        const state: AlertState = c.mirror ?? (now - activeSince >= c.forMs ? 'firing' : 'pending');
        const firingSince = state === 'firing' ? (wasActive && old.firing_since !== null ? old.firing_since : now) : null;
        write(
          { ...base, state, active_since: activeSince, firing_since: firingSince, resolved_at: null, ack_by: wasActive ? old.ack_by : null, ack_at: wasActive ? old.ack_at : null },
          old?.state ?? null,
        );
      }
      // Alerts whose source is gone altogether (a device's alerts all deleted): resolved.
      for (const [fp, old] of rows) {
        if (seen.has(fp) || old.state === 'resolved') continue;
        write({ ...old, state: 'resolved', resolved_at: now, updated_at: now, ack_by: null, ack_at: null }, old.state);
      }
    })();
    return transitions;
  }

  /** Every fleet alert, newest change first, with its silence. */
  alerts(now: number): FleetAlert[] {
    return this.q.fleetAlerts(now);
  }

  private agentAlerts(): Candidate[] {
    const groups = new Map<string, Candidate>();
    for (const r of this.s['deviceAlerts']!.all() as { device: string; site: string; rule: string; model: string; model_version: string; severity: string; state: string }[]) {
      const labels = { alertname: r.rule, model: r.model, version: r.model_version, severity: r.severity };
      const key = JSON.stringify(labels);
      let g = groups.get(key);
      if (g === undefined) {
        groups.set(key, (g = { name: r.rule, labels, severity: r.severity, source: 'devices', summary: '', devices: [], firing: 0, resolved: 0, active: false, forMs: 0 }));
      }
      g.devices.push({ device: r.device, site: r.site, state: r.state });
      if (r.state === 'firing') g.firing++;
      else if (r.state === 'resolved') g.resolved++;
    }
    for (const g of groups.values()) {
      const pending = g.devices.filter((d) => d.state === 'pending').length;
      g.active = g.firing > 0 || pending > 0;
      g.mirror = g.firing > 0 ? 'firing' : 'pending';
      g.devices.sort((a, b) => a.device.localeCompare(b.device));
      g.summary = `${g.labels['alertname']} on ${g.labels['model']} ${g.labels['version']}: ${g.firing} device${g.firing === 1 ? '' : 's'} firing, ${pending} pending, ${g.resolved} resolved`;
    }
    return [...groups.values()];
  }

  private rule(r: FleetRule, now: number): Candidate[] {
    if (r.kind === 'fleet_drift') {
      const rows = this.s['fleetDrift']!.all(r.model) as { model_version: string; drift_share: number; drifted: string; start_ms: number }[];
      const latest = new Map<string, (typeof rows)[number]>();
      for (const row of rows) if (!latest.has(row.model_version) && (r.version === null || row.model_version === r.version)) latest.set(row.model_version, row);
      return [...latest.values()].map((row) => {
        const drifted = JSON.parse(row.drifted) as string[];
        return {
          name: r.name,
          labels: { alertname: r.name, model: r.model, version: row.model_version, severity: r.severity },
          severity: r.severity,
          source: 'rule' as const,
          summary: `fleet drift of ${r.model} ${row.model_version} in the hour from ${new Date(row.start_ms).toISOString()}: ${fmtShare(row.drift_share)} of features drifted (${drifted.join(', ') || 'none'}); the rule fires at ${fmtShare(r.min_share)}`,
          devices: [],
          firing: 0,
          resolved: 0,
          active: row.drift_share >= r.min_share,
          forMs: r.for,
        };
      });
    }
    // device_share: each device's newest window of the model that started within `over`.
    const newest = new Map<string, { device: string; site: string; model_version: string; drifted: string; alerts: string }>();
    for (const w of this.s['newestWindows']!.all(r.model, now - r.over) as { device: string; site: string; model_version: string; drifted: string; alerts: string }[]) {
      if (r.version !== null && w.model_version !== r.version) continue;
      if (r.site !== null && w.site !== r.site) continue;
      newest.set(w.device, w);
    }
    const cond = r.condition;
    const meets = (w: { drifted: string; alerts: string }): boolean => {
      if ('drifted' in cond) {
        const drifted = JSON.parse(w.drifted) as string[];
        return cond.drifted === '*' ? drifted.length > 0 : drifted.includes(cond.drifted);
      }
      return (JSON.parse(w.alerts) as { name: string; state: string }[]).some((a) => a.name === cond.alert && a.state === 'firing');
    };
    const devices: AlertDevice[] = [];
    for (const w of newest.values()) if (meets(w)) devices.push({ device: w.device, site: w.site, state: 'firing' });
    devices.sort((a, b) => a.device.localeCompare(b.device));
    const total = newest.size;
    const shareNow = total === 0 ? 0 : devices.length / total;
    const what = 'drifted' in cond ? (cond.drifted === '*' ? 'drift on any feature' : `drift of ${cond.drifted}`) : `agent alert ${cond.alert} firing`;
    const labels: Record<string, string> = { alertname: r.name, model: r.model, severity: r.severity };
    if (r.version !== null) labels['version'] = r.version;
    if (r.site !== null) labels['site'] = r.site;
    return [
      {
        name: r.name,
        labels,
        severity: r.severity,
        source: 'rule',
        summary: `${what} on ${devices.length} of ${total} devices running ${r.model}${r.site === null ? '' : ` at ${r.site}`} (${fmtShare(shareNow)}; the rule fires at ${fmtShare(r.min_share)} and ${r.min_devices} device${r.min_devices === 1 ? '' : 's'})`,
        devices,
        firing: devices.length,
        resolved: 0,
        active: total > 0 && shareNow >= r.min_share && devices.length >= r.min_devices,
        forMs: r.for,
      },
    ];
  }

  private builtins(now: number): Candidate[] {
    const out: Candidate[] = [];
    const devices = this.s['devices']!.all() as { id: string; site: string; online: number | null; last_seen: number; sync_mode: string | null; sync_cron: string | null }[];
    const { device_offline: offline, sync_overdue: overdue, gap } = this.config;
    if (offline !== null) {
      const list = devices.filter((d) => d.online === 0 && now - d.last_seen >= offline.grace).map((d) => ({ device: d.id, site: d.site, state: 'offline' }));
      out.push(this.listAlert('device_offline', offline.severity, list, `${list.length} device${list.length === 1 ? '' : 's'} offline (last will or status) and unheard for ${fmtDuration(offline.grace)} or more`));
    }
    if (overdue !== null) {
      const list: AlertDevice[] = [];
      for (const d of devices) {
        // A device known offline is device_offline's; one on a schedule may be quiet for a period.
        if (d.online === 0) continue;
        const period = d.sync_mode === 'scheduled' && d.sync_cron !== null ? this.period(d.sync_cron) : 0;
        if (period === null) continue;
        if (now - d.last_seen >= period + overdue.grace) list.push({ device: d.id, site: d.site, state: 'overdue' });
      }
      out.push(this.listAlert('sync_overdue', overdue.severity, list, `${list.length} device${list.length === 1 ? '' : 's'} unheard for longer than their sync schedule plus ${fmtDuration(overdue.grace)}`));
    }
    if (gap !== null) {
      const rows = this.s['gaps']!.all(now - gap.hold) as { device: string; site: string; from_seq: number; to_seq: number; records: number; received_at: number }[];
      const list = rows.map((g) => ({ device: g.device, site: g.site, state: `lost seq ${g.from_seq}-${g.to_seq} (${g.records} records)` }));
      const records = rows.reduce((a, g) => a + g.records, 0);
      out.push(this.listAlert('gap_received', gap.severity, list, `${list.length} gap${list.length === 1 ? '' : 's'} received in the last ${fmtDuration(gap.hold)}: outboxes overflowed, ${records} records lost`));
    }
    return out;
  }

  private listAlert(name: string, severity: string, devices: AlertDevice[], summary: string): Candidate {
    return { name, labels: { alertname: name, severity }, severity, source: 'rule', summary, devices, firing: devices.length, resolved: 0, active: devices.length > 0, forMs: 0 };
  }

  private period(cron: string): number | null {
    if (!this.periods.has(cron)) {
      const p = cronPeriodMs(cron);
      if (p === null) this.log.once(`alerts.cron.${cron}`, 'warn', 'alerts: a device reports a sync schedule that does not parse; its sync is not watched', { cron });
      this.periods.set(cron, p);
    }
    return this.periods.get(cron) ?? null;
  }
}


const fmtShare = (x: number): string => `${(100 * x).toFixed(0)}%`;

function fmtDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
