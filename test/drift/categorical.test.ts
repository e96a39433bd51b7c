// Categorical drift scores against scipy on the same counts. Sampled cases are rebuilt from the
// seeds and integer weights in fixtures/categorical.json (scripts/fixtures/drift_categorical.py made
// it) and go through CategoricalSummary as the agent would, capped where the case says; explicit
// tables cover Yates' correction and p-values from 0.5 down to 0.
//
// Bounds: chi-squared statistic and p-value within 1e-6 relative of scipy.stats.chi2_contingency
// (p-values above 1e-300; below, both sides are denormal or 0 and we ask for < 1e-299), dof exact;
// Jensen-Shannon within 1e-9 of scipy.spatial.distance.jensenshannon; PSI within 1e-12 of numpy
// computing the same floored formula.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  categoricalSide,
  categoricalTable,
  chiSquared,
  jensenShannonCategorical,
  newCategories,
  psiCategorical,
  PSI_SHARE_FLOOR,
  type CategoricalSide,
} from '../../agent/drift/index.js';
import { CategoricalSummary } from '../../agent/profile/categorical.js';
import { mulberry32 } from './prng.js';

const Scores = {
  statistic: z.number(),
  dof: z.number().int(),
  p_value: z.number(),
  psi: z.number(),
  js: z.number(),
};
const SideParams = z.object({
  seed: z.number().int(),
  n: z.number().int().positive(),
  weights: z.array(z.number().int().nonnegative()),
  cap: z.number().int().positive().nullable(),
});
const Sampled = z.object({
  name: z.string(),
  k: z.number().int(),
  base: SideParams,
  cur: SideParams,
  table: z.object({
    categories: z.array(z.string()),
    base: z.array(z.number().int()),
    cur: z.array(z.number().int()),
    other_base: z.number().int(),
    other_cur: z.number().int(),
  }),
  new: z.array(z.string()),
  ...Scores,
});
const Table = z.object({ base: z.array(z.number().int()), cur: z.array(z.number().int()), ...Scores });
const Fixture = z.object({
  psi_share_floor: z.number(),
  sampled: z.array(Sampled),
  tables: z.array(Table),
});
const Expected = z.object(Scores);
type Expected = z.infer<typeof Expected>;

const fixture = Fixture.parse(
  JSON.parse(readFileSync(new URL('./fixtures/categorical.json', import.meta.url), 'utf8')) as unknown,
);

const P_FLOOR = 1e-300;

function name(j: number): string {
  return `c${j}`;
}

/** Draws as the Python script does: floor(u * W) is exact, then the first cumulative weight above it. */
function* draws(p: z.infer<typeof SideParams>): Generator<number> {
  const cum: number[] = [];
  let w = 0;
  for (const x of p.weights) cum.push((w += x));
  const rng = mulberry32(p.seed);
  for (let i = 0; i < p.n; i++) {
    const v = Math.floor(rng() * w);
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v < (cum[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    yield lo;
  }
}

/**
 * Uncapped sides go through fromWire with a counter for every category (zeros included, which the
 * table must drop), as a merged summary would have them; capped ones are fed value by value so the
 * cap sees the arrival order.
 */
function side(p: z.infer<typeof SideParams>, k: number): CategoricalSide {
  if (p.cap === null) {
    const c = new Array<number>(k).fill(0);
    for (const j of draws(p)) c[j] = (c[j] as number) + 1;
    const keys = c.map((_, j) => name(j));
    return categoricalSide(CategoricalSummary.fromWire({ n: p.n, ms: 0, k: keys, c, o: 0 }, k, 'fixture'));
  }
  const s = new CategoricalSummary(p.cap);
  for (const j of draws(p)) s.add(name(j));
  return categoricalSide(s);
}

function fromCounts(counts: readonly number[], other = 0): CategoricalSide {
  const m = new Map(counts.map((n, j) => [name(j), n] as const));
  return { counts: m, other, total: counts.reduce((a, b) => a + b, 0) + other };
}

function relErr(got: number, want: number): number {
  return want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
}

/** Worst error seen per score, so the assertion message names the case that set it. */
class Worst {
  private worst = new Map<string, { err: number; where: string }>();
  note(score: string, err: number, where: string): void {
    const w = this.worst.get(score);
    if (w === undefined || !(err <= w.err)) this.worst.set(score, { err, where });
  }
  check(score: string, bound: number): void {
    const w = this.worst.get(score);
    expect(w, score).toBeDefined();
    expect(w?.err, `${score} worst at ${w?.where}`).toBeLessThanOrEqual(bound);
  }
}

function compare(worst: Worst, where: string, base: CategoricalSide, cur: CategoricalSide, want: Expected): void {
  const chi = chiSquared(base, cur);
  expect(chi.dof, where).toBe(want.dof);
  worst.note('statistic', want.statistic < 1e-12 ? Math.abs(chi.statistic - want.statistic) : relErr(chi.statistic, want.statistic), where);
  if (want.p_value > P_FLOOR) worst.note('p_value', relErr(chi.p_value, want.p_value), where);
  else expect(chi.p_value, where).toBeLessThan(P_FLOOR * 10);
  worst.note('js', Math.abs(jensenShannonCategorical(base, cur) - want.js), where);
  worst.note('psi', Math.abs(psiCategorical(base, cur) - want.psi) / Math.max(1, Math.abs(want.psi)), where);
}

describe('categorical drift against scipy', () => {
  it('uses the same PSI floor as the fixture script', () => {
    expect(fixture.psi_share_floor).toBe(PSI_SHARE_FLOOR);
  });

  it(`sampled cases (${fixture.sampled.length}: 2..50 categories, 100..1e6 per side, capped or not)`, () => {
    const worst = new Worst();
    for (const c of fixture.sampled) {
      const base = side(c.base, c.k);
      const cur = side(c.cur, c.k);
      // The same table as Python built proves the samples and the cap handling agree.
      const t = categoricalTable(base, cur);
      expect({ categories: t.categories, base: t.base, cur: t.cur, other_base: t.otherBase, other_cur: t.otherCur }, c.name).toEqual(c.table);
      expect(newCategories(base, cur), c.name).toEqual(c.new);
      compare(worst, c.name, base, cur, c);
    }
    worst.check('statistic', 1e-6);
    worst.check('p_value', 1e-6);
    worst.check('js', 1e-9);
    worst.check('psi', 1e-12);
  });

  it(`explicit tables (${fixture.tables.length}: Yates, dof 0, p-values down to 0)`, () => {
    const worst = new Worst();
    for (const t of fixture.tables) {
      compare(worst, JSON.stringify([t.base, t.cur]), fromCounts(t.base), fromCounts(t.cur), t);
    }
    worst.check('statistic', 1e-6);
    worst.check('p_value', 1e-6);
    worst.check('js', 1e-9);
    worst.check('psi', 1e-12);
  });
});

describe('categorical table', () => {
  it('keeps a value hidden in the other side’s overflow out of its own column', () => {
    // Baseline counted a, b and overflowed; current counted a, c and did not.
    const base: CategoricalSide = { counts: new Map([['a', 50], ['b', 30]]), other: 20, total: 100 };
    const cur: CategoricalSide = { counts: new Map([['a', 40], ['c', 60]]), other: 0, total: 100 };
    // b: known on both (current has no overflow, so 0 there). c: may hide in the baseline's other.
    const t = categoricalTable(base, cur);
    expect(t).toEqual({ categories: ['a', 'b'], base: [50, 30], cur: [40, 0], otherBase: 20, otherCur: 60 });
    expect(newCategories(base, cur)).toEqual([]);
    expect(newCategories(cur, base)).toEqual(['b']);
  });

  it('drops categories that are zero on both sides and keeps names that look like "other"', () => {
    const base: CategoricalSide = { counts: new Map([['other', 5], ['__proto__', 5], ['z', 0]]), other: 0, total: 10 };
    const cur: CategoricalSide = { counts: new Map([['other', 2], ['__proto__', 8], ['z', 0]]), other: 0, total: 10 };
    expect(categoricalTable(base, cur)).toEqual({
      categories: ['__proto__', 'other'],
      base: [5, 5],
      cur: [8, 2],
      otherBase: 0,
      otherCur: 0,
    });
  });

  it('categoricalSide copies the counters, excludes missing values and keeps the overflow', () => {
    const s = new CategoricalSummary(2);
    for (const v of ['a', 'b', 'a', 'c', 'd']) s.add(v);
    s.addMissing(3);
    const side = categoricalSide(s);
    s.add('a');
    expect(side).toEqual({ counts: new Map([['a', 2], ['b', 1]]), other: 2, total: 5 });
  });

  it('refuses a side whose counts do not add up to its total', () => {
    const ok = fromCounts([3, 4]);
    const bad: CategoricalSide = { counts: new Map([['a', 3]]), other: 1, total: 5 };
    expect(() => chiSquared(ok, bad)).toThrow(/current counts add up to 4 but the total is 5/);
    expect(() => psiCategorical({ counts: new Map([['a', -1]]), other: 0, total: -1 }, ok)).toThrow(RangeError);
    expect(() => jensenShannonCategorical({ counts: new Map([['a', 1.5]]), other: 0, total: 1.5 }, ok)).toThrow(RangeError);
  });
});

describe('categorical scores by hand', () => {
  it('PSI floors a missing share at 1e-4 on either side', () => {
    const base = fromCounts([60, 40, 0]);
    const cur = fromCounts([50, 30, 20]);
    const want = (0.5 - 0.6) * Math.log(0.5 / 0.6) + (0.3 - 0.4) * Math.log(0.3 / 0.4) + (0.2 - 1e-4) * Math.log(0.2 / 1e-4);
    expect(psiCategorical(base, cur)).toBeCloseTo(want, 14);
    expect(psiCategorical(cur, base)).toBeCloseTo(want, 14);
  });

  it('identical shares score 0 with p-value 1 for any totals', () => {
    const base = fromCounts([10, 20, 30]);
    const cur = fromCounts([100, 200, 300]);
    expect(psiCategorical(base, cur)).toBe(0);
    expect(jensenShannonCategorical(base, cur)).toBe(0);
    expect(chiSquared(base, cur)).toEqual({ statistic: 0, dof: 2, p_value: 1 });
  });

  it('the scores are symmetric in the two sides', () => {
    const a = fromCounts([120, 30, 7, 0, 1]);
    const b = fromCounts([100, 45, 0, 3, 9]);
    const [ab, ba] = [chiSquared(a, b), chiSquared(b, a)];
    expect(ab.dof).toBe(ba.dof);
    expect(relErr(ab.statistic, ba.statistic)).toBeLessThan(1e-15);
    expect(relErr(ab.p_value, ba.p_value)).toBeLessThan(1e-14);
    expect(jensenShannonCategorical(a, b)).toBeCloseTo(jensenShannonCategorical(b, a), 15);
    expect(psiCategorical(a, b)).toBeCloseTo(psiCategorical(b, a), 15);
  });

  it('disjoint supports give the largest Jensen-Shannon distance, sqrt(ln 2)', () => {
    const base: CategoricalSide = { counts: new Map([['a', 7]]), other: 0, total: 7 };
    const cur: CategoricalSide = { counts: new Map([['b', 3]]), other: 0, total: 3 };
    expect(jensenShannonCategorical(base, cur)).toBeCloseTo(Math.sqrt(Math.LN2), 15);
    expect(newCategories(base, cur)).toEqual(['b']);
  });

  it('an empty side gives NaN: there is nothing to compare', () => {
    const empty: CategoricalSide = { counts: new Map(), other: 0, total: 0 };
    const some = fromCounts([1, 2]);
    expect(psiCategorical(empty, some)).toBeNaN();
    expect(jensenShannonCategorical(some, empty)).toBeNaN();
    expect(chiSquared(empty, some)).toEqual({ statistic: Number.NaN, dof: 0, p_value: Number.NaN });
  });

  it('lists new categories most frequent first, then by name', () => {
    const base = fromCounts([5, 5]);
    const cur: CategoricalSide = { counts: new Map([['c0', 1], ['y', 2], ['x', 2], ['w', 9], ['v', 0]]), other: 4, total: 18 };
    expect(newCategories(base, cur)).toEqual(['w', 'x', 'y']);
  });
});
