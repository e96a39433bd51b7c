// Closed windows into messages: every body within the size limit, examples trimmed first and
// counted, then parts by feature groups that merge back into the window's profile exactly.
import { describe, expect, it } from 'vitest';
import { compareProfiles } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { ENVELOPE_ROOM, statsOf, windowMessages } from '../../agent/sync/summary.js';
import { decodeBody, unpackBody, type WindowBody } from '../../agent/wire/index.js';
import { testRecord } from '../helpers/records.js';
import { mulberry32, normal } from '../drift/prng.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');

/** A window with `features` numeric features and as many categorical ones of long values. */
function wideWindow(features: number, records = 500, seed = 1): WindowProfile {
  const p = new WindowProfile(
    { model: 'm', modelVersion: 'v1', start: T0, end: T0 + 60_000 },
    { task: 'classification', categoricalCap: 64, segmentCap: 16, segmentPaths: ['features.c0'] },
  );
  const rng = mulberry32(seed);
  for (let i = 0; i < records; i++) {
    const f: Record<string, number | string> = {};
    for (let k = 0; k < features; k++) {
      f[`n${k}`] = normal(rng) * (k + 1);
      f[`c${k}`] = `category-${Math.floor(rng() * 40)}-${'x'.repeat(20)}`;
    }
    p.add(testRecord({ ts: T0 + i, features: f, prediction: rng() < 0.5 ? 'a' : 'b', confidence: 0.8, latencyMs: 5 + rng() * 5, label: rng() < 0.3 ? 'a' : null }));
  }
  // Examples that do not compress (sizes count deflated bodies): random hex.
  for (let i = 0; i < 7; i++) {
    let example = '';
    while (example.length < 3000) example += Math.floor(rng() * 0xffffffff).toString(16).padStart(8, '0');
    p.addRejection({ reason: 'unparseable', detail: 'not JSON', example, ts: T0 + i });
  }
  return p;
}

function bodies(kind: 'summary' | 'revision', entries: { body: Uint8Array; enc: 'deflate' | null }[]): WindowBody[] {
  return entries.map((e) => {
    const plain = unpackBody({ body: e.body, ...(e.enc === null ? {} : { enc: e.enc }) });
    if (!plain.ok) throw new Error(plain.detail);
    const d = decodeBody(kind, plain.value);
    if (!d.ok || (d.value.kind !== 'summary' && d.value.kind !== 'revision')) throw new Error(`body did not decode: ${d.ok ? '' : d.detail}`);
    return d.value.body;
  });
}

describe('window messages', () => {
  it('sends a window that fits as one summary with its figures, drift and alerts', () => {
    const p = wideWindow(2);
    const drift = compareProfiles(wideWindow(2, 500, 7), p);
    const m = windowMessages('summary', { profile: p, drift, driftJson: JSON.stringify(drift), closedAt: T0 + 61_000, revision: 0 }, [], 256 * 1024);
    expect(m.entries).toHaveLength(1);
    expect(m.trimmedExamples).toBe(0);
    const [b] = bodies('summary', m.entries);
    expect(b!.part).toBeUndefined();
    expect(b!.trimmed).toBeUndefined();
    expect(WindowProfile.decode(b!.profile).toJSON()).toEqual(p.toJSON());
    expect(b!.stats).toEqual(statsOf(p, drift));
    expect(b!.stats.count).toBe(500);
    expect(b!.stats.rejected).toBe(7);
    expect(JSON.parse(b!.drift!)).toEqual(JSON.parse(JSON.stringify(drift)));
    expect(m.entries[0]!.records).toBe(500);
  });

  it('trims examples first, counted, when that is enough', () => {
    const p = wideWindow(2);
    const full = windowMessages('summary', { profile: p, drift: null, driftJson: null, closedAt: 0, revision: 0 }, [], 1 << 20);
    const size = full.entries[0]!.body.length;
    // A limit between the body without examples (5 of about 1.5 KB deflated) and with them.
    const m = windowMessages('summary', { profile: p, drift: null, driftJson: null, closedAt: 0, revision: 0 }, [], size - 6_000 + ENVELOPE_ROOM);
    expect(m.entries).toHaveLength(1);
    expect(m.trimmedExamples).toBe(5);
    const [b] = bodies('summary', m.entries);
    expect(b!.trimmed).toEqual({ examples: 5 });
    const back = WindowProfile.decode(b!.profile).toJSON();
    expect(back.rejected_by_reason).toEqual({ unparseable: 7 });
    expect(back.examples).toEqual({ unparseable: [] });
    // The live profile keeps its examples.
    expect(p.examples).toBe(5);
  });

  it('splits a window too large for one message into parts that join back exactly', () => {
    const p = wideWindow(30);
    const limit = 6 * 1024;
    const m = windowMessages('revision', { profile: p, drift: null, driftJson: null, closedAt: 0, revision: 2 }, [], limit);
    expect(m.split).toBe(true);
    expect(m.entries.length).toBeGreaterThan(2);
    for (const e of m.entries) expect(e.body.length).toBeLessThanOrEqual(limit - ENVELOPE_ROOM);
    const parts = bodies('revision', m.entries);
    parts.forEach((b, i) => {
      expect(b.part).toEqual({ index: i, of: parts.length });
      expect(b.revision).toBe(2);
      expect(b.trimmed).toEqual({ examples: 5 });
    });
    // Records counted once, in the first part, for a gap's count.
    expect(m.entries.map((e) => e.records)).toEqual([500, ...Array(parts.length - 1).fill(0)]);
    const merged = WindowProfile.joinParts(parts.map((b) => WindowProfile.decode(b.profile)));
    const want = p.clone();
    want.dropExamples();
    expect(merged.toJSON()).toEqual(want.toJSON());
    expect(merged.featureNames()).toHaveLength(60);
  });
});
