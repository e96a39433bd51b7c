// Scores over two share vectors (bins of a numeric feature, or categories): the part of PSI and
// Jensen-Shannon that numeric and categorical drift share.

/**
 * An empty bin's share is raised to this before PSI takes logs (1e-4 share, the usual PSI
 * convention; Evidently uses the same figure). Shares are not renormalised afterwards, so a bin
 * that is empty on both sides contributes exactly 0.
 */
export const PSI_SHARE_FLOOR = 1e-4;

export function psiFromShares(base: readonly number[], cur: readonly number[]): number {
  let psi = 0;
  for (let i = 0; i < base.length; i++) {
    const b = Math.max(base[i] ?? 0, PSI_SHARE_FLOOR);
    const c = Math.max(cur[i] ?? 0, PSI_SHARE_FLOOR);
    psi += (c - b) * Math.log(c / b);
  }
  return psi;
}

/** Normalises both vectors first, as scipy does. */
export function jensenShannonFromShares(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = (p[i] ?? 0) / sp;
    const b = (q[i] ?? 0) / sq;
    const m = (a + b) / 2;
    if (a > 0) js += a * Math.log(a / m);
    if (b > 0) js += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, js / 2));
}
