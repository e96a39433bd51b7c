// Numeric drift scores from two t-digests against scipy on the same raw data. The samples are
// rebuilt from the seeds in fixtures/numeric.json (scripts/fixtures/drift_numeric.py made it), fed
// through NumericSummary as the agent would, and scored from the sketches only; then again with
// exact bin counts on the baseline's deciles, as windows created after their baseline keep them.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baselineEdges, jensenShannonFromShares, jensenShannonNumeric, kolmogorovSf, ksTwoSample, numericSide,
  psiFromShares, psiNumeric, sideShares, wasserstein1, wassersteinNormalized, WASSERSTEIN_STD_FLOOR, type NumericSide,
} from '../../agent/drift/index.js';
import { NumericSummary } from '../../agent/profile/numeric.js';
import { mulberry32, normal } from './prng.js';

const Case = z.object({
  name: z.string(),
  family: z.enum(['normal', 'lognormal', 'exponential', 'uniform', 'mixture']),
  params: z.array(z.number()),
  seed_base: z.number().int(),
  seed_cur: z.number().int(),
  n_base: z.number().int().positive(),
  n_cur: z.number().int().positive(),
  center: z.number(),
  scale: z.number(),
  shift: z.number(),
  sum_base: z.number(),
  sum_cur: z.number(),
  ks_statistic: z.number(),
  ks_p_value: z.number(),
  ks_p_asymp: z.number(),
  wasserstein: z.number(),
  std_base: z.number(),
  js_exact_deciles: z.number(),
});
type Case = z.infer<typeof Case>;

const Fixture = z.object({
  v: z.literal(1),
  bins: z.number().int(),
  cases: z.array(Case),
  kolmogorov_sf: z.array(z.object({ n: z.number().int(), d: z.number(), sf: z.number() })),
  jensenshannon: z.array(z.object({ p: z.array(z.number()), q: z.array(z.number()), js: z.number() })),
});

const fixture = Fixture.parse(
  JSON.parse(readFileSync(new URL('./fixtures/numeric.json', import.meta.url), 'utf8')),
);

/** Mirrors draw() in scripts/fixtures/drift_numeric.py operation for operation. */
function draw(c: Case, seed: number, n: number): Float64Array {
  const rng = mulberry32(seed);
  const p = (i: number): number => c.params[i] ?? NaN;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (c.family) {
      case 'normal':
        out[i] = p(0) + p(1) * normal(rng);
        break;
      case 'lognormal':
        out[i] = Math.exp(p(0) + p(1) * normal(rng));
        break;
      case 'exponential':
        out[i] = -Math.log(1 - rng()) * p(0);
        break;
      case 'uniform':
        out[i] = p(0) + (p(1) - p(0)) * rng();
        break;
      case 'mixture': {
        const pick = rng();
        const z = normal(rng);
        out[i] = pick < p(0) ? p(1) + p(2) * z : p(3) + p(4) * z;
        break;
      }
    }
  }
  return out;
}

function summarise(xs: Float64Array, edges?: readonly number[]): NumericSide {
  const s = new NumericSummary(undefined, edges);
  for (const x of xs) s.add(x);
  return numericSide(s);
}

/** Exact bin shares of raw data, bins (-inf, e1], ..., (e_k, inf) as the sketch version uses. */
function rawShares(sorted: Float64Array, edges: readonly number[]): number[] {
  const upper = (e: number): number => {
    let a = 0;
    let b = sorted.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if ((sorted[mid] ?? 0) > e) b = mid;
      else a = mid + 1;
    }
    return a;
  };
  const shares: number[] = [];
  let below = 0;
  for (const e of edges) {
    const k = upper(e);
    shares.push((k - below) / sorted.length);
    below = k;
  }
  shares.push((sorted.length - below) / sorted.length);
  return shares;
}

function sum(xs: Float64Array): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

const worst = { psiExact: 0, jsExact: 0, psi: 0, psiRelAbove01: 0, ks: 0, w1Rel: 0, w1AbsStd: 0, js: 0, pTailRel: 0, pBodyRel: 0 };
const decisions = { compared: 0, skippedNearThreshold: 0 };

afterAll(() => {
  // The measured worst errors, for the record beside the tolerances asserted below.
  console.log(`numeric drift worst errors over ${fixture.cases.length} cases:`, worst, decisions);
});

describe('numeric drift from t-digests vs scipy on the raw data', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rawBase = draw(c, c.seed_base, c.n_base);
    const rawCur = draw(c, c.seed_cur, c.n_cur).map((x) => c.center + (x - c.center) * c.scale + c.shift);
    // Same samples as scipy saw: naive vs pairwise summation differ only in rounding.
    expect(Math.abs(sum(rawBase) - c.sum_base)).toBeLessThanOrEqual(1e-9 * Math.abs(c.sum_base) + 1e-9);
    expect(Math.abs(sum(rawCur) - c.sum_cur)).toBeLessThanOrEqual(1e-9 * Math.abs(c.sum_cur) + 1e-9);

    const base = summarise(rawBase);
    const cur = summarise(rawCur);
    // As the agent does it: the baseline's deciles from its digest, then both sides counted on them
    // (the baseline re-added in the same order, so its digest and deciles are the same).
    const digestEdges = baselineEdges(base, fixture.bins);
    const baseExact = summarise(rawBase, digestEdges);
    const curExact = summarise(rawCur, digestEdges);
    const sortedBase = rawBase.sort();
    const sortedCur = rawCur.sort();

    const { psi, edges } = psiNumeric(base, cur, fixture.bins);
    expect(edges.length).toBe(fixture.bins - 1);
    const exactPsi = psiFromShares(rawShares(sortedBase, edges), rawShares(sortedCur, edges));

    // With bin counts on the scored edges PSI is the raw data's, whatever the drift.
    const counted = psiNumeric(baseExact, curExact, fixture.bins);
    expect(counted.edges).toEqual(edges);
    const psiExactErr = Math.abs(counted.psi - exactPsi);
    worst.psiExact = Math.max(worst.psiExact, psiExactErr);
    expect(psiExactErr).toBeLessThanOrEqual(0.005);
    expect(psiExactErr).toBeLessThanOrEqual(1e-12);
    const jsExact = jensenShannonFromShares(rawShares(sortedBase, edges), rawShares(sortedCur, edges));
    const jsExactErr = Math.abs(jensenShannonNumeric(baseExact, curExact, fixture.bins) - jsExact);
    worst.jsExact = Math.max(worst.jsExact, jsExactErr);
    expect(jsExactErr).toBeLessThanOrEqual(1e-12);

    // Sketch only (a side without counts on these edges, e.g. a learned baseline):
    const psiErr = Math.abs(psi - exactPsi);
    // 0.005 absolute holds below PSI 0.1 (no-drift range). Above, the digest's rank error (up to
    // ~0.004 at n = 1,000, or in the valley of a bimodal feature at any n) is multiplied by PSI's
    // sensitivity |ln(c/b) + 1 - b/c|, which passes 20 when one side nearly empties a bin, so the
    // bound there is relative: at most 10% of PSI (measured worst 8.2%, uniform/var1.5/1000x1000).
    if (exactPsi < 0.1) worst.psi = Math.max(worst.psi, psiErr);
    else worst.psiRelAbove01 = Math.max(worst.psiRelAbove01, psiErr / exactPsi);
    expect(psiErr).toBeLessThanOrEqual(Math.max(0.005, 0.1 * exactPsi));

    const ks = ksTwoSample(base, cur);
    const ksErr = Math.abs(ks.statistic - c.ks_statistic);
    worst.ks = Math.max(worst.ks, ksErr);
    expect(ksErr).toBeLessThanOrEqual(0.01);
    if (c.ks_p_value > 0.1 || c.ks_p_value < 0.025) {
      decisions.compared++;
      expect(ks.p_value < 0.05).toBe(c.ks_p_value < 0.05);
    } else decisions.skippedNearThreshold++;

    const w1 = wasserstein1(base, cur);
    const w1Rel = Math.abs(w1 - c.wasserstein) / c.wasserstein;
    const w1AbsStd = Math.abs(w1 - c.wasserstein) / c.std_base;
    worst.w1Rel = Math.max(worst.w1Rel, w1Rel);
    worst.w1AbsStd = Math.max(worst.w1AbsStd, w1AbsStd);
    // 2% relative, except between samples of one distribution, where W1 is sampling noise (0.0015
    // std at n = 1e6) of the order of the digest's rank error: there the bound is 0.001 baseline
    // std, 1% of the 0.1 std drift threshold.
    expect(w1Rel <= 0.02 || w1AbsStd <= 0.001, `W1 ${w1} vs scipy ${c.wasserstein}`).toBe(true);
    expect(wassersteinNormalized(base, cur)).toBeCloseTo(w1 / Math.max(base.std ?? 0, WASSERSTEIN_STD_FLOOR), 12);
    expect(Math.abs((base.std ?? 0) - c.std_base)).toBeLessThanOrEqual(1e-9 * c.std_base);

    // scipy's reference uses the exact deciles of the raw baseline, ours the digest's.
    const jsErr = Math.abs(jensenShannonNumeric(base, cur, fixture.bins) - c.js_exact_deciles);
    worst.js = Math.max(worst.js, jsErr);
    expect(jsErr).toBeLessThanOrEqual(0.01);
  });
});

describe('formulas against scipy', () => {
  it('kolmogorovSf follows kstwo.sf: 1e-5 relative where n d^2 < 2.2, 10% in the tail to p = 1e-6', () => {
    for (const { n, d, sf } of fixture.kolmogorov_sf) {
      const rel = Math.abs(kolmogorovSf(d, n) - sf) / sf;
      if (n * d * d < 2.2) {
        // Pelz-Good against scipy's exact DMTW branch: worst at the smallest n (141).
        worst.pBodyRel = Math.max(worst.pBodyRel, rel);
        expect(rel, `n=${n} d=${d}`).toBeLessThanOrEqual(1e-5);
      } else if (sf >= 1e-6) {
        // Maag-Dicaire for twice the Smirnov tail: 10% relative down to p = 1e-6.
        worst.pTailRel = Math.max(worst.pTailRel, rel);
        expect(rel, `n=${n} d=${d}`).toBeLessThanOrEqual(0.1);
      } else {
        // Below 1e-6 only the order matters (no threshold lives there): both sides stay below it.
        expect(kolmogorovSf(d, n), `n=${n} d=${d}`).toBeLessThan(1e-6);
      }
    }
  });

  it('jensenShannonFromShares equals scipy jensenshannon (natural log)', () => {
    for (const { p, q, js } of fixture.jensenshannon) expect(jensenShannonFromShares(p, q)).toBeCloseTo(js, 12);
  });

  it('edge cases: identical sides score zero, empty sides are refused', () => {
    const xs = draw(fixture.cases[0] as Case, 1, 500);
    const a = summarise(xs);
    const b = summarise(xs);
    expect(psiNumeric(a, b).psi).toBe(0);
    expect(ksTwoSample(a, b)).toEqual({ statistic: 0, p_value: 1 });
    expect(wasserstein1(a, b)).toBe(0);
    expect(jensenShannonNumeric(a, b)).toBe(0);
    const empty = numericSide(new NumericSummary());
    expect(() => ksTwoSample(a, empty)).toThrow(/current side holds no values/);
    expect(() => psiNumeric(empty, a)).toThrow(/baseline side holds no values/);
    expect(() => psiNumeric(a, b, 1)).toThrow(/bins must be an integer >= 2/);
  });

  it('a constant baseline: W1 is the gap, normalised by the std floor; PSI keeps one bin', () => {
    const a = summarise(new Float64Array(50).fill(3));
    const b = summarise(new Float64Array(50).fill(5));
    expect(wasserstein1(a, b)).toBeCloseTo(2, 12);
    expect(wassersteinNormalized(a, b)).toBeCloseTo(2 / WASSERSTEIN_STD_FLOOR, 6);
    const { psi, edges } = psiNumeric(a, b);
    expect(edges).toEqual([3]);
    expect(psi).toBeCloseTo((1 - 1e-4) * Math.log(1 / 1e-4) * 2, 9);
    expect(ksTwoSample(a, b).statistic).toBe(1);
  });
});

describe('exact bin counts', () => {
  const xs = draw(fixture.cases[0] as Case, 3, 2_000);
  const edges = baselineEdges(summarise(xs));

  it('use the same bins as binShares: a value on an edge falls in the bin below it', () => {
    const s = new NumericSummary(undefined, [1, 2, 3]);
    for (const x of [0, 1, 1.5, 2, 2, 3, 3.5, -0, Infinity, NaN]) s.add(x);
    expect(s.bins).toEqual({ edges: [1, 2, 3], counts: [3, 3, 1, 1] });
    expect(s.count).toBe(8);
  });

  it('are used only on the edges they were counted on', () => {
    const exact = summarise(xs, edges);
    expect(sideShares(exact, edges)).toEqual(exact.bins?.counts.map((c) => c / xs.length));
    const other = edges.map((e) => e + 1e-9);
    expect(sideShares(exact, other)).toEqual(sideShares(summarise(xs), other));
    expect(sideShares(exact, edges.slice(1))).toEqual(sideShares(summarise(xs), edges.slice(1)));
  });

  it('refuse edges that are not finite and strictly ascending', () => {
    expect(() => new NumericSummary(undefined, [1, 1])).toThrow(/not strictly ascending/);
    expect(() => new NumericSummary(undefined, [2, 1])).toThrow(/not strictly ascending/);
    expect(() => new NumericSummary(undefined, [0, NaN])).toThrow(/not a finite number/);
    expect(() => new NumericSummary(undefined, [Infinity])).toThrow(/not a finite number/);
  });
});
