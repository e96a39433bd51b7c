// Accuracy, merge, wire and size tests for the merging t-digest. Bound under test: rank error at
// most 0.005 at q in QUANTILES, for five distributions, n from 100 to 1e6, streamed or merged from
// 100 partial digests. Data come from a seeded PRNG, so every case replays the same values.

import { decode, encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPRESSION, maxWireBytes, TDigest, type TDigestWire } from '../../agent/profile/tdigest.js';
import { countBelow, DISTRIBUTIONS, QUANTILES, rankError, rng, sample, type Distribution } from './tdigest-data.js';

/** 0.005, plus float rounding: 5 ranks at n = 1000 compute as 0.0050000000000000044. */
const BOUND = 0.005 + 1e-12;
const SIZE_CAP = 900;

function digestOf(values: Float64Array, from = 0, to = values.length): TDigest {
  const d = new TDigest();
  for (let i = from; i < to; i++) d.add(values[i] ?? 0);
  return d;
}

/** The data cut into 100 consecutive parts, each sketched alone, then merged in order. */
function mergedOf(values: Float64Array): TDigest {
  const merged = new TDigest();
  const n = values.length;
  for (let p = 0; p < 100; p++) merged.merge(digestOf(values, Math.floor((p * n) / 100), Math.floor(((p + 1) * n) / 100)));
  return merged;
}

function worstRankError(d: TDigest, sorted: Float64Array): { q: number; error: number } {
  let worst = { q: NaN, error: -1 };
  for (const q of QUANTILES) {
    const error = rankError(sorted, q, d.quantile(q));
    if (error > worst.error) worst = { q, error };
  }
  return worst;
}

const SIZES = [100, 1_000, 10_000, 100_000, 1_000_000];
const seedOf = (dist: Distribution, n: number): number => DISTRIBUTIONS.indexOf(dist) * 1_000_003 + n;
const bigDigests = new Map<Distribution, TDigest>();

describe('TDigest accuracy: rank error <= 0.005', () => {
  const cases = DISTRIBUTIONS.flatMap((dist) => SIZES.map((n) => ({ dist, n })));
  it.each(cases)('$dist, n=$n, streamed and merged from 100 parts', ({ dist, n }) => {
    const values = sample(dist, n, seedOf(dist, n));
    const sorted = values.slice().sort();
    const streamed = digestOf(values);
    const merged = mergedOf(values);
    for (const [how, d] of [['streamed', streamed], ['merged', merged]] as const) {
      const worst = worstRankError(d, sorted);
      expect(worst.error, `${dist} n=${n} ${how}: worst at q=${worst.q}`).toBeLessThanOrEqual(BOUND);
      expect(d.count).toBe(n);
      expect(d.min).toBe(sorted[0]);
      expect(d.max).toBe(sorted[n - 1]);
    }
    // cdf is the inverse view: the share of data <= x, within the same bound.
    for (const q of [0.05, 0.25, 0.5, 0.75, 0.95]) {
      const x = sorted[Math.floor(q * n)] ?? 0;
      expect(Math.abs(streamed.cdf(x) - countBelow(sorted, x, true) / n)).toBeLessThanOrEqual(BOUND + 1 / n);
    }
    if (n === 1_000_000) bigDigests.set(dist, streamed);
  });

  it('answers with real sample values up to 100 values, and exact ranks from cdf', () => {
    const values = sample('lognormal', 100, 42);
    const sorted = values.slice().sort();
    const d = digestOf(values);
    const known = new Set(values);
    for (let k = 1; k <= 1000; k++) {
      const q = k / 1000;
      const x = d.quantile(q);
      expect(known.has(x), `q=${q} gave ${x}`).toBe(true);
      expect(rankError(sorted, q, x)).toBe(0);
    }
    sorted.forEach((x, i) => expect(d.cdf(x)).toBe((i + 1) / 100));
    expect(d.centroids().means).toEqual(sorted);
  });

  it('handles a constant stream and heavy duplicates', () => {
    const constant = new TDigest();
    for (let i = 0; i < 50_000; i++) constant.add(3.3);
    expect([constant.quantile(0.01), constant.quantile(0.5), constant.quantile(0.999)]).toEqual([3.3, 3.3, 3.3]);
    expect([constant.cdf(3.29), constant.cdf(3.3)]).toEqual([0, 1]);
    const u = rng(9);
    const ints = new Float64Array(50_000).map(() => Math.floor(u() * 10));
    const sorted = ints.slice().sort();
    expect(worstRankError(digestOf(ints), sorted).error).toBeLessThanOrEqual(BOUND);
  });
});

describe('TDigest merge', () => {
  const values = sample('bimodal', 30_000, 7);
  const sorted = values.slice().sort();
  const parts = (): TDigest[] => [digestOf(values, 0, 4_000), digestOf(values, 4_000, 19_000), digestOf(values, 19_000)];

  it('is associative up to the error bound, with exact count, min and max', () => {
    const [a, b, c] = parts() as [TDigest, TDigest, TDigest];
    const left = a.clone();
    left.merge(b);
    left.merge(c);
    const bc = b.clone();
    bc.merge(c);
    const right = a.clone();
    right.merge(bc);
    for (const d of [left, right]) {
      expect(worstRankError(d, sorted).error).toBeLessThanOrEqual(BOUND);
      expect([d.count, d.min, d.max]).toEqual([values.length, sorted[0], sorted[values.length - 1]]);
    }
    for (const q of QUANTILES) expect(Math.abs(left.cdf(right.quantile(q)) - q)).toBeLessThanOrEqual(2 * BOUND);
  });

  it('leaves the merged-in digest unchanged, buffer included, and can merge a digest into itself', () => {
    const [a, b] = parts() as [TDigest, TDigest, TDigest];
    b.add(123.5);
    const state = (d: TDigest): unknown => ({ count: d.count, wire: d.clone().toWire(), p: QUANTILES.map((q) => d.clone().quantile(q)) });
    const before = state(b);
    const target = a.clone();
    target.merge(b);
    expect(state(b)).toEqual(before);
    const self = a.clone();
    self.merge(self);
    expect([self.count, self.min, self.max]).toEqual([2 * a.count, a.min, a.max]);
    expect(Math.abs(self.quantile(0.5) - a.quantile(0.5))).toBeLessThan(0.05);
  });

  it('gives a clone that evolves exactly like the original, partial buffer included', () => {
    const [a, b] = parts() as [TDigest, TDigest, TDigest];
    const copy = a.clone();
    for (const d of [a, copy]) {
      d.merge(b);
      sample('normal', 5_000, 21).forEach((x, i) => d.add(x, 1 + (i % 3)));
    }
    expect(copy.toWire()).toEqual(a.toWire());
  });

  it('merges empty digests as no-ops and counts weighted adds', () => {
    const d = new TDigest();
    d.merge(new TDigest());
    expect([d.count, d.min, d.max, d.quantile(0.5), d.cdf(0)]).toEqual([0, NaN, NaN, NaN, NaN]);
    d.add(2, 3);
    d.add(5);
    expect([d.count, d.min, d.max, d.quantile(0), d.quantile(1)]).toEqual([4, 2, 5, 2, 5]);
    // A weight-3 centroid is read as spread around its mean, as in any t-digest.
    expect(d.quantile(0.5)).toBeGreaterThanOrEqual(2);
    expect(d.quantile(0.5)).toBeLessThan(5);
    expect(d.cdf(4)).toBeGreaterThan(d.cdf(2));
  });
});

describe('TDigest wire format', () => {
  const weighted = new TDigest();
  sample('exponential', 5_000, 3).forEach((x, i) => weighted.add(x, 1 + (i % 7)));
  const wide = new TDigest();
  const u = rng(5);
  for (let i = 0; i < 20_000; i++) wide.add((u() < 0.5 ? -1 : 1) * 10 ** (60 * u() - 30));
  const huge = new TDigest();
  for (let i = 0; i < 2_000; i++) huge.add(i === 0 ? 1e300 : i === 1 ? -1e300 : i);
  const digests: Array<[string, () => TDigest]> = [
    ['empty', () => new TDigest()],
    ['one value', () => digestOf(new Float64Array([-0.1]))],
    ['exact, 100 values', () => digestOf(sample('normal', 100, 1))],
    ['n=1000', () => digestOf(sample('lognormal', 1_000, 2))],
    ['n=100000 merged', () => mergedOf(sample('bimodal', 100_000, 3))],
    ['weighted', () => weighted.clone()],
    ['wide exponents', () => wide.clone()],
    ['means beyond float32', () => huge.clone()],
    ['compression 50', () => {
      const d = new TDigest(50);
      sample('uniform', 10_000, 4).forEach((x) => d.add(x));
      return d;
    }],
  ];

  it.each(digests)('round-trips exactly: %s', (_, make) => {
    const d = make();
    const wire = d.toWire();
    const probes = [...QUANTILES, 0, 0.25, 0.75, 1];
    const xs = probes.map((q) => d.quantile(q)).filter((x) => !Number.isNaN(x));
    for (const decoded of [TDigest.fromWire(wire), TDigest.fromWire(decode(encode(wire)))]) {
      expect(decoded.toWire()).toEqual(wire);
      expect(probes.map((q) => decoded.quantile(q))).toEqual(probes.map((q) => d.quantile(q)));
      expect(xs.map((x) => decoded.cdf(x))).toEqual(xs.map((x) => d.cdf(x)));
      expect([decoded.count, decoded.min, decoded.max, decoded.compression]).toEqual([d.count, d.min, d.max, d.compression]);
      expect(decoded.centroids()).toEqual(d.centroids());
    }
    expect(encode(wire).length).toBeLessThanOrEqual(maxWireBytes(d.compression));
  });

  it('keeps in memory the float32 means it encodes once compressed', () => {
    const d = digestOf(sample('normal', 10_000, 8));
    const { means } = d.centroids();
    expect(means.every((m) => Math.fround(m) === m)).toBe(true);
    expect(d.toWire().f).toBe(32);
    expect(digestOf(sample('normal', 50, 8)).toWire().f).toBe(64);
  });
});

describe('TDigest encoded size', () => {
  const sizeOf = (d: TDigest): number => encode(d.toWire()).length;

  it.each(DISTRIBUTIONS)('%s: at most 900 bytes at n = 1e3, 1e4 and 1e6', (dist) => {
    for (const n of [1_000, 10_000]) expect(sizeOf(digestOf(sample(dist, n, seedOf(dist, n))))).toBeLessThanOrEqual(SIZE_CAP);
    const big = bigDigests.get(dist) ?? digestOf(sample(dist, 1_000_000, seedOf(dist, 1_000_000)));
    expect(sizeOf(big)).toBeLessThanOrEqual(SIZE_CAP);
    expect(big.compression).toBe(DEFAULT_COMPRESSION);
  });

  it('stays within 900 bytes for every n up to 3000 and for counts near 2^53', () => {
    const values = sample('lognormal', 3_000, 11);
    const d = new TDigest();
    let worst = 0;
    values.forEach((x) => {
      d.add(x);
      worst = Math.max(worst, sizeOf(d));
    });
    expect(worst).toBeLessThanOrEqual(SIZE_CAP);
    for (const dist of DISTRIBUTIONS) {
      const heavy = new TDigest();
      sample(dist, 100_000, 12).forEach((x) => heavy.add(x, 2 ** 36));
      expect(heavy.count).toBe(100_000 * 2 ** 36);
      expect(sizeOf(heavy)).toBeLessThanOrEqual(SIZE_CAP);
      expect(worstRankError(heavy, sample(dist, 100_000, 12).sort()).error).toBeLessThanOrEqual(BOUND);
    }
  });
});

describe('TDigest invariants on arbitrary input (fast-check, fixed seed)', () => {
  // Any double (huge, subnormal, -0), small integers for ties, weights 1-4, merged from 1-4 parts.
  const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -3, max: 3 }));
  const parts = fc.array(fc.array(fc.tuple(value, fc.integer({ min: 1, max: 4 })), { maxLength: 300 }), { minLength: 1, maxLength: 4 });
  const probes = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

  it('keeps count, min and max exact, quantile and cdf monotone within range, and the wire exact', () => {
    fc.assert(
      fc.property(parts, (ps) => {
        const merged = new TDigest();
        let count = 0;
        let lo = Infinity;
        let hi = -Infinity;
        for (const p of ps) {
          const d = new TDigest();
          for (const [x, w] of p) {
            d.add(x, w);
            count += w;
            lo = Math.min(lo, x + 0);
            hi = Math.max(hi, x + 0);
          }
          merged.merge(d);
        }
        const wire = merged.toWire();
        expect(TDigest.fromWire(decode(encode(wire))).toWire()).toEqual(wire);
        expect(encode(wire).length).toBeLessThanOrEqual(SIZE_CAP);
        expect(merged.count).toBe(count);
        if (count === 0) return;
        expect([merged.min, merged.max]).toEqual([lo, hi]);
        const qs = probes.map((q) => merged.quantile(q));
        const cs = qs.map((x) => merged.cdf(x));
        qs.forEach((x, i) => {
          expect(x >= lo && x <= hi, `quantile(${probes[i]}) = ${x} outside [${lo}, ${hi}]`).toBe(true);
          expect(x >= (qs[i - 1] ?? lo) && (cs[i] ?? NaN) >= (cs[i - 1] ?? 0)).toBe(true);
          expect((cs[i] ?? NaN) >= 0 && (cs[i] ?? NaN) <= 1).toBe(true);
        });
      }),
      { seed: 20_260_101, numRuns: 300 },
    );
  });
});

describe('TDigest.fromWire rejects malformed input', () => {
  const good = (): TDigestWire => digestOf(sample('normal', 1_000, 13)).toWire();
  const f64 = (values: number[]): Uint8Array => new Uint8Array(new Float64Array(values).buffer);
  const leb128 = (v: number): Uint8Array => {
    const bytes: number[] = [];
    for (; v >= 128; v = Math.floor(v / 128)) bytes.push((v % 128) + 128);
    return new Uint8Array([...bytes, v]);
  };
  const exact = (): TDigestWire => ({ v: 1, c: 200, n: 2, lo: 1, hi: 2, f: 64, m: f64([1, 2]), w: new Uint8Array(0) });
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', 'digest', /expected an object/],
    ['null', null, /expected an object/],
    ['wrong version', { ...good(), v: 2 }, /unsupported version v=2/],
    ['missing version', { ...good(), v: undefined }, /unsupported version/],
    ['compression out of range', { ...good(), c: 1 }, /field c/],
    ['negative centroid count', { ...good(), n: -1 }, /field n/],
    ['too many centroids for the bytes', { ...good(), n: good().n + 1 }, /field m ends inside/],
    ['too few centroids for the bytes', { ...good(), n: good().n - 1 }, /bytes after its/],
    ['weights of the wrong length', { ...good(), w: good().w.subarray(1) }, /field w/],
    ['zero weight', { ...exact(), w: new Uint8Array([1, 0]) }, /weight 1 is 0/],
    ['negative weights as numbers', { ...exact(), w: [-1, -1] }, /byte strings/],
    ['non-minimal varint', { ...exact(), w: new Uint8Array([0x81, 0x00, 1]) }, /not minimally encoded/],
    ['NaN mean (float64)', { ...exact(), m: f64([1, NaN]) }, /mean 1 is NaN/],
    ['NaN mean (float32 key)', { ...exact(), f: 32, n: 1, lo: 1, hi: 1, m: leb128(0xffc00000) }, /mean 0 is NaN/],
    ['float64 means of the wrong length', { ...exact(), m: f64([1, 2, 3]) }, /expected 16/],
    ['unsorted means', { ...exact(), m: f64([2, 1]) }, /ascend/],
    ['mean outside [lo, hi]', { ...exact(), m: f64([1, 3]) }, /within \[lo, hi\]/],
    ['lo above hi', { ...exact(), lo: 3, hi: 2 }, /lo <= hi/],
    ['min NaN on a non-empty digest', { ...exact(), lo: NaN }, /finite/],
    ['empty digest with a min', { ...exact(), n: 0, m: new Uint8Array(0), lo: 0 }, /empty digest/],
    ['unknown mean format', { ...good(), f: 16 }, /field f/],
  ];
  it.each(cases)('%s', (_, wire, message) => {
    expect(() => TDigest.fromWire(wire)).toThrow(message);
  });
  it('accepts the hand-built exact wire these cases start from', () => {
    const d = TDigest.fromWire(exact());
    expect([d.count, d.quantile(0.25), d.quantile(0.75), d.cdf(1)]).toEqual([2, 1, 2, 0.5]);
  });
});

describe('TDigest argument checks', () => {
  it('refuses non-finite values, bad weights, q outside [0, 1] and bad compression', () => {
    const d = new TDigest();
    expect(() => d.add(NaN)).toThrow(RangeError);
    expect(() => d.add(Infinity)).toThrow(RangeError);
    expect(() => d.add(1, 0)).toThrow(/positive integer/);
    expect(() => d.add(1, 1.5)).toThrow(/positive integer/);
    expect(() => d.quantile(1.01)).toThrow(RangeError);
    expect(() => d.quantile(NaN)).toThrow(RangeError);
    expect(() => d.cdf(NaN)).toThrow(RangeError);
    expect(() => new TDigest(5)).toThrow(/compression/);
    expect(d.count).toBe(0);
  });
});
