// Window profiles for the alert tests, built by adding records as the agent does.
import type { AlertEngine } from '../../agent/alerts/index.js';
import { windowMetrics } from '../../agent/alerts/index.js';
import { compareProfiles, type DriftReport } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import type { InferenceRecord } from '../../agent/records/types.js';
import { testRecord } from '../helpers/records.js';
import { mulberry32, normal } from '../drift/prng.js';

export const MIN = 60_000;
export const T0 = Date.parse('2026-03-01T00:00:00Z');

export interface Traffic {
  records?: number;
  /** Rejected lines in the window. */
  rejected?: number;
  /** Feature x ~ N(shift, 1), y ~ N(2 * shift, 1). */
  shift?: number;
  confidence?: number;
  /** Latency ~ latency + U(0, latency / 2). */
  latency?: number;
  errors?: number;
  over?: (i: number) => Partial<InferenceRecord>;
  seed?: number;
}

/** The profile of window `index` (start T0 + index minutes) of model m, version v1. */
export function windowProfile(index: number, t: Traffic = {}, version = 'v1'): WindowProfile {
  const start = T0 + index * MIN;
  const p = new WindowProfile(
    { model: 'm', modelVersion: version, start, end: start + MIN },
    { task: 'classification', categoricalCap: 256, segmentCap: 64, segmentPaths: [] },
  );
  const rng = mulberry32(t.seed ?? index + 1);
  const shift = t.shift ?? 0;
  const n = t.records ?? 400;
  for (let i = 0; i < n; i++) {
    const latency = t.latency ?? 10;
    p.add(testRecord({
      ts: start + i,
      model: 'm',
      modelVersion: version,
      features: { x: normal(rng) + shift, y: normal(rng) + 2 * shift },
      prediction: rng() < 0.5 ? 'a' : 'b',
      confidence: (t.confidence ?? 0.9) + (rng() - 0.5) * 0.02,
      latencyMs: latency + rng() * (latency / 2),
      status: i < (t.errors ?? 0) ? '500' : '200',
      ...t.over?.(i),
    }));
  }
  for (let i = 0; i < (t.rejected ?? 0); i++) {
    p.addRejection({ reason: 'unparseable', detail: 'not JSON', example: '{', ts: start + i });
  }
  return p;
}

/** What the agent does when a window closes: drift against the baseline, metrics, evaluation. */
export function closeWindow(engine: AlertEngine, p: WindowProfile, baseline: WindowProfile | null): DriftReport | null {
  const drift = baseline === null ? null : compareProfiles(baseline, p);
  engine.evaluateWindow(p.model, p.modelVersion, p.end, windowMetrics(p, drift, baseline));
  return drift;
}

/** A baseline of `windows` normal windows merged. */
export function baselineProfile(t: Traffic = {}): WindowProfile {
  const b = windowProfile(-100, { records: 2_000, seed: 99, ...t });
  return b;
}
