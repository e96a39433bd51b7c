// Fleet rollups: every stored summary folded into merged profiles per model, version and bucket,
// for the whole fleet and per site, at three resolutions: the window (the agents' window start),
// the UTC hour and the UTC day. A bucket holds each device window once, at its latest revision.
//
// Two steps, both behind ingest:
//   - `step` folds new summaries (from a watermark on their rowid) into their window buckets. A
//     window seen for the first time (revision 0, sent whole, no other row for it) is merged in as
//     it is: sketches merge, so adding is exact. A window seen again (a revision by late labels, a
//     summary sent in parts, a copy) cannot be added without counting it twice: its bucket is merged
//     again from the latest complete revision of every device's window. The hours and days touched
//     are marked dirty. Buckets, marks and watermark are written in one transaction, so a crash
//     folds nothing twice.
//   - `rollup` merges each dirty hour again from its window buckets and each dirty day from its
//     hours (rollups are merges of merges), once a mark is `minAgeMs` old: one merge of 60 windows a
//     minute instead of one merge per arriving summary.
// A profile that does not decode is left out, counted and logged once: ingest checks structure,
// not every sketch (ingest/profile-check.ts).
import type Database from 'better-sqlite3';
import { compareProfiles } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { decodeBody, unpackBody, type WindowBody } from '../../agent/wire/index.js';
import type { CollectorLogger } from '../log.js';

export type Resolution = 'window' | 'hour' | 'day';
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** The scope of the whole fleet; a site's is siteScope(name). */
export const FLEET = '';
export const siteScope = (site: string): string => `site:${site}`;
export const tagScope = (tag: string): string => `tag:${tag}`;

const WATERMARK = 'folded_rowid';
/** Summaries folded per step (one transaction). */
const DEFAULT_BATCH = 500;

export const bucketStart = (res: Resolution, t: number): number => (res === 'window' ? t : res === 'hour' ? t - (t % HOUR_MS) : t - (t % DAY_MS));

export interface StepResult {
  /** Summary rows folded in. */
  folded: number;
  /** Windows added to their buckets as they were. */
  added: number;
  /** Window buckets merged again from their device windows (step); hours and days from their parts (rollup). */
  remerged: { window: number; hour: number; day: number };
  /** Profiles left out: they did not decode, or would not merge with the bucket (another task). */
  undecodable: number;
  /** Windows seen again past retention.summaries, left as the rollups hold them. */
  frozen: number;
  /** Whether more summaries wait to be folded. */
  more: boolean;
}

interface NewRow {
  rowid: number;
  device: string;
  kind: 'summary' | 'revision';
  model: string;
  model_version: string;
  start_ms: number;
  revision: number;
  part_index: number;
  part_of: number;
  body: Buffer;
  body_enc: string | null;
  site: string;
  /** The device's tags, JSON. */
  tags: string;
}

interface PutRow {
  model: string;
  model_version: string;
  resolution: Resolution;
  scope: string;
  start_ms: number;
  profile: Uint8Array;
  windows: number;
  records: number;
  drift_share: number | null;
  drifted: string | null;
  updated_at: number;
}

interface BucketRow {
  scope: string;
  start_ms: number;
  profile: Buffer;
  windows: number;
  records: number;
}

/** Profiles to merge into one window bucket, by (model, version, scope, start). */
class Contributions {
  readonly map = new Map<string, { model: string; version: string; scope: string; start: number; profiles: WindowProfile[] }>();
  add(model: string, version: string, scope: string, start: number, p: WindowProfile): void {
    const key = `${model}\u0000${version}\u0000${scope}\u0000${start}`;
    let c = this.map.get(key);
    if (c === undefined) this.map.set(key, (c = { model, version, scope, start, profiles: [] }));
    c.profiles.push(p);
  }
}

export interface FleetAggregatorOptions {
  log: CollectorLogger;
  now?: () => number;
  /** Summaries folded per step. */
  batch?: number;
  /**
   * retention.summaries: a window older than this may have lost its other devices' summaries, so
   * a revision of it cannot be merged again from them; its buckets keep what they hold.
   */
  summariesRetentionMs?: number | null;
}

export class FleetAggregator {
  private readonly now: () => number;
  private readonly batch: number;
  private readonly log: CollectorLogger;
  private readonly retentionMs: number | null;
  private readonly s: Record<string, Database.Statement>;
  /** Profiles that did not decode in the current step. */
  private undecodable = 0;
  /** The current step's bucket writes, by key, and scopes to drop; written at the end of the step. */
  private readonly pending = new Map<string, PutRow>();
  private readonly drops: { model: string; version: string; res: Resolution; start: number; keep: string[] }[] = [];
  private lastRowid = 0;
  /** Baselines by model and version, read once per rollup. */
  private readonly baselines = new Map<string, WindowProfile | null>();
  /** Devices and the model versions they ran in the current step's summaries. */
  private readonly versions = new Map<string, { model: string; version: string; device: string; first: number; last: number }>();
  /** Hours and days the current step touched. */
  private readonly dirty = new Map<string, { model: string; version: string; res: 'hour' | 'day'; start: number }>();

  constructor(
    private readonly db: Database.Database,
    opts: FleetAggregatorOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.batch = opts.batch ?? DEFAULT_BATCH;
    this.log = opts.log;
    this.retentionMs = opts.summariesRetentionMs ?? null;
    this.s = {
      watermark: db.prepare(`SELECT value FROM fleet_state WHERE name = '${WATERMARK}'`),
      setWatermark: db.prepare(`INSERT INTO fleet_state (name, value) VALUES ('${WATERMARK}', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`),
      newRows: db.prepare(`
        SELECT s.rowid AS rowid, s.device, s.kind, s.model, s.model_version, s.start_ms, s.revision, s.part_index, s.part_of,
          s.body, s.body_enc, d.site, d.tags
        FROM summaries s JOIN devices d ON d.id = s.device
        WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?`),
      // The device's own windows: without INDEXED BY the planner may take summaries_fleet and read
      // every device's row of that window.
      windowRows: db.prepare('SELECT count(*) AS n FROM summaries INDEXED BY summaries_window WHERE device = ? AND model = ? AND start_ms = ? AND model_version = ?'),
      windowMembers: db.prepare(`
        SELECT s.rowid AS rowid, s.device, s.kind, s.model, s.model_version, s.start_ms, s.revision, s.part_index, s.part_of,
          s.body, s.body_enc, d.site, d.tags
        FROM summaries s JOIN devices d ON d.id = s.device
        WHERE s.model = ? AND s.model_version = ? AND s.start_ms = ?`),
      bucket: db.prepare('SELECT profile, windows, records FROM fleet_buckets WHERE model = ? AND model_version = ? AND resolution = ? AND scope = ? AND start_ms = ?'),
      children: db.prepare(`
        SELECT scope, start_ms, profile, windows, records FROM fleet_buckets
        WHERE model = ? AND model_version = ? AND resolution = ? AND start_ms >= ? AND start_ms < ?`),
      put: db.prepare(`
        INSERT INTO fleet_buckets (model, model_version, resolution, scope, start_ms, profile, windows, records, drift_share, drifted, updated_at)
        VALUES (@model, @model_version, @resolution, @scope, @start_ms, @profile, @windows, @records, @drift_share, @drifted, @updated_at)
        ON CONFLICT (model, model_version, resolution, scope, start_ms) DO UPDATE SET
          profile = excluded.profile, windows = excluded.windows, records = excluded.records, drift_share = excluded.drift_share,
          drifted = excluded.drifted, updated_at = excluded.updated_at`),
      baseline: db.prepare("SELECT profile FROM baselines WHERE model = ? AND model_version IN (?, '*') ORDER BY model_version = '*' LIMIT 1"),
      deviceVersion: db.prepare(`
        INSERT INTO fleet_device_versions (model, model_version, device, first_start, last_start) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (model, model_version, device) DO UPDATE SET
          first_start = min(first_start, excluded.first_start), last_start = max(last_start, excluded.last_start)`),
      markDirty: db.prepare(`
        INSERT INTO fleet_dirty (model, model_version, resolution, start_ms, since) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (model, model_version, resolution, start_ms) DO NOTHING`),
      dueDirty: db.prepare('SELECT model, model_version, start_ms FROM fleet_dirty WHERE resolution = ? AND since <= ? ORDER BY start_ms'),
      clearDirty: db.prepare('DELETE FROM fleet_dirty WHERE model = ? AND model_version = ? AND resolution = ? AND start_ms = ?'),
      dropScopes: db.prepare(`
        DELETE FROM fleet_buckets WHERE model = ? AND model_version = ? AND resolution = ? AND start_ms = ?
          AND scope NOT IN (SELECT value FROM json_each(?))`),
    };
  }

  /** Summaries stored and not folded yet. */
  backlog(): number {
    const wm = this.watermark();
    return (this.db.prepare('SELECT count(*) AS n FROM summaries WHERE rowid > ?').get(wm) as { n: number }).n;
  }

  /**
   * Folds the next batch of summaries. The merging is done first, reading only (the buckets are
   * this aggregator's alone); the buckets and the watermark are then written in one short
   * transaction, so ingest's writer waits for the disk, not for the merging.
   */
  step(): StepResult {
    this.pending.clear();
    this.drops.length = 0;
    this.dirty.clear();
    this.versions.clear();
    const r = this.compute();
    if (r.folded > 0) {
      this.db.transaction(() => {
        for (const row of this.pending.values()) this.s['put']!.run(row);
        for (const d of this.drops) this.s['dropScopes']!.run(d.model, d.version, d.res, d.start, JSON.stringify(d.keep));
        const at = this.now();
        for (const d of this.dirty.values()) this.s['markDirty']!.run(d.model, d.version, d.res, d.start, at);
        for (const v of this.versions.values()) this.s['deviceVersion']!.run(v.model, v.version, v.device, v.first, v.last);
        this.s['setWatermark']!.run(this.lastRowid);
      })();
    }
    this.pending.clear();
    this.drops.length = 0;
    this.dirty.clear();
    this.versions.clear();
    return r;
  }

  /**
   * Merges again every hour marked dirty at least `minAgeMs` ago from its window buckets, then every
   * such day from its hours; one transaction. Returns how many of each were merged.
   */
  rollup(minAgeMs = 0): { hour: number; day: number } {
    this.baselines.clear(); // uploaded since the last rollup, perhaps
    const done = { hour: 0, day: 0 };
    for (const res of ['hour', 'day'] as const) {
      this.pending.clear();
      this.drops.length = 0;
      this.dirty.clear();
      const due = this.s['dueDirty']!.all(res, this.now() - minAgeMs) as { model: string; model_version: string; start_ms: number }[];
      if (due.length === 0) continue;
      for (const d of due) {
        this.remergeFrom(res === 'hour' ? 'window' : 'hour', res, d.model, d.model_version, d.start_ms, res === 'hour' ? HOUR_MS : DAY_MS);
        if (res === 'hour') this.dirty.set(`${d.model}\u0000${d.model_version}\u0000${bucketStart('day', d.start_ms)}`, { model: d.model, version: d.model_version, res: 'day', start: bucketStart('day', d.start_ms) });
      }
      this.db.transaction(() => {
        for (const row of this.pending.values()) this.s['put']!.run(row);
        for (const d of this.drops) this.s['dropScopes']!.run(d.model, d.version, d.res, d.start, JSON.stringify(d.keep));
        for (const d of due) this.s['clearDirty']!.run(d.model, d.model_version, res, d.start_ms);
        // A day's mark is new when its hour is merged: the day is merged in the same call (minAgeMs
        // applies to when its hours were first marked, not to this).
        for (const d of this.dirty.values()) this.s['markDirty']!.run(d.model, d.version, d.res, d.start, 0);
      })();
      done[res] = due.length;
    }
    this.pending.clear();
    this.drops.length = 0;
    this.dirty.clear();
    return done;
  }

  private baseline(model: string, version: string): WindowProfile | null {
    const key = `${model}\u0000${version}`;
    if (!this.baselines.has(key)) {
      const row = this.s['baseline']!.get(model, version) as { profile: Buffer } | undefined;
      let p: WindowProfile | null = null;
      try {
        p = row === undefined ? null : WindowProfile.decode(row.profile);
      } catch {
        p = null; // checked when it was uploaded; a build that cannot read it compares nothing
      }
      this.baselines.set(key, p);
    }
    return this.baselines.get(key) ?? null;
  }

  private markDirty(model: string, version: string, windowStart: number): void {
    for (const res of ['hour', 'day'] as const) {
      const start = bucketStart(res, windowStart);
      this.dirty.set(`${model}\u0000${version}\u0000${res}\u0000${start}`, { model, version, res, start });
    }
  }

  /**
   * Steps until nothing is left (or `maxSteps`), then rolls up every dirty hour and day; the
   * results added up.
   */
  catchUp(maxSteps = Number.POSITIVE_INFINITY): StepResult {
    const total: StepResult = { folded: 0, added: 0, remerged: { window: 0, hour: 0, day: 0 }, undecodable: 0, frozen: 0, more: false };
    for (let i = 0; i < maxSteps; i++) {
      const r = this.step();
      total.folded += r.folded;
      total.added += r.added;
      total.remerged.window += r.remerged.window;
      total.remerged.hour += r.remerged.hour;
      total.remerged.day += r.remerged.day;
      total.undecodable += r.undecodable;
      total.frozen += r.frozen;
      total.more = r.more;
      if (!r.more) break;
    }
    if (!total.more) {
      const up = this.rollup(0);
      total.remerged.hour += up.hour;
      total.remerged.day += up.day;
    }
    return total;
  }

  private watermark(): number {
    return (this.s['watermark']!.get() as { value: number } | undefined)?.value ?? 0;
  }

  private compute(): StepResult {
    const result: StepResult = { folded: 0, added: 0, remerged: { window: 0, hour: 0, day: 0 }, undecodable: 0, frozen: 0, more: false };
    this.undecodable = 0;
    const rows = this.s['newRows']!.all(this.watermark(), this.batch) as NewRow[];
    if (rows.length === 0) return result;
    result.folded = rows.length;
    result.more = rows.length === this.batch;

    // Window buckets touched, and which of them must be merged again from their members.
    const windows = new Map<string, { model: string; version: string; start: number; rows: NewRow[]; again: boolean }>();
    for (const r of rows) {
      const vk = `${r.model}\u0000${r.model_version}\u0000${r.device}`;
      const v = this.versions.get(vk);
      if (v === undefined) this.versions.set(vk, { model: r.model, version: r.model_version, device: r.device, first: r.start_ms, last: r.start_ms });
      else {
        v.first = Math.min(v.first, r.start_ms);
        v.last = Math.max(v.last, r.start_ms);
      }
      const key = keyOf(r.model, r.model_version, r.start_ms);
      let w = windows.get(key);
      if (w === undefined) windows.set(key, (w = { model: r.model, version: r.model_version, start: r.start_ms, rows: [], again: false }));
      w.rows.push(r);
      const seenBefore = r.revision !== 0 || r.part_of !== 1 || (this.s['windowRows']!.get(r.device, r.model, r.start_ms, r.model_version) as { n: number }).n > 1;
      if (seenBefore) w.again = true;
    }

    const add = new Contributions();
    for (const w of windows.values()) {
      this.markDirty(w.model, w.version, w.start);
      if (w.again) {
        if (this.retentionMs !== null && w.start < this.now() - this.retentionMs) {
          result.frozen++;
          this.log.once(`fleet.frozen.${w.model}`, 'warn', 'fleet: a revision of a window past retention.summaries is not merged into the rollups', {
            model: w.model,
            version: w.version,
            start: w.start,
          });
          continue;
        }
        this.remergeWindow(w.model, w.version, w.start);
        result.remerged.window++;
        continue;
      }
      for (const r of w.rows) {
        const p = this.profileOf(r);
        if (p === null) continue;
        result.added++;
        for (const scope of scopesOf(r)) add.add(r.model, r.model_version, scope, r.start_ms, p);
      }
    }
    for (const b of add.map.values()) result.undecodable += this.mergeInto(b.model, b.version, 'window', b.scope, b.start, b.profiles);
    this.lastRowid = rows[rows.length - 1]!.rowid;
    result.undecodable += this.undecodable;
    return result;
  }

  /** A summary row's profile, or null (logged once) when it does not decode. */
  private profileOf(r: NewRow): WindowProfile | null {
    try {
      const plain = unpackBody({ body: r.body, ...(r.body_enc === 'deflate' ? { enc: 'deflate' as const } : {}) });
      if (!plain.ok) throw new Error(plain.detail);
      const b = decodeBody(r.kind, plain.value);
      if (!b.ok) throw new Error(b.detail);
      return WindowProfile.decode((b.value.body as WindowBody).profile);
    } catch (err) {
      this.undecodable++;
      this.log.once(`fleet.undecodable.${r.device}`, 'warn', 'fleet: a summary profile does not decode; left out of the fleet view', {
        device: r.device,
        model: r.model,
        start: r.start_ms,
        error: err instanceof Error ? err.message : String(err),
      });
      return null;
    }
  }

  /** Adds profiles to a bucket (created when missing); returns how many would not merge. */
  private mergeInto(model: string, version: string, res: Resolution, scope: string, start: number, profiles: WindowProfile[]): number {
    const row = this.s['bucket']!.get(model, version, res, scope, start) as { profile: Buffer; windows: number; records: number } | undefined;
    let acc: WindowProfile | null = null;
    let windows = 0;
    if (row !== undefined) {
      try {
        acc = WindowProfile.decode(row.profile);
        windows = row.windows;
      } catch {
        acc = null; // a bucket this build cannot read: built again from what comes
      }
    }
    let failed = 0;
    for (const p of profiles) {
      try {
        if (acc === null) acc = p.clone();
        else acc.merge(p);
        windows++;
      } catch {
        failed++;
      }
    }
    if (acc !== null) this.put(model, version, res, scope, start, acc, windows);
    return failed;
  }

  private put(model: string, version: string, res: Resolution, scope: string, start: number, p: WindowProfile, windows: number): void {
    // Hours and days are compared with the version's baseline as they are merged: fleet drift over
    // time without a comparison per request. Windows are not (one per minute per scope).
    let drift: { share: number; drifted: string[] } | null = null;
    if (res !== 'window') {
      const base = this.baseline(model, version);
      if (base !== null) {
        try {
          drift = compareProfiles(base, p).dataset;
        } catch {
          drift = null;
        }
      }
    }
    const row: PutRow = {
      model,
      model_version: version,
      resolution: res,
      scope,
      start_ms: start,
      profile: p.encode(),
      windows,
      records: p.count,
      drift_share: drift?.share ?? null,
      drifted: drift === null ? null : JSON.stringify(drift.drifted),
      updated_at: this.now(),
    };
    this.pending.set(`${model}\u0000${version}\u0000${res}\u0000${scope}\u0000${start}`, row);
  }

  /** The window bucket merged again from the latest complete revision of each device's window. */
  private remergeWindow(model: string, version: string, start: number): number {
    const members = this.s['windowMembers']!.all(model, version, start) as NewRow[];
    const byDevice = new Map<string, NewRow[]>();
    for (const r of members) {
      const list = byDevice.get(r.device);
      if (list === undefined) byDevice.set(r.device, [r]);
      else list.push(r);
    }
    const acc = new Map<string, { p: WindowProfile; windows: number }>();
    let failed = 0;
    for (const rows of byDevice.values()) {
      // None yet: parts still on their way, or nothing that decodes (counted by profileOf).
      const p = this.latestComplete(rows);
      if (p === null) continue;
      for (const scope of scopesOf(rows[0]!)) {
        const a = acc.get(scope);
        try {
          if (a === undefined) acc.set(scope, { p: p.clone(), windows: 1 });
          else {
            a.p.merge(p);
            a.windows++;
          }
        } catch {
          failed++;
        }
      }
    }
    for (const [scope, a] of acc) this.put(model, version, 'window', scope, start, a.p, a.windows);
    this.drops.push({ model, version, res: 'window', start, keep: [...acc.keys()] });
    return failed;
  }

  /** A device window's profile at its highest revision with every part present, or null. */
  private latestComplete(rows: NewRow[]): WindowProfile | null {
    const revisions = [...new Set(rows.map((r) => r.revision))].sort((a, b) => b - a);
    for (const rev of revisions) {
      const of = rows.find((r) => r.revision === rev)!.part_of;
      const parts = new Map<number, NewRow>();
      for (const r of rows) if (r.revision === rev && r.part_of === of) parts.set(r.part_index, r);
      if (parts.size !== of) continue;
      const decoded = [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => this.profileOf(r));
      if (decoded.some((p) => p === null)) continue;
      try {
        return of === 1 ? decoded[0]! : WindowProfile.joinParts(decoded as WindowProfile[]);
      } catch {
        continue;
      }
    }
    return null;
  }

  /** An hour (or day) bucket merged again, per scope, from the window (or hour) buckets inside it. */
  private remergeFrom(child: Resolution, parent: Resolution, model: string, version: string, start: number, span: number): number {
    // What is stored, as this step has changed it so far.
    const byKey = new Map<string, BucketRow>();
    for (const r of this.s['children']!.all(model, version, child, start, start + span) as BucketRow[]) byKey.set(`${r.scope}\u0000${r.start_ms}`, r);
    for (const d of this.drops) {
      if (d.model !== model || d.version !== version || d.res !== child || d.start < start || d.start >= start + span) continue;
      for (const [k, r] of byKey) if (r.start_ms === d.start && !d.keep.includes(r.scope)) byKey.delete(k);
    }
    for (const p of this.pending.values()) {
      if (p.model !== model || p.model_version !== version || p.resolution !== child || p.start_ms < start || p.start_ms >= start + span) continue;
      byKey.set(`${p.scope}\u0000${p.start_ms}`, { scope: p.scope, start_ms: p.start_ms, profile: Buffer.from(p.profile), windows: p.windows, records: p.records });
    }
    const rows = [...byKey.values()];
    const acc = new Map<string, { p: WindowProfile; windows: number }>();
    let failed = 0;
    for (const r of rows) {
      try {
        const p = WindowProfile.decode(r.profile);
        const a = acc.get(r.scope);
        if (a === undefined) acc.set(r.scope, { p, windows: r.windows });
        else {
          a.p.merge(p);
          a.windows += r.windows;
        }
      } catch {
        failed++;
      }
    }
    for (const [scope, a] of acc) this.put(model, version, parent, scope, start, a.p, a.windows);
    this.drops.push({ model, version, res: parent, start, keep: [...acc.keys()] });
    return failed;
  }
}

/** The buckets a device window goes into: the fleet's, its site's and each of its tags'. */
function scopesOf(r: Pick<NewRow, 'site' | 'tags'>): string[] {
  let tags: string[] = [];
  try {
    tags = JSON.parse(r.tags) as string[];
  } catch {
    tags = [];
  }
  return [FLEET, siteScope(r.site), ...tags.map(tagScope)];
}

function keyOf(model: string, version: string, start: number): string {
  return `${model}\u0000${version}\u0000${start}`;
}
