// Our merging t-digest against the `tdigest` npm package, in one run on the same data: add rate
// (1e6 values added one at a time, then p50/p90/p99, as a window does), time to merge 100
// digests, rank error at n = 1e6 and our encoded size; then a sweep of our compression to show
// what DEFAULT_COMPRESSION trades. Prints one JSON object.
// Run: node --import tsx scripts/bench/tdigest.ts

import { createRequire } from 'node:module';
import { encode } from 'cbor-x';
import { DEFAULT_COMPRESSION, TDigest } from '../../agent/profile/tdigest.js';
import { DISTRIBUTIONS, QUANTILES, rankError, sample } from '../../test/profile/tdigest-data.js';

interface NpmCentroid {
  mean: number;
  n: number;
}
interface NpmTDigest {
  push(x: number): void;
  push_centroid(c: NpmCentroid[]): void;
  compress(): void;
  percentile(p: number): number | undefined;
  toArray(): NpmCentroid[];
  size(): number;
}
interface NpmModule {
  TDigest: new () => NpmTDigest;
}

// The package ships no type declarations; this interface is the part of its API used here.
const require = createRequire(import.meta.url);
const npm = require('tdigest') as NpmModule;
const npmVersion = (require('tdigest/package.json') as { version: string }).version;

const N = 1_000_000;
const REPS = 5;
const MERGE_REPS = 11;
const PARTS = 100;

/** A digest under test: ours or theirs behind the same few operations. */
interface Sketch {
  add(x: number): void;
  quantile(q: number): number;
}
interface Contender<D> {
  create(): D;
  sketch(d: D): Sketch;
  /** Merges the parts into a new digest and compresses it, as a rollup would. */
  mergeAll(parts: D[]): D;
}

function ours(compression: number): Contender<TDigest> {
  return {
    create: () => new TDigest(compression),
    sketch: (d) => ({ add: (x) => d.add(x), quantile: (q) => d.quantile(q) }),
    mergeAll: (parts) => {
      const d = new TDigest(compression);
      for (const p of parts) d.merge(p);
      d.quantile(0.5);
      return d;
    },
  };
}

const theirs: Contender<NpmTDigest> = {
  create: () => new npm.TDigest(),
  sketch: (d) => ({ add: (x) => d.push(x), quantile: (q) => d.percentile(q) ?? NaN }),
  mergeAll: (parts) => {
    const d = new npm.TDigest();
    for (const p of parts) d.push_centroid(p.toArray());
    d.compress();
    d.percentile(0.5);
    return d;
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function sorted(values: Float64Array): Float64Array {
  return values.slice().sort();
}

function maxRankError(s: Sketch, sortedValues: Float64Array): number {
  return Math.max(...QUANTILES.map((q) => rankError(sortedValues, q, s.quantile(q))));
}

/** Adds every value one at a time, then asks p50/p90/p99; returns the digest and the seconds. */
function fill<D>(c: Contender<D>, values: Float64Array): { digest: D; seconds: number } {
  const t0 = performance.now();
  const digest = c.create();
  const s = c.sketch(digest);
  for (let i = 0; i < values.length; i++) s.add(values[i] ?? 0);
  s.quantile(0.5);
  s.quantile(0.9);
  s.quantile(0.99);
  return { digest, seconds: (performance.now() - t0) / 1000 };
}

function partsOf<D>(c: Contender<D>, values: Float64Array): D[] {
  const out: D[] = [];
  for (let p = 0; p < PARTS; p++) {
    out.push(fill(c, values.subarray(Math.floor((p * values.length) / PARTS), Math.floor(((p + 1) * values.length) / PARTS))).digest);
  }
  return out;
}

function mergeSeconds<D>(c: Contender<D>, parts: D[], reps: number): { digest: D; seconds: number } {
  const times: number[] = [];
  let digest = c.mergeAll(parts);
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    digest = c.mergeAll(parts);
    times.push((performance.now() - t0) / 1000);
  }
  return { digest, seconds: median(times) };
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits));
const bytesOf = (d: TDigest): number => encode(d.toWire()).length;

const normal = sample('normal', N, 1);
const lognormal = sample('lognormal', N, 2);
const sortedNormal = sorted(normal);
const sortedLognormal = sorted(lognormal);

// Warm both up once, then alternate them so that machine noise hits both alike.
fill(ours(DEFAULT_COMPRESSION), normal.subarray(0, 200_000));
fill(theirs, normal.subarray(0, 200_000));
const addTimes = { ours: [] as number[], theirs: [] as number[] };
let ourDigest = new TDigest();
let theirDigest = theirs.create();
for (let r = 0; r < REPS; r++) {
  const a = fill(ours(DEFAULT_COMPRESSION), normal);
  const b = fill(theirs, normal);
  addTimes.ours.push(a.seconds);
  addTimes.theirs.push(b.seconds);
  ourDigest = a.digest;
  theirDigest = b.digest;
}

function accuracy<D>(c: Contender<D>, streamedNormal: D): Record<string, number> {
  const merged = (values: Float64Array): D => c.mergeAll(partsOf(c, values));
  return {
    normal: round(maxRankError(c.sketch(streamedNormal), sortedNormal)),
    lognormal: round(maxRankError(c.sketch(fill(c, lognormal).digest), sortedLognormal)),
    normalMerged: round(maxRankError(c.sketch(merged(normal)), sortedNormal)),
    lognormalMerged: round(maxRankError(c.sketch(merged(lognormal)), sortedLognormal)),
  };
}

const ourMerge = mergeSeconds(ours(DEFAULT_COMPRESSION), partsOf(ours(DEFAULT_COMPRESSION), normal), MERGE_REPS);
const theirMerge = mergeSeconds(theirs, partsOf(theirs, normal), MERGE_REPS);
const ourRate = N / median(addTimes.ours);
const theirRate = N / median(addTimes.theirs);

/** Worst rank error over the five distributions at a few small n (where centroids hold 2-30 values). */
function smallNError(compression: number): number {
  let worst = 0;
  for (const dist of DISTRIBUTIONS) {
    for (const n of [200, 500, 1_000, 2_000]) {
      for (let seed = 0; seed < 4; seed++) {
        const values = sample(dist, n, 1_000 * n + seed);
        worst = Math.max(worst, maxRankError(ours(compression).sketch(fill(ours(compression), values).digest), sorted(values)));
      }
    }
  }
  return round(worst);
}

/** Encoded size when the count approaches 2^53 (1e5 values of weight 2^36): the largest weights. */
function hugeCountBytes(compression: number): number {
  const d = new TDigest(compression);
  for (const x of lognormal.subarray(0, 100_000)) d.add(x, 2 ** 36);
  return bytesOf(d);
}

const sweep = [50, 100, 150, 200, 300, 500].map((compression) => {
  const c = ours(compression);
  const runs = [fill(c, normal), fill(c, normal), fill(c, normal)];
  const streamed = runs[0]?.digest ?? c.create();
  const logDigest = fill(c, lognormal).digest;
  const merged = c.mergeAll(partsOf(c, lognormal));
  const relErr = (q: number): number => {
    const truth = sortedLognormal[Math.ceil(q * N) - 1] ?? NaN;
    return round(Math.abs(logDigest.quantile(q) - truth) / truth, 2);
  };
  return {
    compression,
    addsPerSec: Math.round(N / median(runs.map((r) => r.seconds))),
    centroids: streamed.centroids().means.length,
    maxRankError1e6: round(Math.max(maxRankError(streamed, sortedNormal), maxRankError(logDigest, sortedLognormal))),
    maxRankErrorMerged1e6: round(maxRankError(merged, sortedLognormal)),
    maxRankErrorSmallN: smallNError(compression),
    lognormalRelErrP99: relErr(0.99),
    lognormalRelErrP999: relErr(0.999),
    bytes1e6: Math.max(bytesOf(streamed), bytesOf(logDigest)),
    bytesCountNear2e53: hugeCountBytes(compression),
  };
});

console.log(
  JSON.stringify(
    {
      bench: 'tdigest',
      node: process.version,
      n: N,
      ours: {
        compression: DEFAULT_COMPRESSION,
        addsPerSec: Math.round(ourRate),
        merge100Ms: round(ourMerge.seconds * 1000),
        maxRankError: accuracy(ours(DEFAULT_COMPRESSION), ourDigest),
        encodedBytes: { normal: bytesOf(ourDigest), merged: bytesOf(ourMerge.digest) },
        centroids: ourDigest.centroids().means.length,
      },
      theirs: {
        package: `tdigest@${npmVersion}`,
        settings: 'defaults: delta 0.01, K 25',
        addsPerSec: Math.round(theirRate),
        merge100Ms: round(theirMerge.seconds * 1000),
        maxRankError: accuracy(theirs, theirDigest),
        centroids: theirDigest.size(),
      },
      addRateRatio: round(ourRate / theirRate),
      merge100Ratio: round(theirMerge.seconds / ourMerge.seconds),
      compressionSweep: sweep,
    },
    null,
    2,
  ),
);
