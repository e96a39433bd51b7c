// Tiny seeded PRNG shared by the drift tests and mirrored bit-for-bit in
// scripts/fixtures/*.py, so fixtures check in only parameters and expected
// values and both sides regenerate the same raw samples.

/**
 * mulberry32: 32-bit state, returns uniforms in [0, 1) with 2^-32 resolution.
 * The state after k calls is seed + k * 0x6D2B79F5 (mod 2^32), which is what
 * lets the Python side generate a whole stream vectorised.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal via Box-Muller, cosine branch only: each call consumes
 * exactly two uniforms (u1 then u2) and keeps no cached spare, so the stream
 * position is trivial to mirror in Python. 1 - u1 lies in (0, 1], keeping
 * the log finite.
 */
export function normal(rng: () => number): number {
  const u1 = 1 - rng();
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
