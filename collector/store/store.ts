// The collector's one SQLite file (WAL). Each message is stored in one transaction - device upsert,
// the (device, seq) dedupe row, then the kind's rows - so a message is either wholly there or not
// at all, and what is there was acknowledged at most once.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../agent/store/sqlite.js';
import type { AlertBody, BaselineBody, GapBody, StatusMessage, WindowBody } from '../../agent/wire/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { FleetQueries, type AgentBaselineRow, type DriftingDevice, type FleetModelRow, type FleetProfile, type FleetProfileQuery, type StoredBaselineRow } from '../fleet/query.js';
import { AlertQueries, type NewSilence } from '../alerts/queries.js';
import type { FleetAlert, Silence } from '../alerts/engine.js';
import { MetricsQueries, type CollectorCounters, type MetricsInput } from './metrics.js';
import { StoreQueries } from './queries.js';
import { MIGRATIONS } from './schema.js';
import type { CollectorStatus, DeviceDetail, DeviceRow, IncomingMessage, RejectionRow, SummaryBody, WindowQuery, WindowRow } from './types.js';

export const DB_FILE = 'collector.db';
/** How long a writer waits for another process's lock (an import next to a running collector). */
const BUSY_TIMEOUT_MS = 5_000;
/** Refusal details are kept for a look, not as evidence: a bad topic can be long. */
export const DETAIL_CAP = 500;
/** SQLite page size of a new store (scripts/bench/collector.ts measured 4, 8, 16 and 32 KiB). */
const PAGE_SIZE = 16_384;

export type WriteOutcome = 'stored' | 'duplicate';
export type { StoredBaselineRow } from '../fleet/query.js';


export class CollectorStore {
  private readonly q: StoreQueries;
  private readonly fq: FleetQueries;
  private readonly mq: MetricsQueries;
  private readonly aq: AlertQueries;
  private readonly upsertDevice: Database.Statement;
  private readonly insertMessage: Database.Statement;
  private readonly countDuplicate: Database.Statement;
  private readonly insertSummary: Database.Statement;
  private readonly insertAlertMessage: Database.Statement;
  private readonly insertAlert: Database.Statement;
  private readonly insertGap: Database.Statement;
  private readonly upsertRejection: Database.Statement;
  private readonly insertBaselineDevice: Database.Statement;
  private readonly insertAgentBaseline: Database.Statement;
  private readonly markBaselineMerged: Database.Statement;
  private readonly upsertStatus: Database.Statement;
  private readonly messageTx: (m: IncomingMessage) => WriteOutcome;
  private readonly duplicateTx: (device: string, site: string, seq: number, at: number) => void;
  private readonly statusTx: (s: StatusMessage, at: number) => void;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
  ) {
    this.q = new StoreQueries(db);
    this.fq = new FleetQueries(db);
    this.mq = new MetricsQueries(db);
    this.aq = new AlertQueries(db);
    // The site follows the newest seq, so an old bundle imported late does not move a device back.
    this.upsertDevice = db.prepare(`
      INSERT INTO devices (id, site, first_seen, last_seen, last_seq, summaries) VALUES (@device, @site, @at, @at, @seq, @summary)
      ON CONFLICT (id) DO UPDATE SET
        site = CASE WHEN excluded.last_seq >= COALESCE(devices.last_seq, 0) THEN excluded.site ELSE devices.site END,
        last_seen = MAX(devices.last_seen, excluded.last_seen),
        last_seq = MAX(COALESCE(devices.last_seq, 0), excluded.last_seq),
        summaries = devices.summaries + excluded.summaries`);
    this.insertMessage = db.prepare(`
      INSERT INTO messages (device, seq, kind, sent_at, received_at, bytes) VALUES (@device, @seq, @kind, @sent_at, @received_at, @bytes)
      ON CONFLICT DO NOTHING`);
    this.countDuplicate = db.prepare(`
      INSERT INTO counters (name, value) VALUES ('duplicates', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1`);
    this.insertSummary = db.prepare(`
      INSERT INTO summaries (device, seq, kind, model, model_version, start_ms, end_ms, closed_at, revision, part_index, part_of,
        sent_at, received_at, count, rejected, late, errors, latency_p50, latency_p95, latency_p99, confidence_mean, drift_share,
        drifted, quality, alerts, trimmed_examples, body, body_enc)
      VALUES (${Array.from({ length: 28 }, () => '?').join(', ')})`);
    this.insertAlertMessage = db.prepare('INSERT INTO alert_messages (device, seq, received_at, body) VALUES (?, ?, ?, ?)');
    this.insertAlert = db.prepare(`
      INSERT INTO alerts (device, seq, idx, alert_id, rule, model, model_version, state, severity, metric, value, updated_at)
      VALUES (@device, @seq, @idx, @alert_id, @rule, @model, @model_version, @state, @severity, @metric, @value, @updated_at)`);
    this.insertGap = db.prepare(`
      INSERT INTO gaps (device, seq, from_seq, to_seq, messages, records, windows_from, windows_to, received_at)
      VALUES (@device, @seq, @from_seq, @to_seq, @messages, @records, @windows_from, @windows_to, @received_at)`);
    this.insertBaselineDevice = db.prepare('INSERT INTO agent_baseline_devices (model, model_version, id, device) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    this.insertAgentBaseline = db.prepare(`
      INSERT INTO agent_baselines (model, model_version, id, source, created_at, records, first_device, received_at, merged)
      VALUES (@model, @model_version, @id, @source, @created_at, @records, @device, @received_at, 0)
      ON CONFLICT DO NOTHING`);
    this.markBaselineMerged = db.prepare('UPDATE agent_baselines SET merged = 1 WHERE model = ? AND model_version = ? AND id = ?');
    this.upsertRejection = db.prepare(`
      INSERT INTO rejections (device, reason, count, last_detail, last_at) VALUES (@device, @reason, 1, @detail, @at)
      ON CONFLICT (device, reason) DO UPDATE SET count = count + 1, last_detail = excluded.last_detail, last_at = excluded.last_at`);
    // Statuses apply in arrival order: the broker keeps one topic's messages in order, and an
    // agent's last will carries the time it connected, older than the online message it follows.
    this.upsertStatus = db.prepare(`
      INSERT INTO devices (id, site, first_seen, last_seen, agent_version, online, status_at, sync_mode, sync_cron, last_seq, tags)
      VALUES (@device, @site, @now, @now, @agent_version, @online, @at, @sync_mode, @sync_cron, NULL, @tags)
      ON CONFLICT (id) DO UPDATE SET
        site = excluded.site, agent_version = excluded.agent_version, online = excluded.online, status_at = excluded.status_at,
        sync_mode = excluded.sync_mode, sync_cron = excluded.sync_cron, tags = excluded.tags,
        last_seen = CASE WHEN excluded.online = 1 THEN MAX(devices.last_seen, excluded.last_seen) ELSE devices.last_seen END`);
    this.messageTx = db.transaction((m: IncomingMessage) => this.writeMessage(m));
    this.duplicateTx = db.transaction((device: string, site: string, seq: number, at: number) => {
      this.upsertDevice.run({ device, site, at, seq, summary: 0 });
      this.countDuplicate.run();
    });
    this.statusTx = db.transaction((s: StatusMessage, at: number) => {
      this.upsertStatus.run({
        device: s.device,
        site: s.site,
        now: at,
        agent_version: s.agent_version,
        online: s.state === 'online' ? 1 : 0,
        at: s.at,
        sync_mode: s.sync.mode,
        sync_cron: s.sync.cron,
        tags: JSON.stringify(s.tags ?? []),
      });
    });
  }

  /** Opens (creating and migrating) data_dir/collector.db. */
  static open(dataDir: string): CollectorStore {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, DB_FILE);
    const db = openSqlite(file);
    try {
      // Only a new, empty file takes it. A summary's body (about 17 KB) fits in 2 pages of 16 KiB
      // instead of 5 of 4 KiB: fewer WAL frames to checksum and write, about 20% less ingest CPU.
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before the broker sends its PUBACK, so not even a power cut of the
      // collector's host loses a message the agent has already deleted from its outbox. NORMAL would
      // risk exactly that; FULL costs about 14% of ingest rate here because commits are batched.
      db.pragma('synchronous = FULL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      migrate(db);
      return new CollectorStore(db, file);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- writes (ingest) ----

  /** Runs `fn` in one transaction; the commit* calls inside it become savepoints of it. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Stores one checked message, or counts it as a duplicate of the one stored under its seq. */
  commitMessage(m: IncomingMessage): WriteOutcome {
    // Inside a batch's transaction a savepoint per message buys nothing (a failure fails the batch).
    return this.db.inTransaction ? this.writeMessage(m) : this.messageTx(m);
  }

  /** A message whose (device, seq) is stored: the device was seen, the copy is counted. */
  commitDuplicate(device: string, site: string, seq: number, at: number): void {
    this.duplicateTx(device, site, seq, at);
  }

  commitRefusal(device: string, reason: string, detail: string, at: number): void {
    this.upsertRejection.run({ device, reason, detail: detail.slice(0, DETAIL_CAP), at });
  }

  commitStatus(s: StatusMessage, at: number): void {
    this.statusTx(s, at);
  }

  private writeMessage(m: IncomingMessage): WriteOutcome {
    const { device, seq, received_at } = m;
    const inserted = this.insertMessage.run({ device, seq, kind: m.body.kind, sent_at: m.sent_at, received_at, bytes: m.bytes });
    // The device row counts its summaries in the same statement that notes it was seen.
    const summary = inserted.changes === 1 && (m.body.kind === 'summary' || m.body.kind === 'revision') ? 1 : 0;
    this.upsertDevice.run({ device, site: m.site, at: received_at, seq, summary });
    if (inserted.changes === 0) {
      this.countDuplicate.run();
      return 'duplicate';
    }
    switch (m.body.kind) {
      case 'summary':
      case 'revision':
        this.writeSummary(m, m.body.kind, m.body.body);
        break;
      case 'alert':
        this.writeAlerts(m, m.body.body);
        break;
      case 'gap':
        this.writeGap(m, m.body.body);
        break;
      case 'baseline':
        this.writeBaseline(m, m.body.body);
        break;
    }
    return 'stored';
  }

  private writeSummary(m: IncomingMessage, kind: 'summary' | 'revision', b: WindowBody): void {
    const s = b.stats;
    // Positional, in the column order above: binding 28 named parameters cost 4 us a summary more.
    this.insertSummary.run(
      m.device,
      m.seq,
      kind,
      b.model,
      b.model_version,
      b.start,
      b.end,
      b.closed_at,
      b.revision,
      b.part?.index ?? 0,
      b.part?.of ?? 1,
      m.sent_at,
      m.received_at,
      s.count,
      s.rejected,
      s.late,
      s.errors,
      s.latency_p50,
      s.latency_p95,
      s.latency_p99,
      s.confidence_mean,
      s.drift_share,
      JSON.stringify(s.drifted),
      s.quality,
      JSON.stringify(b.alerts.map((a) => ({ name: a.rule, state: a.state, severity: a.severity }))),
      b.trimmed?.examples ?? null,
      m.raw,
      m.enc,
    );
  }

  private writeAlerts(m: IncomingMessage, b: AlertBody): void {
    this.insertAlertMessage.run(m.device, m.seq, m.received_at, m.plain);
    b.alerts.forEach((a, idx) => {
      this.insertAlert.run({
        device: m.device,
        seq: m.seq,
        idx,
        alert_id: a.id,
        rule: a.rule,
        model: a.model,
        model_version: a.model_version,
        state: a.state,
        severity: a.severity,
        metric: a.metric,
        // SQLite has no NaN or infinity to keep; the raw body has the exact value.
        value: Number.isFinite(a.value) ? a.value : null,
        updated_at: a.updated_at,
      });
    });
  }

  private writeGap(m: IncomingMessage, g: GapBody): void {
    this.insertGap.run({
      device: m.device,
      seq: m.seq,
      from_seq: g.from_seq,
      to_seq: g.to_seq,
      messages: g.messages,
      records: g.records,
      windows_from: g.windows_from,
      windows_to: g.windows_to,
      received_at: m.received_at,
    });
  }

  /**
   * A baseline an agent sent. The same baseline (by id) from another device is only noted. A new
   * one is merged into the version's fleet baseline unless an admin uploaded that one: an upload
   * is a decision, agents' baselines are a default.
   */
  private writeBaseline(m: IncomingMessage, b: BaselineBody): void {
    this.insertBaselineDevice.run(b.model, b.model_version, b.id, m.device);
    const row = { model: b.model, model_version: b.model_version, id: b.id, source: b.source, created_at: b.created_at, records: b.records, device: m.device, received_at: m.received_at };
    if (this.insertAgentBaseline.run(row).changes === 0) return; // known: only the device was noted
    const current = this.fq.baselineAt(b.model, b.model_version);
    if (current !== null && current.agents === 0) return;
    let profile = b.profile;
    if (current !== null) {
      const merged = WindowProfile.decode(current.profile);
      try {
        merged.merge(WindowProfile.decode(b.profile));
      } catch {
        return; // of another version or task than the baselines merged so far: kept out
      }
      profile = merged.encode();
    }
    const agents = (current?.agents ?? 0) + 1;
    this.fq.putBaseline({
      model: b.model,
      model_version: b.model_version,
      profile,
      records: (current?.records ?? 0) + b.records,
      source: agents === 1 ? `${b.source} (sent by ${m.device})` : `the merge of ${agents} baselines sent by agents`,
      created_at: Math.max(current?.created_at ?? 0, b.created_at),
      uploaded_at: m.received_at,
      uploaded_by: 'agents',
      agents,
    });
    this.markBaselineMerged.run(b.model, b.model_version, b.id);
  }

  // ---- queries (HTTP API, command line) ----

  devices(): DeviceRow[] {
    return this.q.devices();
  }

  device(id: string): DeviceDetail | null {
    return this.q.device(id);
  }

  /** Each window's newest revision, ordered by start; see WindowQuery for the range and limit. */
  windows(device: string, q: WindowQuery = {}): WindowRow[] {
    return this.q.windows(device, q);
  }

  status(): CollectorStatus {
    return this.q.status();
  }

  rejections(): RejectionRow[] {
    return this.q.rejections();
  }

  /** Raw bodies of the newest revision of each window of `model` starting in [from, to), every part. */
  summaryBodies(device: string, model: string, from: number, to: number): SummaryBody[] {
    return this.q.summaryBodies(device, model, from, to);
  }

  // ---- fleet alerts (collector/alerts) ----

  fleetAlerts(now: number): FleetAlert[] {
    return this.aq.fleetAlerts(now);
  }

  acknowledgeAlert(id: string, by: string, at: number): boolean {
    return this.aq.acknowledge(id, by, at);
  }

  silences(): Silence[] {
    return this.aq.silences();
  }

  addSilence(s: NewSilence, now: number): Silence {
    return this.aq.addSilence(s, now);
  }

  expireSilence(id: string, now: number): boolean {
    return this.aq.expireSilence(id, now);
  }

  /** What /metrics shows, read now. */
  metrics(counters: CollectorCounters, uptimeS: number): MetricsInput {
    return this.mq.read(counters, uptimeS);
  }

  // ---- fleet rollups (collector/fleet) ----

  /** Stores (or replaces) a model version's baseline; `version` '*' serves every version. */
  putBaseline(b: StoredBaselineRow): void {
    this.fq.putBaseline(b);
  }

  /** The baseline a version is compared with: its own, else the model's '*' one, else null. */
  baselineFor(model: string, version: string): StoredBaselineRow | null {
    return this.fq.baselineFor(model, version);
  }

  /** The distinct baselines agents sent under this key (a version, or '*'). */
  agentBaselines(model: string, key: string): AgentBaselineRow[] {
    return this.fq.agentBaselines(model, key);
  }

  fleetModels(): FleetModelRow[] {
    return this.fq.fleetModels();
  }

  fleetBucketCount(q: FleetProfileQuery): number {
    return this.fq.bucketCount(q);
  }

  fleetProfile(q: FleetProfileQuery): FleetProfile {
    return this.fq.fleetProfile(q);
  }

  versionDeviceCounts(model: string, from: number, to: number): { version: string; devices: number }[] {
    return this.fq.versionDeviceCounts(model, from, to);
  }

  /** Each bucket of the range with its profile (a drift heatmap compares each with the baseline). */
  fleetBuckets(q: FleetProfileQuery): ReturnType<FleetQueries['fleetBuckets']> {
    return this.fq.fleetBuckets(q);
  }

  /** The devices whose windows of a model version drifted most in [from, to). */
  topDriftingDevices(model: string, version: string, from: number, to: number, limit: number): DriftingDevice[] {
    return this.fq.topDriftingDevices(model, version, from, to, limit);
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`collector.db has schema version ${version}; this build knows up to ${MIGRATIONS.length} (a newer collector wrote it)`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
