// Drift of a categorical stream (feature, predicted class, label) between a baseline and a current
// window, from their capped count maps: PSI, the chi-squared test of homogeneity and the
// Jensen-Shannon distance, all over one contingency table, plus the categories new in the window.
//
// The table. Each side counts its first `cap` distinct values and folds the rest into `other`, so
// a value can be counted on one side and hidden in the other side's `other`. Comparing such a
// value's count with 0 would invent drift, so the table keeps as its own column only a value whose
// count is known on both sides (it has a counter there, or that side has no overflow, so its count
// is truly 0); every other value, the overflow included, makes up one `other` column on both
// sides. Since totals are exact, that column holds the same set of values on both sides and every
// cell is an exact count. Without overflow on either side this is the plain union of categories.
// Columns that are 0 on both sides are dropped, as they carry no information (and scipy refuses
// a zero expected frequency).
//
// A side with no values at all gives NaN for every score: there is nothing to compare.

import type { CategoricalSummary } from '../profile/index.js';
import { chiSquaredSf } from './special.js';

export { chiSquaredSf } from './special.js';
import { jensenShannonFromShares, psiFromShares } from './shares.js';

/** One side of a comparison: counted values, the overflow past the cap, and the exact total. */
export interface CategoricalSide {
  counts: Map<string, number>;
  other: number;
  total: number;
}

/** The 2 x k table every score is computed on; the other column is included when non-zero. */
export interface CategoricalTable {
  /** Values with their own column, sorted (UTF-16 code unit order). */
  categories: string[];
  base: number[];
  cur: number[];
  otherBase: number;
  otherCur: number;
}

export interface ChiSquaredResult {
  statistic: number;
  dof: number;
  p_value: number;
}


/** Side of a summary: its counters (copied), its overflow, and its non-missing count. */
export function categoricalSide(s: CategoricalSummary): CategoricalSide {
  return { counts: new Map(s.values()), other: s.other, total: s.count };
}

function checkSide(side: CategoricalSide, which: string): void {
  const bad = (n: number): boolean => !Number.isSafeInteger(n) || n < 0;
  let sum = side.other;
  for (const [k, n] of side.counts) {
    if (bad(n)) throw new RangeError(`${which} count of ${JSON.stringify(k)} must be a non-negative integer, got ${n}`);
    sum += n;
  }
  if (bad(side.other)) throw new RangeError(`${which} other must be a non-negative integer, got ${side.other}`);
  if (sum !== side.total) throw new RangeError(`${which} counts add up to ${sum} but the total is ${side.total}`);
}

/** Exact count of `v` on `side`, or undefined when it may be hidden in the overflow. */
function knownCount(side: CategoricalSide, v: string): number | undefined {
  const n = side.counts.get(v);
  if (n !== undefined) return n;
  return side.other === 0 ? 0 : undefined;
}

/** The contingency table described at the top of this file. Throws on an inconsistent side. */
export function categoricalTable(base: CategoricalSide, cur: CategoricalSide): CategoricalTable {
  checkSide(base, 'baseline');
  checkSide(cur, 'current');
  const union = new Set([...base.counts.keys(), ...cur.counts.keys()]);
  const categories: string[] = [];
  const b: number[] = [];
  const c: number[] = [];
  for (const v of [...union].sort()) {
    const nb = knownCount(base, v);
    const nc = knownCount(cur, v);
    if (nb === undefined || nc === undefined || nb + nc === 0) continue;
    categories.push(v);
    b.push(nb);
    c.push(nc);
  }
  return {
    categories,
    base: b,
    cur: c,
    otherBase: base.total - sum(b),
    otherCur: cur.total - sum(c),
  };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** The table's two rows, with the other column appended when it is non-zero. */
function rows(t: CategoricalTable): [number[], number[]] {
  if (t.otherBase + t.otherCur === 0) return [t.base, t.cur];
  return [[...t.base, t.otherBase], [...t.cur, t.otherCur]];
}

/**
 * Population stability index, sum over columns of (q - p) ln(q / p) with p, q the baseline and
 * current shares, each raised to PSI_SHARE_FLOOR first.
 */
export function psiCategorical(base: CategoricalSide, cur: CategoricalSide): number {
  const t = categoricalTable(base, cur);
  if (base.total === 0 || cur.total === 0) return Number.NaN;
  const [rb, rc] = rows(t);
  return psiFromShares(
    rb.map((n) => n / base.total),
    rc.map((n) => n / cur.total),
  );
}

/**
 * Pearson's chi-squared test of homogeneity on the 2 x k table, as scipy.stats.chi2_contingency
 * with its defaults: dof = k - 1; with one degree of freedom, Yates' continuity correction moves
 * each observed count toward its expected count by 0.5, or by less where they are closer (scipy
 * gh-13875); with none (a single column), statistic 0 and p-value 1. p-values under ~2.2e-308
 * come out as denormals or 0, where scipy's may differ in the last digits or be 0.
 */
export function chiSquared(base: CategoricalSide, cur: CategoricalSide): ChiSquaredResult {
  const t = categoricalTable(base, cur);
  if (base.total === 0 || cur.total === 0) return { statistic: Number.NaN, dof: 0, p_value: Number.NaN };
  const [rb, rc] = rows(t);
  const dof = rb.length - 1;
  if (dof === 0) return { statistic: 0, dof: 0, p_value: 1 };
  const n = base.total + cur.total;
  let statistic = 0;
  const cell = (observed: number, expected: number): void => {
    let o = observed;
    if (dof === 1) {
      const diff = expected - o;
      o += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
    }
    statistic += ((o - expected) * (o - expected)) / expected;
  };
  for (let j = 0; j < rb.length; j++) {
    const ob = rb[j] as number;
    const oc = rc[j] as number;
    // Same operation order as scipy's expected_freq (row sum x column sum / n), for the last digit.
    cell(ob, (base.total * (ob + oc)) / n);
    cell(oc, (cur.total * (ob + oc)) / n);
  }
  return { statistic, dof, p_value: chiSquaredSf(statistic, dof) };
}

/**
 * Jensen-Shannon distance between the two rows' shares, natural log, as scipy.spatial.distance
 * .jensenshannon: sqrt of the divergence, between 0 and sqrt(ln 2).
 */
export function jensenShannonCategorical(base: CategoricalSide, cur: CategoricalSide): number {
  const t = categoricalTable(base, cur);
  if (base.total === 0 || cur.total === 0) return Number.NaN;
  const [rb, rc] = rows(t);
  return jensenShannonFromShares(rb, rc);
}

/**
 * Values counted in the current window that the baseline never saw, most frequent first, then by
 * name. Only certain ones are listed: when the baseline overflowed its cap (other > 0), any value
 * without a baseline counter may be hidden in its other, so the list is empty.
 */
export function newCategories(base: CategoricalSide, cur: CategoricalSide): string[] {
  if (base.other > 0) return [];
  const seen: [string, number][] = [];
  for (const [v, n] of cur.counts) if (n > 0 && (base.counts.get(v) ?? 0) === 0) seen.push([v, n]);
  seen.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return seen.map(([v]) => v);
}
