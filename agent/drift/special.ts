// Special functions behind the drift p-values: log-gamma, the regularized incomplete gamma
// functions and the chi-squared survival function. Our own implementation so the agent needs no
// numeric dependency. Against scipy, a in [0.5, 500] and x in [1e-3, 2000], the worst relative
// error measured is 3e-13 (5e-12 at a = 5,000 far in the tail); test/drift/special.test.ts holds
// it to 1e-9 down to 1e-300. Results below ~2.2e-308 come out as denormals with fewer digits, then
// 0; scipy's chi2.sf gives 0 a little earlier (about 1e-311), so the two differ only down there.

const LN_SQRT_2PI = 0.9189385332046728; // ln(sqrt(2 pi))
const TWO_PI = 2 * Math.PI;
const EPS = 1e-16;
const TINY = 1e-300; // keeps the Lentz recurrence away from division by zero
// Near x = a both expansions need O(sqrt(a)) terms; this bound covers a up to ~1e8 (a
// categorical cap of 100,000 gives a = 50,000 at most).
const MAX_TERMS = 200_000;

// Stirling series coefficients B_2n / (2n (2n - 1)) for n = 1..8. For z >= 10 the first omitted
// term is below 1e-18 relative, so the series is exact to double precision.
const STIRLING = [
  1 / 12,
  -1 / 360,
  1 / 1260,
  -1 / 1680,
  1 / 1188,
  -691 / 360360,
  1 / 156,
  -3617 / 122400,
];

/** ln Gamma*(z) for z >= 10, where Gamma(z) = sqrt(2 pi) z^(z - 1/2) e^(-z) Gamma*(z). */
function lnGammaStarLarge(z: number): number {
  const r = 1 / (z * z);
  let sum = 0;
  // Horner from the smallest term for the least rounding.
  for (let i = STIRLING.length - 1; i >= 0; i--) sum = sum * r + (STIRLING[i] as number);
  return sum / z;
}

/** Stirling's main part (z - 1/2) ln z - z + ln sqrt(2 pi). */
function stirlingMain(z: number): number {
  return (z - 0.5) * Math.log(z) - z + LN_SQRT_2PI;
}

/**
 * ln Gamma*(z): the correction to Stirling's formula, small and smooth, which keeps the
 * incomplete-gamma prefactor free of the cancellation between huge ln Gamma and a ln x terms.
 */
function lnGammaStar(z: number): number {
  if (z >= 10) return lnGammaStarLarge(z);
  // Gamma(z) = Gamma(z + n) / (z (z + 1) ... (z + n - 1)), moved up to where the series holds.
  let prod = 1;
  let w = z;
  while (w < 10) {
    prod *= w;
    w += 1;
  }
  return stirlingMain(w) + lnGammaStarLarge(w) - Math.log(prod) - stirlingMain(z);
}

/** ln Gamma(z) for z > 0. */
export function lnGamma(z: number): number {
  if (!(z > 0)) return Number.NaN;
  return stirlingMain(z) + lnGammaStar(z);
}

/**
 * ln(x^a e^-x / Gamma(a)), the factor shared by the series and the continued fraction. Written as
 * a (ln(1 + t) - t) with t = (x - a) / a so that near x = a, where the value matters most, the
 * a ln x and x terms (each up to thousands) do not cancel.
 */
function lnPrefactor(a: number, x: number): number {
  const d = x - a;
  const core = Math.abs(d) < 0.5 * a ? a * (Math.log1p(d / a) - d / a) : a * Math.log(x / a) - d;
  return core + 0.5 * Math.log(a / TWO_PI) - lnGammaStar(a);
}

/** P(a, x) by its power series; converges for all x, fast for x < a + 1. */
function seriesP(a: number, x: number, lnPre: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_TERMS; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * EPS) break;
  }
  return sum * Math.exp(lnPre);
}

/** Q(a, x) by its continued fraction (modified Lentz); converges fast for x > a + 1. */
function continuedFractionQ(a: number, x: number, lnPre: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_TERMS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(lnPre) * h;
}

// Below this the prefactor underflows even as a denormal, so the function is 0 (or 1) exactly.
const LN_SMALLEST = Math.log(Number.MIN_VALUE) - 5;

/**
 * Regularized lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a) (scipy's gammainc), for
 * a > 0, x >= 0; NaN outside. The mirror of gammaQ: P is summed directly where it is small.
 */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  const lnPre = lnPrefactor(a, x);
  if (x < a + 1) return lnPre < LN_SMALLEST ? 0 : seriesP(a, x, lnPre);
  return lnPre < LN_SMALLEST ? 1 : 1 - continuedFractionQ(a, x, lnPre);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a) (scipy's gammaincc), for
 * a > 0, x >= 0; NaN outside. Q is computed directly where it is small (x >= a + 1), so tiny
 * p-values keep their relative accuracy; where x < a + 1, Q >= 0.08 and 1 - P loses nothing.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const lnPre = lnPrefactor(a, x);
  if (x < a + 1) {
    if (lnPre < LN_SMALLEST) return 1;
    return 1 - seriesP(a, x, lnPre);
  }
  if (lnPre < LN_SMALLEST) return 0;
  return continuedFractionQ(a, x, lnPre);
}

/**
 * Survival function of the chi-squared distribution, P(X >= x) for X ~ chi2(dof) (scipy's
 * chi2.sf). dof must be positive (not necessarily an integer); x <= 0 gives 1.
 */
export function chiSquaredSf(x: number, dof: number): number {
  if (!(dof > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}
