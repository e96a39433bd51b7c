// Buffered merging t-digest (after Dunning's MergingDigest) for one numeric stream. Values land in a
// flat buffer; a full buffer is sorted and merged with the centroids in one pass under the k1 scale
// function, so centroids are small at the tails and wide in the middle. Up to EXACT_LIMIT unit-weight
// values are all kept as float64, so small windows answer with real sample values. Past that,
// means are rounded to float32 when compressing, so the state in memory is exactly the wire state,
// and the digest never encodes to more than maxWireBytes(compression) bytes of CBOR.

import {
  encodeWire, maxWireBytes, MAX_COMPRESSION, MIN_COMPRESSION, parseWire, payloadBytes, validCompression,
  WIRE_HEADER_BYTES, type TDigestWire,
} from './tdigest-wire.js';

export { maxWireBytes, type TDigestWire } from './tdigest-wire.js';

/**
 * About 0.6 * compression centroids once n is large. From scripts/bench/tdigest.ts at n = 1e6:
 * 200 gives rank error <= 3e-4 streamed or merged, p99/p999 of a lognormal within 0.6%/1.2%, and
 * 656 bytes, so the 900-byte cap binds only past n of about 1e9. 100 gives 5% at p999 and rank
 * errors up to 0.01 for n of 200-2000; 300 needs about 950 bytes. Speed barely depends on it.
 */
export const DEFAULT_COMPRESSION = 200;

/** 100 float64 means and the header stay under 900 bytes of CBOR. */
const EXACT_LIMIT = 100;
const INITIAL_BUFFER = 16;
/** Buffer limit: 5 * compression (Dunning's ratio; smaller buffers lose accuracy), at least this. */
const MIN_BUFFER_LIMIT = 1024;

// Shared by every digest (one compression runs at a time): per-digest scratch would multiply
// memory by the number of open windows.
let outX = new Float64Array(2 * MIN_BUFFER_LIMIT);
let outW = new Float64Array(outX.length);
let sortedX = new Float64Array(MIN_BUFFER_LIMIT);
let sortedW = new Float64Array(MIN_BUFFER_LIMIT);
let order = new Uint32Array(MIN_BUFFER_LIMIT);

/** a + (b - a) * f kept inside [a, b], finite even when b - a overflows. */
function lerp(a: number, b: number, f: number): number {
  const v = a + (b - a) * f;
  return v - v === 0 ? Math.min(Math.max(v, a), b) : a * (1 - f) + b * f;
}

/** First index in [0, n) where `past(i)` holds, for a predicate that flips once; n if never. */
function search(n: number, past: (i: number) => boolean): number {
  let a = 0;
  let b = n;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (past(mid)) b = mid;
    else a = mid + 1;
  }
  return a;
}

function grow(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}


/**
 * count, min and max are exact; quantile and cdf interpolate between centroids (rank error under
 * 0.005 from n = 1000 on, none up to 100 values). Queries and toWire compress pending values, so
 * they change the internal layout; merge and clone leave their argument as it was.
 */
export class TDigest {
  readonly compression: number;
  private readonly bufferLimit: number;
  private means: Float64Array = new Float64Array(0);
  private weights: Float64Array = new Float64Array(0);
  private size = 0;
  private bufX: Float64Array = new Float64Array(INITIAL_BUFFER);
  /** Allocated on the first weight other than 1; until then every buffered weight is 1. */
  private bufW: Float64Array | null = null;
  private bufLen = 0;
  private bufUnit = true;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;
  /** Piecewise-linear map rank -> value, rebuilt after each flush. */
  private knotRank = new Float64Array(0);
  private knotValue = new Float64Array(0);
  private knotCount = 0;

  constructor(compression: number = DEFAULT_COMPRESSION) {
    if (!validCompression(compression)) {
      throw new RangeError(`TDigest: compression must be in [${MIN_COMPRESSION}, ${MAX_COMPRESSION}], got ${compression}`);
    }
    this.compression = compression;
    this.bufferLimit = Math.max(MIN_BUFFER_LIMIT, Math.ceil(5 * compression));
  }

  get count(): number {
    return this.total;
  }
  get min(): number {
    return this.total > 0 ? this.lo : NaN;
  }
  get max(): number {
    return this.total > 0 ? this.hi : NaN;
  }

  /** x finite; w a positive integer (as in Dunning's add(double, int)), so counts stay exact. */
  add(x: number, w = 1): void {
    if (x - x !== 0) throw new RangeError(`TDigest.add: value must be finite, got ${x}`);
    if (w !== 1 && !(Number.isSafeInteger(w) && w > 0)) {
      throw new RangeError(`TDigest.add: weight must be a positive integer, got ${w}`);
    }
    x += 0; // -0 becomes +0, so float32 keys ascend with the sorted means
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
    this.push(x, w);
  }

  merge(other: TDigest): void {
    const src = other === this ? other.clone() : other;
    if (src.total === 0) return;
    if (src.lo < this.lo) this.lo = src.lo;
    if (src.hi > this.hi) this.hi = src.hi;
    for (let i = 0; i < src.size; i++) this.push(src.means[i] ?? 0, src.weights[i] ?? 1);
    for (let i = 0; i < src.bufLen; i++) this.push(src.bufX[i] ?? 0, src.bufW?.[i] ?? 1);
  }

  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`TDigest.quantile: q must be in [0, 1], got ${q}`);
    if (this.total === 0) return NaN;
    if (q === 0) return this.lo;
    if (q === 1) return this.hi;
    this.buildKnots();
    const rank = this.knotRank;
    const value = this.knotValue;
    const t = q * this.total;
    // The first knot at or past rank t; the one before it lies strictly below t.
    const a = search(this.knotCount, (i) => (rank[i] ?? 0) >= t);
    if (a === 0) return value[0] ?? this.lo;
    const r0 = rank[a - 1] ?? 0;
    return lerp(value[a - 1] ?? this.lo, value[a] ?? this.hi, (t - r0) / ((rank[a] ?? this.total) - r0));
  }

  cdf(x: number): number {
    if (Number.isNaN(x)) throw new RangeError('TDigest.cdf: x must not be NaN');
    if (this.total === 0) return NaN;
    if (x < this.lo) return 0;
    if (x >= this.hi) return 1;
    this.buildKnots();
    const rank = this.knotRank;
    const value = this.knotValue;
    // The last knot valued <= x: all weight at or below x lies at or before its rank.
    const a = search(this.knotCount, (i) => (value[i] ?? 0) > x) - 1;
    const v0 = value[a] ?? this.lo;
    const v1 = value[a + 1] ?? this.hi;
    let f = (x - v0) / (v1 - v0);
    if (f - f !== 0) f = (x / 2 - v0 / 2) / (v1 / 2 - v0 / 2);
    return Math.min(1, lerp(rank[a] ?? 0, rank[a + 1] ?? this.total, f) / this.total);
  }

  clone(): TDigest {
    const d = new TDigest(this.compression);
    d.means = this.means.slice(0, this.size);
    d.weights = this.weights.slice(0, this.size);
    d.size = this.size;
    d.bufX = this.bufX.slice(0, Math.max(this.bufLen, INITIAL_BUFFER));
    d.bufW = this.bufW?.slice(0, d.bufX.length) ?? null;
    d.bufLen = this.bufLen;
    d.bufUnit = this.bufUnit;
    d.total = this.total;
    d.lo = this.lo;
    d.hi = this.hi;
    return d;
  }

  centroids(): { means: Float64Array; weights: Float64Array } {
    this.flush();
    return { means: this.means.slice(0, this.size), weights: this.weights.slice(0, this.size) };
  }

  toWire(): TDigestWire {
    this.flush();
    const state = { c: this.compression, lo: this.min, hi: this.max, means: this.means, weights: this.weights };
    return encodeWire(state, this.size);
  }

  /** Throws an Error naming the field on anything this build would not have written. */
  static fromWire(input: unknown): TDigest {
    const wire = parseWire(input);
    const d = new TDigest(wire.c);
    d.means = wire.means;
    d.weights = wire.weights;
    d.size = wire.means.length;
    for (let i = 0; i < d.size; i++) d.total += wire.weights[i] ?? 0;
    if (d.size > 0) {
      d.lo = wire.lo;
      d.hi = wire.hi;
    }
    return d;
  }

  private push(x: number, w: number): void {
    let len = this.bufLen;
    if (len === this.bufX.length) {
      if (len < this.bufferLimit) {
        const size = Math.min(this.bufferLimit, len * 2);
        this.bufX = grow(this.bufX, size);
        if (this.bufW !== null) this.bufW = grow(this.bufW, size);
      } else {
        this.flush();
        len = 0;
      }
    }
    if (w !== 1) {
      this.bufW ??= new Float64Array(this.bufX.length).fill(1);
      this.bufUnit = false;
    }
    this.bufX[len] = x;
    if (this.bufW !== null) this.bufW[len] = w;
    this.bufLen = len + 1;
    this.total += w;
  }

  /** Sorts the buffer into the centroids: all kept while the digest is small, else compressed. */
  private flush(): void {
    const len = this.bufLen;
    if (len === 0) return;
    const c = this.size;
    const n = c + len;
    this.bufLen = 0;
    this.knotCount = 0;
    let bx = this.bufX;
    let bw: Float64Array | null = null;
    if (this.bufUnit || this.bufW === null) bx.subarray(0, len).sort();
    else {
      if (order.length < len) {
        order = new Uint32Array(len);
        sortedX = new Float64Array(len);
        sortedW = new Float64Array(len);
      }
      const src = this.bufX;
      const srcW = this.bufW;
      const idx = order.subarray(0, len);
      for (let i = 0; i < len; i++) idx[i] = i;
      idx.sort((i, j) => src[i]! - src[j]!);
      for (let i = 0; i < len; i++) {
        sortedX[i] = src[idx[i]!]!;
        sortedW[i] = srcW[idx[i]!]!;
      }
      bx = sortedX;
      bw = sortedW;
    }
    this.bufUnit = true;
    if (outX.length < n) {
      outX = new Float64Array(n * 2);
      outW = new Float64Array(n * 2);
    }
    let exact = bw === null && n <= EXACT_LIMIT;
    for (let i = 0; exact && i < c; i++) exact = this.weights[i] === 1;
    if (exact) {
      outX.set(this.means.subarray(0, c));
      outX.set(bx.subarray(0, len), c);
      outX.subarray(0, n).sort();
      this.store(n, outW.fill(1, 0, n));
      return;
    }
    this.compress(bx, bw, len, this.compression);
    // Binds only for huge counts (weights of 5+ bytes) or means beyond the float32 range. At
    // delta <= 2 one k unit spans all of q, so a single centroid is left before the loop ends.
    const budget = maxWireBytes(this.compression) - WIRE_HEADER_BYTES;
    for (let delta = this.compression * 0.8; delta > 1 && !this.fitsWire(budget); delta *= 0.8) {
      this.compress(bx, null, 0, delta);
    }
  }

  /**
   * Whether the centroids encode within `budget` bytes. A cheap upper bound decides the usual case
   * (float32 means take at most 5 bytes, a weight at most the varint length of the total), so the
   * exact size is only computed for very large counts or extreme values.
   */
  private fitsWire(budget: number): boolean {
    const float32 = Math.abs(this.lo) < FLOAT32_SAFE && Math.abs(this.hi) < FLOAT32_SAFE;
    if (float32 && this.size * (5 + varintLength(this.total)) <= budget) return true;
    return this.payloadBytes() <= budget;
  }

  /**
   * Merges the sorted items (bx, bw) with the centroids in one greedy pass under
   * k1(q) = delta/(2 pi) asin(2q - 1): a centroid takes the next item while its right edge stays
   * within one k unit of its left edge. Means are rounded to float32 here.
   */
  private compress(bx: Float64Array, bw: Float64Array | null, len: number, delta: number): void {
    const cm = this.means;
    const cw = this.weights;
    const c = this.size;
    const total = this.total;
    const step = (2 * Math.PI) / delta;
    let out = 0;
    let i = 0;
    let j = 0;
    let mean = 0;
    let weight = 0;
    let done = 0;
    let limit = -1;
    for (let o = 0; o < c + len; o++) {
      let x: number;
      let w: number;
      if (j >= len || (i < c && cm[i]! <= bx[j]!)) {
        x = cm[i]!;
        w = cw[i]!;
        i++;
      } else {
        x = bx[j]!;
        w = bw === null ? 1 : bw[j]!;
        j++;
      }
      if (done + weight + w <= limit) {
        weight += w;
        // Items come sorted, so x >= mean; x - mean overflows only for values near ±MAX_VALUE.
        const d = x - mean;
        mean = d < Infinity ? mean + d * (w / weight) : mean * (1 - w / weight) + x * (w / weight);
      } else {
        if (o > 0) {
          outX[out] = roundMean(mean);
          outW[out++] = weight;
          done += weight;
        }
        const k = Math.asin(2 * (done / total) - 1) + step;
        limit = k >= Math.PI / 2 ? Infinity : (total * (1 + Math.sin(k))) / 2;
        mean = x;
        weight = w;
      }
    }
    outX[out] = roundMean(mean);
    outW[out++] = weight;
    this.store(out, outW);
  }

  private store(n: number, weights: Float64Array): void {
    if (this.means.length < n) {
      this.means = new Float64Array(Math.max(n, Math.ceil(this.means.length * 1.5)));
      this.weights = new Float64Array(this.means.length);
    }
    this.means.set(outX.subarray(0, n));
    this.weights.set(weights.subarray(0, n));
    this.size = n;
  }

  private payloadBytes(): number {
    return payloadBytes(this.means, this.weights, this.size);
  }

  /**
   * A centroid of weight 1 is one value and owns the flat stretch [before, before + 1]; heavier
   * ones sit at the middle of their weight. The ends are the exact min and max, and knots are
   * clamped to [min, max] because float32 means can round past them.
   */
  private buildKnots(): void {
    this.flush();
    if (this.knotCount > 0) return;
    const c = this.size;
    if (this.knotRank.length < 2 * c + 4) {
      this.knotRank = new Float64Array(2 * c + 4);
      this.knotValue = new Float64Array(2 * c + 4);
    }
    let n = 0;
    const put = (r: number, v: number): void => {
      this.knotRank[n] = r;
      this.knotValue[n++] = v;
    };
    const { lo, hi, total } = this;
    if ((this.weights[0] ?? 1) > 1) {
      put(0, lo);
      put(1, lo);
    }
    let before = 0;
    for (let i = 0; i < c; i++) {
      const w = this.weights[i] ?? 1;
      const v = Math.min(hi, Math.max(lo, this.means[i] ?? 0));
      if (w > 1) put(before + w / 2, v);
      else {
        const point = i === 0 ? lo : i === c - 1 ? hi : v;
        put(before, point);
        put(before + 1, point);
      }
      before += w;
    }
    if ((this.weights[c - 1] ?? 1) > 1) {
      put(total - 1, hi);
      put(total, hi);
    }
    this.knotCount = n;
  }
}

/** A mean outside the float32 range stays float64 (and the wire then carries float64 means). */
/** Below this magnitude every mean rounds to a finite float32 (the largest is about 3.4028e38). */
const FLOAT32_SAFE = 3.4e38;

/** Bytes of the LEB128 varint of a non-negative integer. */
function varintLength(v: number): number {
  let n = 1;
  for (; v >= 128; v = Math.floor(v / 128)) n++;
  return n;
}

function roundMean(m: number): number {
  const f = Math.fround(m);
  return f - f === 0 ? f + 0 : m; // + 0: a tiny negative mean rounds to -0, keep keys ascending
}
