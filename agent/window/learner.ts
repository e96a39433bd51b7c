// Learns each model version's baseline from its first records (or its first stretch of event
// time) when the config asks for it. The learning state is committed with the windows, so a crash
// neither loses nor double-counts a record of a baseline being learned.
import type { BaselineLearnConfig, ModelConfig } from '../config/types.js';
import { WindowProfile } from '../profile/index.js';
import type { InferenceRecord } from '../records/types.js';
import type { StoredBaseline } from '../store/index.js';

interface Learning {
  profile: WindowProfile;
  firstTs: number;
  complete: boolean;
}

export class BaselineLearner {
  private readonly learning = new Map<string, Learning>();
  private readonly dirty = new Set<string>();

  /**
   * `hasOwn(version)`: whether the version already has its own complete baseline (from a file or
   * learned before); such a version learns nothing.
   */
  constructor(
    private readonly model: ModelConfig,
    private readonly learn: BaselineLearnConfig,
    restored: StoredBaseline[],
    private readonly hasOwn: (version: string) => boolean,
  ) {
    for (const b of restored) {
      if (!b.complete && b.firstTs !== null) {
        this.learning.set(b.modelVersion, { profile: WindowProfile.decode(b.profile), firstTs: b.firstTs, complete: false });
      }
    }
  }

  /** Takes an accepted record into its version's baseline while that one is being learned. */
  add(r: InferenceRecord): void {
    let l = this.learning.get(r.modelVersion);
    if (l === undefined) {
      if (this.hasOwn(r.modelVersion)) return;
      // Digest-only (no bin counts): the deciles are not known until the baseline is complete, so
      // PSI against a learned baseline takes its side's shares from the digest.
      l = {
        profile: new WindowProfile(
          { model: this.model.name, modelVersion: r.modelVersion, start: r.ts, end: r.ts },
          { task: this.model.task, categoricalCap: this.model.categorical_cap, segmentCap: this.model.segment_cap, segmentPaths: this.model.segments },
        ),
        firstTs: r.ts,
        complete: false,
      };
      this.learning.set(r.modelVersion, l);
    }
    if (l.complete) return;
    const { records, duration_ms } = this.learn;
    if (duration_ms !== null && r.ts >= l.firstTs + duration_ms) {
      l.complete = true;
    } else {
      l.profile.add(r);
      if (records !== null && l.profile.count >= records) l.complete = true;
    }
    this.dirty.add(r.modelVersion);
  }

  /** The version's learned baseline once complete (before or after it is committed), else null. */
  completed(version: string): WindowProfile | null {
    const l = this.learning.get(version);
    return l?.complete ? l.profile : null;
  }

  /** Baselines changed since the last call, for the commit; a completed one is handed over once. */
  takeChanges(now: number): StoredBaseline[] {
    const out: StoredBaseline[] = [];
    for (const version of this.dirty) {
      const l = this.learning.get(version);
      if (!l) continue;
      const { records, duration_ms } = this.learn;
      out.push({
        model: this.model.name,
        modelVersion: version,
        source: records !== null ? `learned: first ${records} records` : `learned: first ${duration_ms} ms of event time`,
        createdAt: now,
        records: l.profile.count,
        profile: l.profile.encode(),
        complete: l.complete,
        firstTs: l.firstTs,
      });
      // A complete baseline stays in the map (complete) so the version does not start learning
      // again before the store answers hasOwn() with it.
    }
    this.dirty.clear();
    return out;
  }
}
