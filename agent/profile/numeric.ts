// Summary of one numeric stream: exact count, extremes and moments (Welford, merged with Chan et
// al.'s parallel update) beside a t-digest for quantiles, and optionally exact counts in fixed bins
// (a baseline's deciles, known when the summary is created) so PSI on those bins needs no sketch.

import type { NumericWire } from './codec.js';
import type { NumericJson } from './index.js';
import { TDigest } from './tdigest.js';

/** Derived figures go out as null rather than NaN or Infinity so that JSON stays valid. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Exact counts of finite values in fixed bins; counts.length === edges.length + 1. */
export interface NumericBins {
  edges: number[];
  counts: number[];
}

/**
 * Why edges are refused, or null when they are usable: finite and strictly ascending (equal edges
 * would make an empty-width bin; drift's baselineEdges drops repeats for the same reason).
 */
export function binEdgesProblem(edges: readonly number[]): string | null {
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i] ?? NaN;
    if (!Number.isFinite(e)) return `bin edge ${i} is not a finite number (${e})`;
    if (i > 0 && !(e > (edges[i - 1] ?? NaN))) return `bin edges are not strictly ascending at ${i}`;
  }
  return null;
}

/**
 * The bin of v: the number of edges strictly below it, so the bins are (-inf, e1], (e1, e2], ...,
 * (e_k, inf), the convention of drift's binShares (a digest cdf is P(X <= x)). A linear scan: with
 * a baseline's 9 decile edges it beats a binary search's unpredictable branches.
 */
function binOf(edges: Float64Array, v: number): number {
  let i = 0;
  const k = edges.length;
  while (i < k && (edges[i] as number) < v) i++;
  return i;
}

function sameEdges(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class NumericSummary {
  readonly kind = 'numeric' as const;
  private n = 0;
  private nMissing = 0;
  private nNonFinite = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private mu = 0;
  private sq = 0;
  private digest: TDigest;
  /**
   * Inner bin edges and the exact count of finite values per bin, or null. Only ever complete: a
   * merge with values that were not counted on the same edges drops them for good.
   */
  private edges: Float64Array | null = null;
  private counts: Float64Array | null = null;

  /** `binEdges`: count every finite value in the bins these edges make (see binOf). */
  constructor(digest?: TDigest, binEdges?: readonly number[] | null) {
    this.digest = digest ?? new TDigest();
    if (binEdges != null) {
      const problem = binEdgesProblem(binEdges);
      if (problem !== null) throw new RangeError(`NumericSummary: ${problem}`);
      // + 0: -0 becomes 0, as for values, so the edges round-trip through CBOR exactly.
      this.edges = Float64Array.from(binEdges, (e) => e + 0);
      this.counts = new Float64Array(binEdges.length + 1);
    }
  }

  /** Finite values only; the others are in nonFinite. */
  get count(): number {
    return this.n;
  }
  get missing(): number {
    return this.nMissing;
  }
  get nonFinite(): number {
    return this.nNonFinite;
  }
  /** Every value offered: finite, non-finite and missing. */
  get total(): number {
    return this.n + this.nMissing + this.nNonFinite;
  }
  get min(): number | null {
    return this.n > 0 ? this.lo : null;
  }
  get max(): number | null {
    return this.n > 0 ? this.hi : null;
  }
  get mean(): number | null {
    return this.n > 0 ? this.mu : null;
  }
  /** Sum of squared deviations from the mean. */
  get m2(): number {
    return this.sq;
  }
  /** Sample standard deviation (n - 1); 0 below two values. */
  get std(): number | null {
    if (this.n === 0) return null;
    if (this.n < 2) return 0;
    return Math.sqrt(Math.max(0, this.sq) / (this.n - 1));
  }

  quantile(q: number): number | null {
    return this.n > 0 ? this.digest.quantile(q) : null;
  }

  cdf(x: number): number | null {
    return this.n > 0 ? this.digest.cdf(x) : null;
  }

  /** A copy of the exact bin counts, or null when the summary has none (or lost them in a merge). */
  get bins(): NumericBins | null {
    if (this.edges === null || this.counts === null) return null;
    return { edges: Array.from(this.edges), counts: Array.from(this.counts) };
  }

  /** The digest itself, for drift statistics; callers must not modify it. */
  sketch(): TDigest {
    return this.digest;
  }

  add(x: number): void {
    if (x - x !== 0) {
      // x - x is NaN exactly for NaN and ±Infinity: one subtraction instead of Number.isFinite.
      this.nNonFinite++;
      return;
    }
    // -0 becomes 0: CBOR writes -0 as the integer 0, and the round trip must be exact.
    const v = x + 0;
    const n = ++this.n;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    const d = v - this.mu;
    this.mu += d / n;
    this.sq += d * (v - this.mu);
    this.digest.add(v);
    const edges = this.edges;
    if (edges !== null) {
      const counts = this.counts as Float64Array;
      const i = binOf(edges, v);
      counts[i] = (counts[i] as number) + 1;
    }
  }

  addMissing(k = 1): void {
    this.nMissing += k;
  }

  /** A value that arrived later for a record counted as missing (a delayed label). */
  fillMissing(x: number): void {
    if (this.nMissing > 0) this.nMissing--;
    this.add(x);
  }

  merge(o: NumericSummary): void {
    this.nMissing += o.nMissing;
    this.nNonFinite += o.nNonFinite;
    if (o.n === 0) return;
    if (this.n === 0) {
      // Copy rather than merge: a digest merged into an empty one may cluster differently. No value
      // of ours is uncounted, so the other's bins (or their absence) become ours.
      this.edges = o.edges;
      this.counts = o.counts === null ? null : o.counts.slice();
      this.n = o.n;
      this.lo = o.lo;
      this.hi = o.hi;
      this.mu = o.mu;
      this.sq = o.sq;
      this.digest = o.digest.clone();
      return;
    }
    const n = this.n + o.n;
    const delta = o.mu - this.mu;
    this.mu += (delta * o.n) / n;
    this.sq += o.sq + ((delta * delta * this.n) / n) * o.n;
    this.n = n;
    if (o.lo < this.lo) this.lo = o.lo;
    if (o.hi > this.hi) this.hi = o.hi;
    this.digest.merge(o.digest);
    if (this.edges === null || this.counts === null) return;
    if (o.edges !== null && o.counts !== null && sameEdges(this.edges, o.edges)) {
      for (let i = 0; i < this.counts.length; i++) (this.counts[i] as number) += o.counts[i] as number;
    } else {
      // Some values were not counted on our edges: partial counts would bias PSI, so none are kept.
      this.edges = null;
      this.counts = null;
    }
  }

  clone(): NumericSummary {
    const c = new NumericSummary();
    // Edges are never modified in place, so the clone may share them.
    c.edges = this.edges;
    c.counts = this.counts === null ? null : this.counts.slice();
    c.merge(this);
    return c;
  }

  /** Bins stay out of the JSON (the `windows --json` contract): they serve drift scoring only. */
  toJSON(): NumericJson {
    const empty = this.n === 0;
    return {
      type: 'numeric',
      count: this.n,
      missing: this.nMissing,
      non_finite: this.nNonFinite,
      min: empty ? null : this.lo,
      max: empty ? null : this.hi,
      mean: empty ? null : finiteOrNull(this.mu),
      std: empty ? null : finiteOrNull(this.std ?? NaN),
      quantiles: empty
        ? null
        : {
            p50: finiteOrNull(this.digest.quantile(0.5)),
            p90: finiteOrNull(this.digest.quantile(0.9)),
            p99: finiteOrNull(this.digest.quantile(0.99)),
          },
    };
  }

  toWire(): NumericWire {
    const empty = this.n === 0;
    return {
      n: this.n,
      ms: this.nMissing,
      nf: this.nNonFinite,
      lo: empty ? null : this.lo,
      hi: empty ? null : this.hi,
      mu: this.mu,
      m2: this.sq,
      d: this.digest.toWire(),
      b: this.edges === null || this.counts === null ? null : { e: Array.from(this.edges), c: Array.from(this.counts) },
    };
  }

  static fromWire(w: NumericWire, where: string): NumericSummary {
    const bad = (what: string): Error => new Error(`${where}: ${what}`);
    let digest: TDigest;
    try {
      digest = TDigest.fromWire(w.d);
    } catch (err) {
      throw bad(`bad t-digest (${err instanceof Error ? err.message : String(err)})`);
    }
    if (digest.count !== w.n) throw bad(`t-digest holds ${digest.count} values but the summary counts ${w.n}`);
    const s = new NumericSummary(digest);
    if (w.n > 0) {
      if (w.lo === null || w.hi === null || w.lo > w.hi) throw bad('min/max missing or out of order');
      s.lo = w.lo;
      s.hi = w.hi;
    } else if (w.lo !== null || w.hi !== null || w.mu !== 0 || w.m2 !== 0) {
      throw bad('an empty summary carries min/max/mean');
    }
    s.n = w.n;
    s.nMissing = w.ms;
    s.nNonFinite = w.nf;
    s.mu = w.mu;
    s.sq = w.m2;
    // Profiles written before bins existed have no `b`: the same as null.
    if (w.b != null) {
      const problem = binEdgesProblem(w.b.e);
      if (problem !== null) throw bad(problem);
      if (w.b.c.length !== w.b.e.length + 1) throw bad(`${w.b.e.length} bin edges but ${w.b.c.length} bin counts`);
      let sum = 0;
      for (const c of w.b.c) sum += c;
      if (sum !== w.n) throw bad(`bin counts add up to ${sum} but the summary counts ${w.n} values`);
      s.edges = Float64Array.from(w.b.e);
      s.counts = Float64Array.from(w.b.c);
    }
    return s;
  }
}
