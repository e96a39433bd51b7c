// Tumbling event-time windows of one model, one profile per (version, window start). A window
// closes when the model's watermark (largest event time seen) passes its end plus the allowed
// lateness; a record for a closed window is counted as late, never silently dropped.
import type { ModelConfig } from '../config/types.js';
import { WindowProfile, type ProfileOptions } from '../profile/index.js';
import type { InferenceRecord, Rejection } from '../records/types.js';
import { binEdgesFor, compareProfiles, type DriftReport } from '../drift/index.js';
import type { ModelCounters, StoredWindow } from '../store/index.js';

/** The baseline a closed window of this version is compared with, or null when there is none. */
export type BaselineLookup = (modelVersion: string) => WindowProfile | null;

/** A committed closed window and its revision, or null when it is no longer stored. */
export type ClosedLookup = (modelVersion: string, start: number) => { profile: WindowProfile; revision: number } | null;

/** Where a delayed label landed: its window still open, closed (now revised), or gone. */
export type LabelLanding = 'open' | 'revised' | 'gone';

/** Event times further ahead of the wall clock than this do not move the watermark. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
export const UNKNOWN_VERSION = 'unknown';

export function emptyCounters(): ModelCounters {
  return { accepted: 0, rejected: 0, late: 0, rejectedByReason: {}, watermark: null, lastVersion: null, lastRecordAt: null };
}

/** Windows are aligned to whole multiples of their length since the epoch, so devices line up. */
export function windowStart(ts: number, windowMs: number): number {
  return Math.floor(ts / windowMs) * windowMs;
}

export class ModelWindows {
  readonly counters: ModelCounters;
  private readonly open = new Map<string, WindowProfile>();
  private readonly dirty = new Set<string>();
  /**
   * Open windows changed only by system rounds: written with the next commit that happens, never
   * the reason for one (an idle device would otherwise write every interval; a lost sample since
   * the last commit is a sample, not a record).
   */
  private readonly systemDirty = new Set<string>();
  private closed: WindowProfile[] = [];
  /**
   * System-only windows closed by the wall clock while the watermark had not passed them (key ->
   * start): a record for one reopens it rather than starting a second window under the same key,
   * which would overwrite the first in the store and lose its readings.
   */
  private readonly wallClosed = new Map<string, number>();
  /** Committed closed windows changed by delayed labels since the last commit. */
  private readonly revised = new Map<string, WindowProfile>();
  /** The revision number each revised window gets at the next commit. */
  private readonly revisionOf = new Map<string, number>();
  /** The open, dirty window the previous record went to. */
  private last: WindowProfile | null = null;
  private readonly windowMs: number;
  private readonly latenessMs: number;
  private readonly profileOptions: ProfileOptions;

  constructor(
    private readonly model: ModelConfig,
    restored: { windows: WindowProfile[]; counters: ModelCounters | null },
    private readonly baselineFor: BaselineLookup = () => null,
    private readonly closedFor: ClosedLookup = () => null,
  ) {
    this.windowMs = model.window_ms;
    this.latenessMs = model.allowed_lateness_ms;
    this.profileOptions = {
      task: model.task,
      categoricalCap: model.categorical_cap,
      segmentCap: model.segment_cap,
      segmentPaths: model.segments,
    };
    this.counters = restored.counters ? structuredClone(restored.counters) : emptyCounters();
    for (const p of restored.windows) this.open.set(keyOf(p.modelVersion, p.start), p);
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Routes a record to its window; false when that window had closed (the record is late). */
  add(r: InferenceRecord, now: number): boolean {
    const c = this.counters;
    const start = windowStart(r.ts, this.windowMs);
    let p = this.last;
    // Consecutive records nearly always share a window: skip building its key and the map lookup.
    if (p === null || p.start !== start || p.modelVersion !== r.modelVersion) {
      const key = keyOf(r.modelVersion, start);
      p = this.open.get(key) ?? null;
      if (!p) {
        if (this.isClosed(start)) {
          c.late++;
          this.current(r.modelVersion, now).addLate(1);
          return false;
        }
        p = this.create(r.modelVersion, start);
      }
      this.dirty.add(key);
      this.last = p;
    }
    p.add(r);
    c.accepted++;
    c.lastVersion = r.modelVersion;
    c.lastRecordAt = now;
    const bounded = Math.min(r.ts, now + MAX_FUTURE_SKEW_MS);
    if (c.watermark === null || bounded > c.watermark) c.watermark = bounded;
    return true;
  }

  /** A rejected line lands in the window of its event time when it had one, else the current one. */
  reject(rej: Rejection, now: number): void {
    const c = this.counters;
    c.rejected++;
    c.rejectedByReason[rej.reason] = (c.rejectedByReason[rej.reason] ?? 0) + 1;
    const version = c.lastVersion ?? UNKNOWN_VERSION;
    let p: WindowProfile;
    if (rej.ts !== null && !this.isClosed(windowStart(rej.ts, this.windowMs))) {
      const start = windowStart(rej.ts, this.windowMs);
      p = this.open.get(keyOf(version, start)) ?? this.create(version, start);
      this.dirty.add(keyOf(version, start));
    } else {
      p = this.current(version, now);
    }
    p.addRejection(rej);
  }

  /**
   * Closes the windows the watermark has passed. When the model's logs have been silent for a
   * window plus the lateness, the watermark follows the wall clock, so the last window closes too.
   */
  advance(now: number): void {
    const c = this.counters;
    if (c.lastRecordAt !== null && now - c.lastRecordAt >= this.windowMs + this.latenessMs) {
      const wall = now - this.latenessMs;
      if (c.watermark === null || wall > c.watermark) c.watermark = wall;
    }
    const wallCutoff = now - this.windowMs - this.latenessMs;
    for (const [key, p] of this.open) {
      if (this.isClosed(p.start)) this.closeWindow(key, p);
      else if (p.count === 0 && p.rejected === 0 && p.late === 0 && p.start <= wallCutoff) {
        // A window holding only system rounds follows the wall clock it was sampled on, so it
        // closes even before the model's first record gives it a watermark.
        this.closeWindow(key, p);
        this.wallClosed.set(key, p.start);
      }
    }
    // Once the watermark has passed them, a record for them is late anyway: nothing to reopen.
    for (const [key, start] of this.wallClosed) if (this.isClosed(start)) this.wallClosed.delete(key);
  }

  /**
   * A delayed label for a prediction counted in the window (version, start): applied to that window
   * while it is open or not yet committed as closed, else to the stored closed window, which the
   * next commit writes as a new revision.
   */
  applyLabel(
    version: string,
    start: number,
    label: string | number,
    prediction: { prediction: string | number; confidence: number | null; segments: Record<string, string> },
  ): LabelLanding {
    const { confidence, segments } = prediction;
    const key = keyOf(version, start);
    const open = this.open.get(key);
    if (open) {
      open.addLabel(label, prediction.prediction, confidence, segments);
      this.dirty.add(key);
      return 'open';
    }
    let p = this.closed.find((w) => w.start === start && w.modelVersion === version) ?? this.revised.get(key);
    if (!p) {
      const stored = this.closedFor(version, start);
      if (!stored) return 'gone';
      p = stored.profile;
      this.revised.set(key, p);
      this.revisionOf.set(key, stored.revision + 1);
    }
    p.addLabel(label, prediction.prediction, confidence, segments);
    return 'revised';
  }

  /**
   * A system sampling round at wall time `at` lands in every open window of that time (each
   * version's windows show the machine they ran on); with none open, in a window of the version
   * last seen, so the machine stays watched while the model is idle.
   */
  addSystemRound(at: number, readings: ReadonlyMap<string, number>, failed: readonly string[], now: number): void {
    const start = windowStart(at, this.windowMs);
    let landed = false;
    for (const [key, p] of this.open) {
      if (p.start !== start) continue;
      p.addSystemRound(readings, failed);
      this.systemDirty.add(key);
      landed = true;
    }
    if (landed) return;
    const version = this.counters.lastVersion ?? UNKNOWN_VERSION;
    if (this.isClosed(start)) {
      this.current(version, now).addSystemRound(readings, failed);
      return;
    }
    const p = this.create(version, start);
    p.addSystemRound(readings, failed);
    this.systemDirty.add(keyOf(version, start));
  }

  closeAll(): void {
    for (const [key, p] of this.open) this.closeWindow(key, p);
  }

  /** Whether takeChanges would return anything. */
  hasChanges(): boolean {
    return this.dirty.size > 0 || this.closed.length > 0 || this.revised.size > 0;
  }

  /** Everything changed since the last call, encoded for the store. */
  takeChanges(now: number): {
    open: StoredWindow[];
    closed: StoredWindow[];
    revised: StoredWindow[];
    /** The windows behind `closed`, in its order, with their drift reports (for the alert rules). */
    closedProfiles: Array<{ profile: WindowProfile; drift: DriftReport | null }>;
    /** The windows behind `revised`, in its order, with their drift reports and new revision numbers. */
    revisedProfiles: Array<{ profile: WindowProfile; drift: DriftReport | null; revision: number }>;
  } {
    const open: StoredWindow[] = [];
    for (const key of new Set([...this.dirty, ...this.systemDirty])) {
      const p = this.open.get(key);
      if (p) open.push(this.stored(p, 'open', null));
    }
    this.dirty.clear();
    this.systemDirty.clear();
    // The cached window is clean now: the next record for it must mark it dirty again.
    this.last = null;
    const closedProfiles = this.closed.map((profile) => ({ profile, drift: this.driftOf(profile) }));
    const closed = closedProfiles.map(({ profile, drift }) => this.stored(profile, 'closed', now, drift));
    this.closed = [];
    // closedAt is not rewritten by a revision; the store keeps the first close's.
    const revisedProfiles = [...this.revised].map(([key, profile]) => ({
      profile,
      drift: this.driftOf(profile),
      revision: this.revisionOf.get(key) ?? 1,
    }));
    const revised = revisedProfiles.map(({ profile, drift, revision }) => ({ ...this.stored(profile, 'closed', null, drift), revision }));
    this.revised.clear();
    this.revisionOf.clear();
    return { open, closed, revised, closedProfiles, revisedProfiles };
  }

  private isClosed(start: number): boolean {
    const w = this.counters.watermark;
    return w !== null && start + this.windowMs + this.latenessMs <= w;
  }

  /** The open window at the watermark (or at `now` before any record): where late records are counted. */
  private current(version: string, now: number): WindowProfile {
    const start = windowStart(this.counters.watermark ?? now, this.windowMs);
    const key = keyOf(version, start);
    this.dirty.add(key);
    return this.open.get(key) ?? this.create(version, start);
  }

  private create(version: string, start: number): WindowProfile {
    // With a baseline, numeric features count exactly on its deciles: PSI against it is then exact.
    const baseline = this.baselineFor(version);
    const p = new WindowProfile(
      { model: this.model.name, modelVersion: version, start, end: start + this.windowMs },
      baseline ? { ...this.profileOptions, ...binEdgesFor(baseline) } : this.profileOptions,
    );
    const key = keyOf(version, start);
    if (this.wallClosed.delete(key)) {
      // Reopened: its readings come back, from the batch not yet committed or from the store.
      const i = this.closed.findIndex((w) => w.start === start && w.modelVersion === version);
      const earlier = i >= 0 ? this.closed.splice(i, 1)[0] : this.closedFor(version, start)?.profile;
      if (earlier) p.merge(earlier);
      this.dirty.add(key);
    }
    this.open.set(key, p);
    return p;
  }

  private closeWindow(key: string, p: WindowProfile): void {
    if (p === this.last) this.last = null;
    this.open.delete(key);
    this.dirty.delete(key);
    this.systemDirty.delete(key);
    this.closed.push(p);
  }

  /** A closed window against its version's baseline, or null when it has none. */
  private driftOf(p: WindowProfile): DriftReport | null {
    const baseline = this.baselineFor(p.modelVersion);
    return baseline ? compareProfiles(baseline, p, this.model.drift.rule, this.model.drift.features) : null;
  }

  private stored(p: WindowProfile, state: 'open' | 'closed', closedAt: number | null, drift: DriftReport | null = null): StoredWindow {
    return {
      model: this.model.name,
      modelVersion: p.modelVersion,
      start: p.start,
      end: p.end,
      state,
      closedAt,
      count: p.count,
      rejected: p.rejected,
      late: p.late,
      profile: p.encode(),
      drift: drift === null ? null : JSON.stringify(drift),
      revision: 0,
    };
  }
}

function keyOf(version: string, start: number): string {
  return `${version}\u0000${start}`;
}
