// The persisted profile: exact round trips (JSON and bytes, also after merges), the size budget of
// a numeric summary, and clear errors for bytes that are not a profile this build reads.

import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NumericSummary,
  PROFILE_FORMAT_VERSION,
  ProfileDecodeError,
  WindowProfile,
  type ProfileOptions,
} from '../../agent/profile/index.js';
import type { FeatureValue, InferenceRecord, Rejection } from '../../agent/records/types.js';

const SEED = 20240611;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

const names = fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor', 'x.y');
const category = fc.oneof(fc.constantFrom('u', 'v', 'w', '', '__proto__', '__other__'), fc.string({ maxLength: 6 }));
const number = fc.oneof(
  fc.double(),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(-0, NaN, Infinity, -Infinity),
);
const featureValue: fc.Arbitrary<FeatureValue> = fc.oneof(number, category, fc.constant(null));

function recordArb(task: 'classification' | 'regression'): fc.Arbitrary<InferenceRecord> {
  const output = task === 'classification' ? fc.oneof(category, fc.integer({ min: 0, max: 3 })) : number;
  return fc.record({
    ts: fc.integer({ min: 0, max: 59_999 }),
    model: fc.constant('m'),
    modelVersion: fc.constant('v1'),
    requestId: fc.constant(null),
    features: fc.dictionary(names, featureValue, { maxKeys: 4 }),
    prediction: output,
    confidence: fc.option(number),
    probabilities: fc.constant(null),
    label: fc.option(output),
    latencyMs: fc.option(number),
    status: fc.option(fc.constantFrom('200', '404', '500', '503', 'timeout', 'OK', 'Error')),
    error: fc.option(fc.constantFrom('oom', 'boom', 'bad input', '__proto__')),
    segments: fc.dictionary(fc.constantFrom('region', 'device'), category, { maxKeys: 2 }),
  });
}

const rejectionArb: fc.Arbitrary<Rejection> = fc.record({
  reason: fc.constantFrom('unparseable' as const, 'too_long' as const, 'non_finite' as const, 'bad_timestamp' as const),
  detail: fc.string({ maxLength: 8 }),
  example: fc.string({ maxLength: 8 }),
  ts: fc.constant(null),
});

/** A task, caps, and up to three batches of records, rejections and late counts to merge. */
const scenario = fc
  .constantFrom('classification' as const, 'regression' as const)
  .chain((task) =>
    fc.record({
      opts: fc.record({
        task: fc.constant(task),
        categoricalCap: fc.integer({ min: 0, max: 4 }),
        segmentCap: fc.integer({ min: 0, max: 3 }),
        segmentPaths: fc.constantFrom<string[]>(['region'], ['region', 'device'], []),
      }),
      batches: fc.array(
        fc.record({
          records: fc.array(recordArb(task), { maxLength: 40 }),
          rejections: fc.array(rejectionArb, { maxLength: 7 }),
          late: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  );

interface Batch {
  records: InferenceRecord[];
  rejections: Rejection[];
  late: number;
}

function buildAndMerge(opts: ProfileOptions, batches: Batch[]): WindowProfile {
  const parts = batches.map((b, i) => {
    const p = new WindowProfile({ model: 'm', modelVersion: 'v1', start: i * 60_000, end: (i + 1) * 60_000 }, opts);
    for (const r of b.records) p.add(r);
    for (const r of b.rejections) p.addRejection(r);
    p.addLate(b.late);
    return p;
  });
  const [first, ...rest] = parts;
  if (first === undefined) throw new Error('no batch');
  for (const p of rest) first.merge(p);
  return first;
}

function expectRoundTrip(p: WindowProfile): Uint8Array {
  const bytes = p.encode();
  const back = WindowProfile.decode(bytes);
  expect(back.toJSON()).toEqual(p.toJSON());
  expect(JSON.stringify(back.toJSON())).toBe(JSON.stringify(p.toJSON()));
  expect(Buffer.from(back.encode()).equals(Buffer.from(bytes))).toBe(true);
  return bytes;
}

describe('profile codec', () => {
  it('round-trips exactly: JSON equal and re-encoded bytes identical, also after merges (property)', () => {
    fc.assert(
      fc.property(scenario, ({ opts, batches }) => {
        const merged = buildAndMerge(opts, batches);
        const bytes = expectRoundTrip(merged);
        // Merging decoded profiles gives what merging the originals gives.
        const again = WindowProfile.decode(bytes);
        again.merge(WindowProfile.decode(bytes));
        merged.merge(merged.clone());
        expect(Buffer.from(again.encode()).equals(Buffer.from(merged.encode()))).toBe(true);
        expectRoundTrip(merged);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('round-trips large profiles and carries the format version', () => {
    const p = new WindowProfile(
      { model: 'm', modelVersion: 'v1', start: 0, end: 60_000 },
      { task: 'classification', categoricalCap: 256, segmentCap: 16, segmentPaths: ['region'] },
    );
    for (let i = 0; i < 20_000; i++) {
      p.add({
        ts: i,
        model: 'm',
        modelVersion: 'v1',
        requestId: null,
        features: { x: Math.sin(i) * 100, y: (i * 7919) % 1000, c: `v${i % 300}` },
        prediction: `k${i % 7}`,
        confidence: (i % 100) / 100,
        probabilities: null,
        label: i % 2 === 0 ? `k${i % 5}` : null,
        latencyMs: 5 + (i % 97),
        status: i % 40 === 0 ? '503' : '200',
        error: null,
        segments: { region: `r${i % 20}` },
      });
    }
    const bytes = expectRoundTrip(p);
    expect((cbor.decode(bytes) as { v: unknown }).v).toBe(PROFILE_FORMAT_VERSION);
    console.log(`encoded profile: ${bytes.length} bytes (3 features, 20 segment values, 20k records)`);
  });

  it('keeps a numeric summary within about 1 KB', () => {
    for (const n of [10, 100, 1000, 100_000]) {
      for (const [dist, gen] of [
        ['uniform', (i: number) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453)],
        ['heavy-tailed', (i: number) => 1 / (((i * 0.618034) % 1) + 1e-9)],
        ['integers', (i: number) => (i * 7919) % 10_007],
      ] as const) {
        const s = new NumericSummary();
        for (let i = 0; i < n; i++) s.add(gen(i));
        s.addMissing(3);
        const size = cbor.encode(s.toWire()).length;
        expect(size, `${dist} n=${n}: ${size} bytes`).toBeLessThanOrEqual(1024);
      }
    }
  });
});

describe('profile decode errors', () => {
  const valid = (): Record<string, unknown> => {
    const p = new WindowProfile(
      { model: 'm', modelVersion: 'v1', start: 0, end: 60_000 },
      { task: 'classification', categoricalCap: 8, segmentCap: 4, segmentPaths: ['region'] },
    );
    p.add({
      ts: 1, model: 'm', modelVersion: 'v1', requestId: null, features: { f: 'a', g: 2 }, prediction: 'k', confidence: 0.5,
      probabilities: null, label: 'k', latencyMs: 3, status: '200', error: null, segments: { region: 'eu' },
    });
    return cbor.decode(p.encode()) as Record<string, unknown>;
  };
  const decodeRaw = (o: unknown): WindowProfile => WindowProfile.decode(cbor.encode(o));

  it('refuses an unknown format version by name', () => {
    expect(() => decodeRaw({ ...valid(), v: 2 })).toThrow(/unsupported format version v=2; this build reads v=1/);
    expect(() => decodeRaw({ ...valid(), v: undefined })).toThrow(ProfileDecodeError);
    const { v: _v, ...noVersion } = valid();
    expect(() => decodeRaw(noVersion)).toThrow(/no format version/);
  });

  it('names bytes that are not CBOR or not a map', () => {
    expect(() => WindowProfile.decode(new Uint8Array())).toThrow(/not valid CBOR/);
    expect(() => WindowProfile.decode(new Uint8Array([0xff, 0x00]))).toThrow(/not valid CBOR/);
    const bytes = WindowProfile.decode(cbor.encode(valid())).encode();
    expect(() => WindowProfile.decode(bytes.subarray(0, bytes.length - 5))).toThrow(/not valid CBOR/);
    expect(() => decodeRaw([1, 2, 3])).toThrow(/expected a CBOR map/);
    expect(() => decodeRaw('profile')).toThrow(/expected a CBOR map/);
  });

  it('names the field when the shape is wrong', () => {
    expect(() => decodeRaw({ ...valid(), n: -1 })).toThrow(/malformed[\s\S]*n/);
    expect(() => decodeRaw({ ...valid(), t: 'clustering' })).toThrow(/malformed/);
    expect(() => decodeRaw({ ...valid(), lat: { n: 1 } })).toThrow(/malformed[\s\S]*lat/);
  });

  it('refuses figures that contradict each other', () => {
    const w = valid();
    const st = w['st'] as { n: number };
    expect(() => decodeRaw({ ...w, st: { ...st, n: st.n + 1 } })).toThrow(/inconsistent: status/);
    expect(() => decodeRaw({ ...w, n: 5 })).toThrow(/inconsistent/);
    const lat = w['lat'] as object;
    expect(() => decodeRaw({ ...w, lat: { ...lat, d: 'not a digest' } })).toThrow(/inconsistent: latency_ms: bad t-digest/);
    expect(() => decodeRaw({ ...w, fc: [...(w['fc'] as unknown[]), ...(w['fc'] as unknown[])] })).toThrow(/appears twice/);
  });

  it('throws only ProfileDecodeError for arbitrary or corrupted bytes (property)', () => {
    const good = WindowProfile.decode(cbor.encode(valid())).encode();
    const outcome = (bytes: Uint8Array): void => {
      try {
        const p = WindowProfile.decode(bytes);
        expect(JSON.stringify(p.toJSON())).not.toMatch(/NaN|Infinity/);
      } catch (err) {
        expect(err).toBeInstanceOf(ProfileDecodeError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), outcome), { seed: SEED, numRuns: 300 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (flips) => {
        const bytes = Uint8Array.from(good);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        outcome(bytes);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
