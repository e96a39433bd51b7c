// Seeded data for the t-digest accuracy tests and benchmark: the same seed gives the same values on
// every machine, so a failing case can be replayed.

/** sfc32 (Chris Doty-Humphrey's small fast chaotic PRNG), uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  // 53 random bits: two draws, so values are not all multiples of 2^-32.
  return () => (next() * 2 ** 21 + (next() >>> 11)) / 2 ** 53;
}

function normal(u: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

export const DISTRIBUTIONS = ['uniform', 'normal', 'exponential', 'lognormal', 'bimodal'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** n values of a distribution; bimodal is 0.7 N(0, 1) + 0.3 N(6, 0.5). */
export function sample(dist: Distribution, n: number, seed: number): Float64Array {
  const u = rng(seed);
  const z = normal(u);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (dist) {
      case 'uniform':
        out[i] = u();
        break;
      case 'normal':
        out[i] = z();
        break;
      case 'exponential':
        out[i] = -Math.log(1 - u());
        break;
      case 'lognormal':
        out[i] = Math.exp(z());
        break;
      case 'bimodal':
        out[i] = u() < 0.7 ? z() : 6 + 0.5 * z();
        break;
    }
  }
  return out;
}

/** Number of sorted values < x (strict) or <= x. */
export function countBelow(sorted: Float64Array, x: number, inclusive: boolean): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    const v = sorted[mid] ?? 0;
    if (v < x || (inclusive && v === x)) a = mid + 1;
    else b = mid;
  }
  return a;
}

/**
 * Rank error of estimate x for quantile q: the distance from q to the interval of ranks that x
 * takes in the data, [count(< x) / n, count(<= x) / n]. Zero when x is a right answer.
 */
export function rankError(sorted: Float64Array, q: number, x: number): number {
  const n = sorted.length;
  const lo = countBelow(sorted, x, false) / n;
  const hi = countBelow(sorted, x, true) / n;
  return Math.max(0, lo - q, q - hi);
}

export const QUANTILES = [0.01, 0.1, 0.5, 0.9, 0.99, 0.999] as const;
