// Summary of one numeric stream: exact count, extremes and moments (Welford, merged with Chan et
// al.'s parallel update) beside a t-digest for quantiles.

import type { NumericWire } from './codec.js';
import type { NumericJson } from './index.js';
import { TDigest } from './tdigest.js';

/** Derived figures go out as null rather than NaN or Infinity so that JSON stays valid. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
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

  constructor(digest?: TDigest) {
    this.digest = digest ?? new TDigest();
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
  }

  addMissing(k = 1): void {
    this.nMissing += k;
  }

  merge(o: NumericSummary): void {
    this.nMissing += o.nMissing;
    this.nNonFinite += o.nNonFinite;
    if (o.n === 0) return;
    if (this.n === 0) {
      // Copy rather than merge: a digest merged into an empty one may cluster differently.
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
  }

  clone(): NumericSummary {
    const c = new NumericSummary();
    c.merge(this);
    return c;
  }

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
    return s;
  }
}
