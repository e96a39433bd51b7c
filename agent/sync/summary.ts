// Closed windows into outbox messages (docs/wire-format.md): one body per window with its profile,
// drift report, headline figures and the model's active alerts. A body over the size limit loses
// its rejection examples first (counted), then goes as parts split by feature groups, which merge
// back into the window's profile exactly.
import type { Alert } from '../alerts/engine.js';
import type { DriftReport } from '../drift/index.js';
import { WindowProfile } from '../profile/index.js';
import type { StoredBaseline } from '../store/baselines.js';
import type { OutboxEntry } from '../store/outbox.js';
import { baselineId, encodeBody, packBody, type WindowBody, type WindowStats } from '../wire/envelope.js';

/** Room left in a message for the envelope around the body (ids, seq, kind, times, CBOR heads). */
export const ENVELOPE_ROOM = 512;

export interface ClosedWindow {
  profile: WindowProfile;
  drift: DriftReport | null;
  /** The drift report as stored (JSON), or null. */
  driftJson: string | null;
  closedAt: number;
  revision: number;
  /** The profile already encoded (for the store), so it is not encoded twice. */
  encoded?: Uint8Array;
}

export interface WindowMessages {
  entries: OutboxEntry[];
  trimmedExamples: number;
  split: boolean;
}

export function statsOf(p: WindowProfile, drift: DriftReport | null): WindowStats {
  const lat = p.latencyMs;
  const q = p.quality.toJSON();
  return {
    count: p.count,
    rejected: p.rejected,
    late: p.late,
    errors: p.errors,
    latency_p50: lat.quantile(0.5),
    latency_p95: lat.quantile(0.95),
    latency_p99: lat.quantile(0.99),
    confidence_mean: finite(p.confidence.mean),
    drift_share: drift ? drift.dataset.share : null,
    drifted: drift ? [...drift.dataset.drifted] : [],
    quality: finite('accuracy' in q ? q.accuracy : q.mae),
  };
}

function finite(x: number | null): number | null {
  return x !== null && Number.isFinite(x) ? x : null;
}

/**
 * The message(s) for one closed window (kind summary) or one revision of it. Each body is at most
 * `maxMessageBytes - ENVELOPE_ROOM` bytes.
 */
export function windowMessages(kind: 'summary' | 'revision', w: ClosedWindow, alerts: readonly Alert[], maxMessageBytes: number): WindowMessages {
  const limit = maxMessageBytes - ENVELOPE_ROOM;
  const p = w.profile;
  const base = {
    model: p.model,
    model_version: p.modelVersion,
    start: p.start,
    end: p.end,
    closed_at: w.closedAt,
    revision: w.revision,
    stats: statsOf(p, w.drift),
    alerts: alerts.filter((a) => a.model === p.model && a.state !== 'resolved').map((a) => ({ ...a })),
  };
  // Sizes are of the body as it travels: deflated (summaries shrink to about 55-60%).
  const entry = (body: WindowBody): OutboxEntry => ({
    kind,
    ...packBody(encodeBody({ kind, body })),
    records: body.part === undefined || body.part.index === 0 ? p.count : 0,
    windowStart: p.start,
    windowEnd: p.end,
  });
  const whole = entry({ ...base, profile: w.encoded ?? p.encode(), drift: w.driftJson });
  if (whole.body.length <= limit) return { entries: [whole], trimmedExamples: 0, split: false };

  // Examples are the first to go: the counts per reason stay.
  const lean = p.clone();
  const trimmedExamples = lean.dropExamples();
  const trimmed = { examples: trimmedExamples } as NonNullable<WindowBody['trimmed']>;
  const one = entry({ ...base, profile: lean.encode(), drift: w.driftJson, part: undefined, trimmed });
  if (one.body.length <= limit) return { entries: [one], trimmedExamples, split: false };

  // Then parts by feature groups: more groups until every part fits, at most one feature each.
  const names = lean.featureNames();
  for (let groups = 2; ; groups = Math.min(names.length, groups * 2)) {
    const split = groupNames(names, groups);
    const parts = lean.splitFeatures(split);
    const bodies = parts.map((part, index): WindowBody => ({
      ...base,
      profile: part.encode(),
      // The drift report and the window's figures belong to the whole window: the first part has them.
      drift: index === 0 ? w.driftJson : null,
      part: { index, of: parts.length },
      trimmed,
    }));
    const entries = bodies.map(entry);
    if (entries.every((e) => e.body.length <= limit)) return { entries, trimmedExamples, split: true };
    if (groups >= names.length) return oversizeFallback(entries, split, bodies, entry, lean, trimmedExamples, limit);
  }
}

/**
 * One feature alone is over the limit (a categorical of very long values): the parts that do not
 * fit are left out, their features named in `trimmed.features`. Should the first part itself not
 * fit, it goes without its profile's data (an empty profile of the same window): the headline
 * figures in `stats` still arrive.
 */
function oversizeFallback(
  entries: OutboxEntry[],
  split: string[][],
  bodies: WindowBody[],
  entry: (b: WindowBody) => OutboxEntry,
  lean: WindowProfile,
  trimmedExamples: number,
  limit: number,
): WindowMessages {
  const dropped: string[] = [];
  const kept: WindowBody[] = [];
  entries.forEach((e, i) => {
    if (e.body.length <= limit) kept.push(bodies[i]!);
    else if (i > 0) dropped.push(...(split[i] ?? []));
  });
  const firstFits = (entries[0]?.body.length ?? 0) <= limit;
  if (!firstFits) {
    dropped.push(...lean.featureNames().filter((n) => !dropped.includes(n)));
    kept.unshift({ ...bodies[0]!, profile: new WindowProfile(lean.meta, lean.options).encode() });
  }
  const trimmed = { examples: trimmedExamples, features: dropped.sort() };
  const out = kept.map((b, index) => entry({ ...b, part: { index, of: kept.length }, trimmed }));
  return { entries: out, trimmedExamples, split: true };
}

/** `names` (sorted) dealt into `n` groups of about equal count; group 0 also gets everything else. */
function groupNames(names: readonly string[], n: number): string[][] {
  const groups: string[][] = Array.from({ length: n }, () => []);
  names.forEach((name, i) => groups[i % n]!.push(name));
  return groups;
}

/** One message with the alerts whose state changed in a commit. */
export function alertMessage(changed: readonly Alert[]): OutboxEntry {
  return { kind: 'alert', ...packBody(encodeBody({ kind: 'alert', body: { alerts: changed.map((a) => ({ ...a })) } })), records: 0, windowStart: null, windowEnd: null };
}

/**
 * The message that takes a baseline to the collector. A baseline over the size limit goes without
 * its rejection examples (its id is then the hash of the leaner profile); if it is still over, null.
 */
export function baselineMessage(b: StoredBaseline, maxMessageBytes: number): OutboxEntry | null {
  const limit = maxMessageBytes - ENVELOPE_ROOM;
  const entry = (profile: Uint8Array): OutboxEntry => {
    const body = { model: b.model, model_version: b.modelVersion, id: baselineId(profile), source: b.source, created_at: b.createdAt, records: b.records, profile };
    return { kind: 'baseline', ...packBody(encodeBody({ kind: 'baseline', body })), records: 0, windowStart: null, windowEnd: null };
  };
  const whole = entry(b.profile);
  if (whole.body.length <= limit) return whole;
  const lean = WindowProfile.decode(b.profile);
  lean.dropExamples();
  const one = entry(lean.encode());
  return one.body.length <= limit ? one : null;
}
