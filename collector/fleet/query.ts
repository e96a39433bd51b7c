// Reads of the fleet rollups for the API: which models and versions the fleet runs, and one
// model version's merged profile over a time range, from the coarsest buckets that fit.
import type Database from 'better-sqlite3';
import { WindowProfile, type WindowJson } from '../../agent/profile/index.js';
import { DAY_MS, FLEET, HOUR_MS, type Resolution } from './aggregate.js';

export interface FleetVersionRow {
  version: string;
  /** Device windows in the fleet's day buckets. */
  windows: number;
  records: number;
  /** Start of the first and of the last day with windows. */
  first_day: number;
  last_day: number;
  sites: string[];
  tags: string[];
}

export interface FleetModelRow {
  model: string;
  versions: FleetVersionRow[];
}

/** A baseline as the collector keeps it (table `baselines`). */
export interface StoredBaselineRow {
  model: string;
  model_version: string;
  profile: Uint8Array;
  records: number;
  source: string;
  created_at: number;
  uploaded_at: number;
  /** The admin token's name, or 'agents' for a merge of baselines agents sent. */
  uploaded_by: string;
  /** 0: uploaded by an admin; n: the merge of n distinct baselines sent by agents. */
  agents: number;
}

/** A distinct baseline agents sent for a (model, key), and whether it is in the fleet baseline. */
export interface AgentBaselineRow {
  id: string;
  source: string;
  created_at: number;
  records: number;
  /** How many devices sent it, and the first. */
  devices: number;
  first_device: string;
  received_at: number;
  /** In the fleet baseline; false: an admin's upload was there, or it would not merge with the others. */
  merged: boolean;
}

export interface DriftingDevice {
  device: string;
  site: string;
  windows: number;
  mean_drift_share: number;
  drifted_windows: number;
}

export interface FleetProfileQuery {
  model: string;
  version: string;
  /** FLEET (''), or siteScope(name). */
  scope: string;
  resolution: Resolution;
  from: number;
  to: number;
}

export interface FleetProfile {
  model: string;
  version: string;
  scope: string;
  resolution: Resolution;
  /** Buckets merged; the range they cover (the first's start to the last's end). */
  buckets: number;
  from: number | null;
  to: number | null;
  windows: number;
  records: number;
  /** The merged profile, or null when no bucket falls in the range. */
  profile: WindowJson | null;
  /** The same, as a profile (for drift), not sent. */
  merged: WindowProfile | null;
}

/** The most buckets one request merges (about 60 ms here at 20 features); coarser resolutions cover more. */
export const MAX_BUCKETS = 240;

export const SPAN_MS: Record<Resolution, number> = { window: 60_000, hour: HOUR_MS, day: DAY_MS };

/** The resolution a range gets by default: windows up to 4 hours, hours up to 10 days, then days. */
export function defaultResolution(from: number, to: number): Resolution {
  const span = to - from;
  return span <= 4 * HOUR_MS ? 'window' : span <= 10 * DAY_MS ? 'hour' : 'day';
}

export class FleetQueries {
  private readonly models: Database.Statement;
  private readonly sites: Database.Statement;
  private readonly count: Database.Statement;
  private readonly buckets: Database.Statement;
  private readonly versionDevices: Database.Statement;
  private readonly putBaselineStmt: Database.Statement;
  private readonly baselineStmt: Database.Statement;
  private readonly exactBaselineStmt: Database.Statement;
  private readonly agentBaselinesStmt: Database.Statement;
  private readonly driftingStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.models = db.prepare(`
      SELECT model, model_version, sum(windows) AS windows, sum(records) AS records, min(start_ms) AS first_day, max(start_ms) AS last_day
      FROM fleet_buckets WHERE resolution = 'day' AND scope = '' GROUP BY model, model_version ORDER BY model, model_version`);
    this.sites = db.prepare(`
      SELECT DISTINCT model, model_version, substr(scope, 1, 4) AS kind, substr(scope, 6) AS site, substr(scope, 5) AS tag FROM fleet_buckets
      WHERE resolution = 'day' AND (scope LIKE 'site:%' OR scope LIKE 'tag:%') ORDER BY 1, 2, 3, 4, 5`);
    this.count = db.prepare(`
      SELECT count(*) AS n FROM fleet_buckets
      WHERE model = ? AND model_version = ? AND resolution = ? AND scope = ? AND start_ms >= ? AND start_ms < ?`);
    this.putBaselineStmt = db.prepare(`
      INSERT INTO baselines (model, model_version, profile, records, source, created_at, uploaded_at, uploaded_by, agents)
      VALUES (@model, @model_version, @profile, @records, @source, @created_at, @uploaded_at, @uploaded_by, @agents)
      ON CONFLICT (model, model_version) DO UPDATE SET profile = excluded.profile, records = excluded.records, source = excluded.source,
        created_at = excluded.created_at, uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by, agents = excluded.agents`);
    this.exactBaselineStmt = db.prepare('SELECT * FROM baselines WHERE model = ? AND model_version = ?');
    this.agentBaselinesStmt = db.prepare(`
      SELECT id, source, created_at, records, first_device, received_at, merged,
        (SELECT count(*) FROM agent_baseline_devices d WHERE d.model = b.model AND d.model_version = b.model_version AND d.id = b.id) AS devices
      FROM agent_baselines b WHERE model = ? AND model_version = ? ORDER BY received_at, id`);
    this.baselineStmt = db.prepare("SELECT * FROM baselines WHERE model = ? AND model_version IN (?, '*') ORDER BY model_version = '*' LIMIT 1");
    // Mean drift share over each device's windows that had a baseline (the first part of a window).
    this.driftingStmt = db.prepare(`
      SELECT s.device, d.site, count(*) AS windows, avg(s.drift_share) AS mean_drift_share,
        sum(CASE WHEN s.drifted != '[]' THEN 1 ELSE 0 END) AS drifted_windows
      FROM summaries s JOIN devices d ON d.id = s.device
      WHERE s.model = ? AND s.model_version = ? AND s.start_ms >= ? AND s.start_ms < ? AND s.drift_share IS NOT NULL AND s.part_index = 0
      GROUP BY s.device ORDER BY mean_drift_share DESC, s.device LIMIT ?`);
    this.versionDevices = db.prepare(`
      SELECT model_version AS version, count(*) AS devices FROM fleet_device_versions
      WHERE model = ? AND last_start >= ? AND first_start < ? GROUP BY model_version ORDER BY model_version`);
    this.buckets = db.prepare(`
      SELECT start_ms, profile, windows, records FROM fleet_buckets
      WHERE model = ? AND model_version = ? AND resolution = ? AND scope = ? AND start_ms >= ? AND start_ms < ?
      ORDER BY start_ms`);
  }

  fleetModels(): FleetModelRow[] {
    const sites = new Map<string, string[]>();
    const tags = new Map<string, string[]>();
    for (const r of this.sites.all() as { model: string; model_version: string; kind: string; site: string; tag: string }[]) {
      const k = `${r.model}\u0000${r.model_version}`;
      if (r.kind === 'site') sites.set(k, [...(sites.get(k) ?? []), r.site]);
      else tags.set(k, [...(tags.get(k) ?? []), r.tag]);
    }
    const out: FleetModelRow[] = [];
    for (const r of this.models.all() as { model: string; model_version: string; windows: number; records: number; first_day: number; last_day: number }[]) {
      let m = out[out.length - 1];
      if (m === undefined || m.model !== r.model) out.push((m = { model: r.model, versions: [] }));
      m.versions.push({
        version: r.model_version,
        windows: r.windows,
        records: r.records,
        first_day: r.first_day,
        last_day: r.last_day,
        sites: sites.get(`${r.model}\u0000${r.model_version}`) ?? [],
        tags: tags.get(`${r.model}\u0000${r.model_version}`) ?? [],
      });
    }
    return out;
  }

  putBaseline(b: StoredBaselineRow): void {
    this.putBaselineStmt.run(b);
  }

  /** The baseline stored under exactly this key (a version, or '*'), with no fallback. */
  baselineAt(model: string, key: string): StoredBaselineRow | null {
    return (this.exactBaselineStmt.get(model, key) as StoredBaselineRow | undefined) ?? null;
  }

  /** The distinct baselines agents sent under exactly this key (a version, or '*'), first received first. */
  agentBaselines(model: string, key: string): AgentBaselineRow[] {
    return (this.agentBaselinesStmt.all(model, key) as Array<Omit<AgentBaselineRow, 'merged'> & { merged: number }>).map((r) => ({ ...r, merged: r.merged === 1 }));
  }

  baselineFor(model: string, version: string): StoredBaselineRow | null {
    return (this.baselineStmt.get(model, version) as StoredBaselineRow | undefined) ?? null;
  }

  topDriftingDevices(model: string, version: string, from: number, to: number, limit: number): DriftingDevice[] {
    return this.driftingStmt.all(model, version, from, to, limit) as DriftingDevice[];
  }

  /** Devices that ran each version of a model in [from, to) (version comparison). */
  versionDeviceCounts(model: string, from: number, to: number): { version: string; devices: number }[] {
    return this.versionDevices.all(model, from, to) as { version: string; devices: number }[];
  }

  /** Buckets that a query would merge (to refuse one that would merge too many). */
  bucketCount(q: FleetProfileQuery): number {
    const from = q.resolution === 'window' ? q.from : q.from - (q.from % SPAN_MS[q.resolution]);
    return (this.count.get(q.model, q.version, q.resolution, q.scope, from, q.to) as { n: number }).n;
  }

  /** The buckets whose start falls in [from, to), each with its profile decoded, in time order. */
  fleetBuckets(q: FleetProfileQuery): { start: number; windows: number; records: number; profile: WindowProfile }[] {
    const from = q.resolution === 'window' ? q.from : q.from - (q.from % SPAN_MS[q.resolution]);
    const rows = this.buckets.all(q.model, q.version, q.resolution, q.scope, from, q.to) as { start_ms: number; profile: Buffer; windows: number; records: number }[];
    return rows.map((r) => ({ start: r.start_ms, windows: r.windows, records: r.records, profile: WindowProfile.decode(r.profile) }));
  }

  /** The merge of the buckets whose start falls in [from, to), the first one widened to its bucket. */
  fleetProfile(q: FleetProfileQuery): FleetProfile {
    const buckets = this.fleetBuckets(q);
    let acc: WindowProfile | null = null;
    let windows = 0;
    for (const b of buckets) {
      if (acc === null) acc = b.profile;
      else acc.merge(b.profile);
      windows += b.windows;
    }
    return {
      model: q.model,
      version: q.version,
      scope: q.scope === FLEET ? 'fleet' : q.scope,
      resolution: q.resolution,
      buckets: buckets.length,
      from: acc?.start ?? null,
      to: acc?.end ?? null,
      windows,
      records: acc?.count ?? 0,
      profile: acc?.toJSON() ?? null,
      merged: acc,
    };
  }
}
