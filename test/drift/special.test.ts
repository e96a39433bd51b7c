// Q(a, x), P(a, x) and the chi-squared survival function against scipy.special.gammaincc,
// gammainc and scipy.stats.chi2.sf (fixture from scripts/fixtures/drift_categorical.py): a from
// 0.5 to 500 (and 5,000, 50,000 near the centre), x from 1e-3 to 2000, within 1e-9 relative
// wherever scipy's value is above 1e-300; below that both sides are denormal or 0, and we only ask
// for < 1e-299.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chiSquaredSf, gammaP, gammaQ, lnGamma } from '../../agent/drift/special.js';

const Fixture = z.object({
  gammaincc: z.object({ rows: z.array(z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()])) }),
  gammaln: z.array(z.tuple([z.number(), z.number()])),
});
const fixture = Fixture.parse(
  JSON.parse(readFileSync(new URL('./fixtures/categorical.json', import.meta.url), 'utf8')) as unknown,
);

const REL = 1e-9;
const FLOOR = 1e-300;

function relErr(got: number, want: number): number {
  return want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
}

/** Checks every row, then reports the worst case so a failure names its (a, x). */
function worstOver(value: (a: number, x: number) => number, want: (row: [number, number, number, number, number]) => number) {
  let worst = { err: 0, a: 0, x: 0, got: 0, want: 0 };
  let checked = 0;
  for (const row of fixture.gammaincc.rows) {
    const [a, x] = row;
    const w = want(row);
    const got = value(a, x);
    if (w > FLOOR) {
      checked++;
      const err = relErr(got, w);
      if (!(err <= worst.err)) worst = { err, a, x, got, want: w };
    } else {
      expect(got, `a=${a} x=${x}`).toBeLessThan(FLOOR * 10);
      expect(got, `a=${a} x=${x}`).toBeGreaterThanOrEqual(0);
    }
  }
  return { worst, checked };
}

describe('regularized incomplete gamma', () => {
  it('Q(a, x) matches scipy.special.gammaincc within 1e-9 relative', () => {
    const { worst, checked } = worstOver(gammaQ, (r) => r[2]);
    expect(checked).toBeGreaterThan(800);
    expect(worst.err, JSON.stringify(worst)).toBeLessThan(REL);
  });

  it('chiSquaredSf(2x, 2a) matches scipy.stats.chi2.sf within 1e-9 relative', () => {
    const { worst } = worstOver((a, x) => chiSquaredSf(2 * x, 2 * a), (r) => r[3]);
    expect(worst.err, JSON.stringify(worst)).toBeLessThan(REL);
  });

  it('P(a, x) matches scipy.special.gammainc within 1e-9 relative, small values included', () => {
    const { worst, checked } = worstOver(gammaP, (r) => r[4]);
    expect(checked).toBeGreaterThan(900);
    expect(worst.err, JSON.stringify(worst)).toBeLessThan(REL);
  });

  it('P + Q = 1', () => {
    for (const [a, x] of fixture.gammaincc.rows) {
      expect(Math.abs(gammaP(a, x) + gammaQ(a, x) - 1), `a=${a} x=${x}`).toBeLessThan(1e-15);
    }
  });

  it('lnGamma matches scipy.special.gammaln', () => {
    for (const [z0, want] of fixture.gammaln) {
      expect(Math.abs(lnGamma(z0) - want), `z=${z0}`).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(want)));
    }
  });

  it('closed forms: Q(1, x) = e^-x and chi2(2) sf = e^(-x/2)', () => {
    for (const x of [1e-3, 0.5, 1, 2, 10, 100, 700]) {
      expect(relErr(gammaQ(1, x), Math.exp(-x))).toBeLessThan(1e-13);
      expect(relErr(chiSquaredSf(x, 2), Math.exp(-x / 2))).toBeLessThan(1e-13);
    }
  });

  it('edges: x = 0, infinity, far tails, bad arguments', () => {
    expect(gammaQ(3, 0)).toBe(1);
    expect(gammaQ(3, Number.POSITIVE_INFINITY)).toBe(0);
    expect(gammaQ(0.5, 1e6)).toBe(0);
    expect(gammaQ(1e4, 1e-3)).toBe(1);
    expect(chiSquaredSf(0, 4)).toBe(1);
    expect(chiSquaredSf(-1, 4)).toBe(1);
    expect(chiSquaredSf(1e7, 49)).toBe(0);
    expect(gammaQ(0, 1)).toBeNaN();
    expect(gammaQ(-1, 1)).toBeNaN();
    expect(gammaQ(1, -1)).toBeNaN();
    expect(gammaQ(Number.NaN, 1)).toBeNaN();
    expect(chiSquaredSf(3, 0)).toBeNaN();
    expect(chiSquaredSf(Number.NaN, 3)).toBeNaN();
    expect(lnGamma(0)).toBeNaN();
  });
});
