// Drift statistics between a baseline and a current numeric stream, computed from their t-digests
// alone (no raw values), so a device can score a closed window against its baseline. The digest cdf
// is piecewise linear between knots placed at centroid means and the exact min/max; the KS
// statistic and Wasserstein distance below are exact for those interpolated cdfs, and their error
// against the raw data is the digest's rank error. PSI and Jensen-Shannon use a side's exact bin
// counts instead when it counted its values on the very edges scored (the baseline's deciles; see
// binEdgesFor). test/drift/numeric.test.ts checks every score against scipy on the same raw data.

import { jensenShannonFromShares, psiFromShares } from './shares.js';
import type { ProfileBinEdges, WindowProfile } from '../profile/index.js';
import type { NumericBins, NumericSummary } from '../profile/numeric.js';
import type { TDigest } from '../profile/tdigest.js';

export interface NumericSide {
  digest: TDigest;
  /** Finite values summarised; n and m of the KS test come from here. */
  count: number;
  mean: number | null;
  /** Sample standard deviation (n - 1), as NumericSummary keeps it. */
  std: number | null;
  /** Exact counts on fixed bins, used where their edges are the ones scored; else the digest. */
  bins?: NumericBins | null;
}

/** Decile bins, as in common PSI practice and Evidently's numeric PSI. */
export const DEFAULT_BINS = 10;


/**
 * The baseline std used to normalise Wasserstein-1 is at least this, as in Evidently
 * (max(std, 0.001)), so a constant baseline gives a large finite score instead of Infinity.
 */
export const WASSERSTEIN_STD_FLOOR = 1e-3;

/** The summary's own digest; scoring only queries it (queries may compress pending values). */
export function numericSide(s: NumericSummary): NumericSide {
  return { digest: s.sketch(), count: s.count, mean: s.mean, std: s.std, bins: s.bins };
}

function requireValues(side: NumericSide, which: 'baseline' | 'current'): void {
  if (!(side.count > 0) || !(side.digest.count > 0)) {
    throw new RangeError(`numeric drift: the ${which} side holds no values (count ${side.count})`);
  }
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 2) {
    throw new RangeError(`numeric drift: bins must be an integer >= 2, got ${bins}`);
  }
}

/**
 * Inner edges at the baseline's 1/bins, 2/bins, ... quantiles; the first and last bins are open.
 * Repeated edges (a baseline with heavy ties) are dropped, so fewer, non-empty-width bins remain.
 */
export function baselineEdges(base: NumericSide, bins: number = DEFAULT_BINS): number[] {
  checkBins(bins);
  requireValues(base, 'baseline');
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = base.digest.quantile(i / bins);
    if (edges.length === 0 || e > (edges[edges.length - 1] ?? -Infinity)) edges.push(e);
  }
  return edges;
}

/** Bins are (-inf, e1], (e1, e2], ..., (e_k, inf): the cdf is P(X <= x). */
export function binShares(digest: TDigest, edges: readonly number[]): number[] {
  const shares: number[] = [];
  let below = 0;
  for (const e of edges) {
    const f = Math.max(below, digest.cdf(e));
    shares.push(f - below);
    below = f;
  }
  shares.push(Math.max(0, 1 - below));
  return shares;
}

/**
 * A side's shares of the bins `edges` make: exact from its bin counts when they were counted on
 * exactly these edges (same bins as binShares), else from its digest's cdf.
 */
export function sideShares(side: NumericSide, edges: readonly number[]): number[] {
  const b = side.bins;
  if (b != null && b.edges.length === edges.length && b.edges.every((e, i) => e === edges[i])) {
    let total = 0;
    for (const c of b.counts) total += c;
    if (total > 0) return b.counts.map((c) => c / total);
  }
  return binShares(side.digest, edges);
}

/**
 * Population stability index, sum of (c - b) ln(c / b) over the baseline's quantile bins. Exact for
 * the raw data on those bins when both sides carry counts on them; otherwise a side's shares come
 * from its digest, within its rank error (magnified where a share is small, see the tests).
 */
export function psiNumeric(
  base: NumericSide,
  cur: NumericSide,
  bins: number = DEFAULT_BINS,
): { psi: number; edges: number[] } {
  requireValues(cur, 'current');
  const edges = baselineEdges(base, bins);
  return { psi: psiFromShares(sideShares(base, edges), sideShares(cur, edges)), edges };
}

/**
 * Jensen-Shannon distance (the square root of the divergence) with natural logs, as scipy's
 * `jensenshannon` by default, so it lies in [0, sqrt(ln 2)]. No floor is needed: empty bins add 0.
 */
export function jensenShannonNumeric(base: NumericSide, cur: NumericSide, bins: number = DEFAULT_BINS): number {
  requireValues(cur, 'current');
  const edges = baselineEdges(base, bins);
  return jensenShannonFromShares(sideShares(base, edges), sideShares(cur, edges));
}

const edgesByBaseline = new WeakMap<WindowProfile, Readonly<Required<ProfileBinEdges>>>();

/**
 * The edges psiNumeric will score against this baseline (its digest's deciles), per numeric
 * feature and for a numeric (regression) prediction, as ProfileOptions for profiles to be compared
 * with it: their summaries then count exactly on those bins. Computed once per baseline object, so
 * the baseline must not change afterwards (stored and learned baselines are complete).
 */
export function binEdgesFor(baseline: WindowProfile): Readonly<Required<ProfileBinEdges>> {
  const known = edgesByBaseline.get(baseline);
  if (known !== undefined) return known;
  const edgesOf = (s: NumericSummary): number[] => baselineEdges(numericSide(s), DEFAULT_BINS);
  const features = new Map<string, readonly number[]>();
  for (const name of baseline.featureNames()) {
    const s = baseline.feature(name);
    if (s !== undefined && s.kind === 'numeric' && s.count > 0) features.set(name, edgesOf(s));
  }
  const p = baseline.prediction;
  const out = Object.freeze({ binEdges: features, predictionBinEdges: p.kind === 'numeric' && p.count > 0 ? edgesOf(p) : null });
  edgesByBaseline.set(baseline, out);
  return out;
}

/** Every knot abscissa of either digest: centroid means and the exact extremes, ascending. */
function knotValues(a: TDigest, b: TDigest): number[] {
  const xs = [...a.centroids().means, ...b.centroids().means, a.min, a.max, b.min, b.max];
  xs.sort((x, y) => x - y);
  const out: number[] = [];
  for (const x of xs) if (out.length === 0 || x > (out[out.length - 1] ?? x)) out.push(x);
  return out;
}

/**
 * Two-sample Kolmogorov-Smirnov. Both digest cdfs are linear between consecutive knots of either
 * digest and right-continuous at jumps, so sup |F_base - F_cur| is attained at a knot: evaluating
 * there gives the statistic of the interpolated cdfs exactly. The p-value is scipy's large-sample
 * one (ks_2samp mode 'asymp'): the one-sample Kolmogorov distribution at n = round(nm / (n + m)).
 */
export function ksTwoSample(base: NumericSide, cur: NumericSide): { statistic: number; p_value: number } {
  requireValues(base, 'baseline');
  requireValues(cur, 'current');
  let d = 0;
  for (const x of knotValues(base.digest, cur.digest)) {
    d = Math.max(d, Math.abs(base.digest.cdf(x) - cur.digest.cdf(x)));
  }
  const en = Math.max(1, Math.round((base.count * cur.count) / (base.count + cur.count)));
  return { statistic: d, p_value: kolmogorovSf(d, en) };
}

/**
 * P(D_n > d) for the one-sample two-sided KS statistic, following scipy's _kolmogn branches for
 * n > 140: Pelz-Good's expansion where n d^2 < 2.2 (it agrees with scipy's exact DMTW branch to
 * about 1e-7 there), and twice the one-sided Smirnov tail above, with Maag and Dicaire's
 * approximation exp(-(6nd + 1)^2 / (18n)) instead of the exact sum; the latter only matters for
 * p below about 0.025, and its relative error grows for p far below 1e-9 where no decision turns on
 * it. For n <= 140 scipy switches to exact recursions; Pelz-Good is kept there as a close stand-in.
 */
export function kolmogorovSf(d: number, n: number): number {
  if (!(d > 0)) return 1;
  if (d >= 1) return 0;
  const t = n * d;
  if (t <= 0.5) return 1;
  if (t >= n - 1) return Math.min(1, 2 * Math.pow(1 - d, n));
  const nd2 = t * d;
  if (nd2 >= 370) return 0;
  if (nd2 >= 2.2) return Math.min(1, 2 * Math.exp(-((6 * t + 1) ** 2) / (18 * n)));
  return Math.min(1, Math.max(0, 1 - pelzGoodCdf(n, d)));
}

const PI2 = Math.PI ** 2;
const PI4 = PI2 ** 2;
const PI6 = PI2 ** 3;
const SQRT2PI = Math.sqrt(2 * Math.PI);

/** Pelz and Good (1976), P(D_n <= d) ~ K0 + K1/sqrt(n) + K2/n + K3/n^1.5; ported from scipy. */
function pelzGoodCdf(n: number, d: number): number {
  const z = Math.sqrt(n) * d;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z4 * z4;
  // Horner in q^(8k) over odd m = 2k - 1, as scipy does, to avoid underflowing powers.
  const maxk = Math.ceil((16 * z) / Math.PI);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const qp = Math.pow(q, 8 * k);
    s0 = s0 * qp + 1;
    s1 = s1 * qp + (k1a + k1b * m2);
    s2 = s2 * qp + (k2a + k2b * m2 + k2c * m4);
    s3 = s3 * qp + (k3a + k3b * m2 + k3c * m4 + k3d * m4 * m2);
  }
  const c = q * SQRT2PI;
  const k0 = (s0 * c) / z;
  let k1 = (s1 * c) / (6 * z4);
  let k2 = (s2 * c) / (72 * z4 * z3);
  let k3 = (s3 * c) / (6480 * z6 * z4);
  q = Math.exp(-PI2 / 2 / z2);
  let e2 = 0;
  let e3 = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2q = k * k * Math.pow(q, k * k);
    const kpi = Math.PI * k;
    e2 += k2q;
    e3 += (sqrt3z + kpi) * (sqrt3z - kpi) * k2q;
  }
  k2 += (e2 * PI2 * SQRT2PI) / (-36 * z3);
  k3 += (e3 * PI2 * SQRT2PI) / (216 * z6);
  const rn = Math.sqrt(n);
  k1 /= rn;
  k2 /= n;
  k3 /= n * rn;
  return k0 + k1 + k2 + k3;
}

/**
 * Wasserstein-1 distance, the integral of |F_base(x) - F_cur(x)| dx (equal to the integral of
 * |Q_base(q) - Q_cur(q)| dq). Between consecutive knots of either digest both cdfs are linear, so
 * each stretch is integrated exactly: the difference is read at its quarter points (away from jumps
 * at the knots), extended to the ends, and |linear| integrated with its sign change if any.
 */
export function wasserstein1(base: NumericSide, cur: NumericSide): number {
  requireValues(base, 'baseline');
  requireValues(cur, 'current');
  const xs = knotValues(base.digest, cur.digest);
  const diff = (x: number): number => base.digest.cdf(x) - cur.digest.cdf(x);
  let w = 0;
  for (let i = 1; i < xs.length; i++) {
    const x0 = xs[i - 1] ?? 0;
    const x1 = xs[i] ?? 0;
    const h = x1 - x0;
    const a = diff(x0 + h / 4);
    const b = diff(x1 - h / 4);
    const d0 = 1.5 * a - 0.5 * b;
    const d1 = 1.5 * b - 0.5 * a;
    if (d0 * d1 >= 0) w += (h * (Math.abs(d0) + Math.abs(d1))) / 2;
    else w += (h * (d0 * d0 + d1 * d1)) / (2 * (Math.abs(d0) + Math.abs(d1)));
  }
  return w;
}

/** W1 / max(baseline std, WASSERSTEIN_STD_FLOOR): shift in baseline standard deviations. */
export function wassersteinNormalized(base: NumericSide, cur: NumericSide): number {
  const w = wasserstein1(base, cur);
  return w / Math.max(base.std ?? 0, WASSERSTEIN_STD_FLOOR);
}
