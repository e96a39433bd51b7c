// Read queries of the collector store: devices, windows (newest revision per window), status and
// raw bodies for fleet merges. Statements are prepared once; JSON columns are parsed here.
import { unpackBody } from '../../agent/wire/index.js';
import type Database from 'better-sqlite3';
import type {
  AlertRef,
  CollectorStatus,
  DeviceDetail,
  DeviceRow,
  GapRow,
  ModelRow,
  RejectionRow,
  SummaryBody,
  WindowQuery,
  WindowRow,
} from './types.js';

export const DEFAULT_WINDOW_LIMIT = 1_000;
export const MAX_WINDOW_LIMIT = 10_000;

interface DeviceDbRow {
  id: string;
  site: string;
  first_seen: number;
  last_seen: number;
  agent_version: string | null;
  online: number | null;
  status_at: number | null;
  sync_mode: 'continuous' | 'scheduled' | null;
  sync_cron: string | null;
  last_seq: number | null;
  summaries: number;
  tags: string;
}

type WindowDbRow = Omit<WindowRow, 'drifted' | 'alerts'> & { drifted: string; alerts: string };

const SUMMARY_COLUMNS = `s.device, s.seq, s.kind, s.model, s.model_version, s.start_ms, s.end_ms, s.closed_at, s.revision,
  s.part_index, s.part_of, s.sent_at, s.received_at, s.count, s.rejected, s.late, s.errors, s.latency_p50, s.latency_p95,
  s.latency_p99, s.confidence_mean, s.drift_share, s.drifted, s.quality, s.alerts, s.trimmed_examples`;

// Windows keyed by (model, version, start): the newest revision of each, the lowest part of it
// that arrived, and of copies under several seqs (an agent that re-sent a revision) the last.
// SQLite takes the bare columns of a MAX() aggregate from the row holding the maximum.
const WINDOWS_SQL = `
  WITH latest AS (
    SELECT model, model_version, start_ms, MAX(revision) AS revision
    FROM summaries
    WHERE device = @device AND (@model IS NULL OR model = @model) AND start_ms >= @from AND start_ms < @to
    GROUP BY model, model_version, start_ms
    ORDER BY start_ms DESC, model DESC, model_version DESC
    LIMIT @limit
  ), picked AS (
    SELECT s.model, s.model_version, s.start_ms, s.revision, COUNT(DISTINCT s.part_index) AS parts, MIN(s.part_index) AS part_index
    FROM summaries s JOIN latest l
      ON s.device = @device AND s.model = l.model AND s.model_version = l.model_version AND s.start_ms = l.start_ms AND s.revision = l.revision
    GROUP BY s.model, s.model_version, s.start_ms
  )
  SELECT ${SUMMARY_COLUMNS}, p.parts, MAX(s.seq) AS newest
  FROM summaries s JOIN picked p
    ON s.device = @device AND s.model = p.model AND s.model_version = p.model_version AND s.start_ms = p.start_ms
      AND s.revision = p.revision AND s.part_index = p.part_index
  GROUP BY s.model, s.model_version, s.start_ms
  ORDER BY s.start_ms, s.model, s.model_version`;

const BODIES_SQL = `
  WITH latest AS (
    SELECT model_version, start_ms, MAX(revision) AS revision
    FROM summaries
    WHERE device = @device AND model = @model AND start_ms >= @from AND start_ms < @to
    GROUP BY model_version, start_ms
  )
  SELECT s.device, s.model_version, s.start_ms, s.end_ms, s.revision, s.part_index, s.part_of, s.body, s.body_enc, MAX(s.seq) AS seq
  FROM summaries s JOIN latest l
    ON s.device = @device AND s.model = @model AND s.model_version = l.model_version AND s.start_ms = l.start_ms AND s.revision = l.revision
  GROUP BY s.model_version, s.start_ms, s.part_index
  ORDER BY s.start_ms, s.model_version, s.part_index`;

export class StoreQueries {
  private readonly devicesStmt: Database.Statement;
  private readonly deviceStmt: Database.Statement;
  private readonly modelsStmt: Database.Statement;
  private readonly deviceGapsStmt: Database.Statement;
  private readonly windowsStmt: Database.Statement;
  private readonly bodiesStmt: Database.Statement;
  private readonly countsStmt: Database.Statement;
  private readonly rejectedStmt: Database.Statement;
  private readonly gapsStmt: Database.Statement;
  private readonly rejectionsStmt: Database.Statement;

  constructor(db: Database.Database) {
    const deviceSelect = 'SELECT d.* FROM devices d';
    this.devicesStmt = db.prepare(`${deviceSelect} ORDER BY d.id`);
    this.deviceStmt = db.prepare(`${deviceSelect} WHERE d.id = ?`);
    this.modelsStmt = db.prepare(`
      SELECT model, model_version, COUNT(DISTINCT start_ms) AS windows, MAX(end_ms) AS last_end
      FROM summaries WHERE device = ? GROUP BY model, model_version ORDER BY model, model_version`);
    this.deviceGapsStmt = db.prepare('SELECT * FROM gaps WHERE device = ? ORDER BY from_seq, seq');
    this.windowsStmt = db.prepare(WINDOWS_SQL);
    this.bodiesStmt = db.prepare(BODIES_SQL);
    this.countsStmt = db.prepare(`
      SELECT (SELECT COUNT(*) FROM devices) AS devices, (SELECT COUNT(*) FROM summaries) AS summaries,
        (SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'duplicates') AS duplicates`);
    this.rejectedStmt = db.prepare('SELECT reason, SUM(count) AS n FROM rejections GROUP BY reason ORDER BY reason');
    this.gapsStmt = db.prepare('SELECT device, from_seq, to_seq, records FROM gaps ORDER BY device, from_seq, seq');
    this.rejectionsStmt = db.prepare('SELECT * FROM rejections ORDER BY device, reason');
  }

  devices(): DeviceRow[] {
    return (this.devicesStmt.all() as DeviceDbRow[]).map(toDevice);
  }

  device(id: string): DeviceDetail | null {
    const row = this.deviceStmt.get(id) as DeviceDbRow | undefined;
    if (row === undefined) return null;
    const models: ModelRow[] = [];
    for (const r of this.modelsStmt.all(id) as Array<{ model: string; model_version: string; windows: number; last_end: number | null }>) {
      let m = models.at(-1);
      if (m === undefined || m.model !== r.model) {
        m = { model: r.model, versions: [], windows: 0, last_window_end: null };
        models.push(m);
      }
      m.versions.push(r.model_version);
      m.windows += r.windows;
      if (r.last_end !== null && (m.last_window_end === null || r.last_end > m.last_window_end)) m.last_window_end = r.last_end;
    }
    return { ...toDevice(row), models, gaps: this.deviceGapsStmt.all(id) as GapRow[] };
  }

  windows(device: string, q: WindowQuery): WindowRow[] {
    const rows = this.windowsStmt.all({
      device,
      model: q.model ?? null,
      from: q.from ?? Number.MIN_SAFE_INTEGER,
      to: q.to ?? Number.MAX_SAFE_INTEGER,
      limit: clampLimit(q.limit),
    }) as Array<WindowDbRow & { newest: number }>;
    return rows.map(({ newest: _newest, ...r }) => ({
      ...r,
      drifted: JSON.parse(r.drifted) as string[],
      alerts: JSON.parse(r.alerts) as AlertRef[],
    }));
  }

  summaryBodies(device: string, model: string, from: number, to: number): SummaryBody[] {
    const rows = this.bodiesStmt.all({ device, model, from, to }) as Array<SummaryBody & { body_enc: 'deflate' | null }>;
    return rows.map(({ body_enc, ...r }) => {
      if (body_enc === null) return r;
      // Stored as it came; what was stored was checked at ingest, so it inflates.
      const plain = unpackBody({ body: r.body, enc: body_enc });
      if (!plain.ok) throw new Error(`summary ${r.device}/${r.seq}: ${plain.detail}`);
      return { ...r, body: plain.value };
    });
  }

  status(): CollectorStatus {
    const counts = this.countsStmt.get() as { devices: number; summaries: number; duplicates: number };
    const rejected: Record<string, number> = {};
    for (const r of this.rejectedStmt.all() as Array<{ reason: string; n: number }>) rejected[r.reason] = r.n;
    return {
      devices: counts.devices,
      summaries: counts.summaries,
      duplicates: counts.duplicates,
      rejected,
      gaps: this.gapsStmt.all() as CollectorStatus['gaps'],
    };
  }

  rejections(): RejectionRow[] {
    return this.rejectionsStmt.all() as RejectionRow[];
  }
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_WINDOW_LIMIT;
  return Math.min(MAX_WINDOW_LIMIT, Math.max(1, Math.floor(limit)));
}

function toDevice(r: DeviceDbRow): DeviceRow {
  return {
    id: r.id,
    site: r.site,
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    agent_version: r.agent_version,
    online: r.online === null ? null : r.online === 1,
    status_at: r.status_at,
    sync: r.sync_mode === null ? null : { mode: r.sync_mode, cron: r.sync_cron },
    last_seq: r.last_seq,
    summaries: r.summaries,
    tags: JSON.parse(r.tags) as string[],
  };
}
