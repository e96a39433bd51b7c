// The t-digest's wire form: float32 means as LEB128 deltas of order-preserving keys (float64 while
// exact), weights as LEB128 integers, and a strict decoder that refuses what this build would not write.

export const MIN_COMPRESSION = 10;
export const MAX_COMPRESSION = 10_000;
const WIRE_VERSION = 1;
/** Upper bound on the CBOR bytes of a TDigestWire besides the contents of m and w. */
export const WIRE_HEADER_BYTES = 70;

/** The encoded size cap: 900 bytes up to the default compression, then growing with it. */
export function maxWireBytes(compression: number): number {
  return Math.max(900, Math.ceil(4.5 * compression));
}

/**
 * One compressed digest as a plain CBOR-friendly object; the decoded count is the sum of weights.
 * `f` 32: means are float32, stored as LEB128 deltas of their order-preserving 32-bit keys (sorted
 * means give small deltas); `f` 64: float64 little-endian, used while the digest is exact.
 */
export interface TDigestWire {
  v: 1;
  /** compression */
  c: number;
  /** number of centroids */
  n: number;
  /** exact min and max; NaN when empty */
  lo: number;
  hi: number;
  f: 32 | 64;
  m: Uint8Array;
  /** weights as LEB128 integers; empty when every weight is 1 */
  w: Uint8Array;
}

/** A digest's compressed state as decoded, or as handed to encodeWire after a flush. */
export interface WireState {
  c: number;
  lo: number;
  hi: number;
  means: Float64Array;
  weights: Float64Array;
}

const f32 = new Float32Array(1);
const f32bits = new Uint32Array(f32.buffer);

/** Order-preserving map of a float32 to [0, 2^32): negatives flipped, positives offset. */
function float32Key(x: number): number {
  f32[0] = x;
  const bits = f32bits[0] ?? 0;
  return bits >= 0x80000000 ? 0xffffffff - bits : bits + 0x80000000;
}

function keyFloat32(key: number): number {
  f32bits[0] = key >= 0x80000000 ? key - 0x80000000 : 0xffffffff - key;
  return f32[0] ?? NaN;
}

export function validCompression(c: unknown): c is number {
  return typeof c === 'number' && c >= MIN_COMPRESSION && c <= MAX_COMPRESSION;
}

/** The first n centroids of state; lo and hi are NaN when the digest is empty. */
export function encodeWire(state: WireState, n: number): TDigestWire {
  const { f, m } = encodeMeans(state.means, n);
  return { v: WIRE_VERSION, c: state.c, n, lo: state.lo, hi: state.hi, f, m, w: encodeWeights(state.weights, n) };
}

/** Bytes of m and w for the first n centroids: what the encoded size depends on beyond the header. */
export function payloadBytes(means: Float64Array, weights: Float64Array, n: number): number {
  return encodeMeans(means, n).m.length + encodeWeights(weights, n).length;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  for (; v >= 128; v = Math.floor(v / 128)) out[at++] = (v % 128) + 128;
  out[at++] = v;
  return at;
}

function encodeMeans(means: Float64Array, n: number): { f: 32 | 64; m: Uint8Array } {
  const out = new Uint8Array(n * 5);
  let at = 0;
  for (let i = 0, prev = 0; i < n; i++) {
    const x = means[i] ?? 0;
    if (Math.fround(x) !== x) {
      const raw = new Uint8Array(n * 8);
      const view = new DataView(raw.buffer);
      for (let k = 0; k < n; k++) view.setFloat64(k * 8, means[k] ?? 0, true);
      return { f: 64, m: raw };
    }
    const key = float32Key(x);
    at = writeVarint(out, at, key - prev);
    prev = key;
  }
  return { f: 32, m: out.slice(0, at) };
}

function encodeWeights(weights: Float64Array, n: number): Uint8Array {
  let allOne = true;
  for (let i = 0; allOne && i < n; i++) allOne = weights[i] === 1;
  if (allOne) return new Uint8Array(0);
  const out = new Uint8Array(n * 8);
  let at = 0;
  for (let i = 0; i < n; i++) at = writeVarint(out, at, weights[i] ?? 1);
  return out.slice(0, at);
}

function fail(message: string): never {
  throw new Error(`TDigest.fromWire: ${message}`);
}

/** Exactly `count` minimal LEB128 integers below 2^53 filling `bytes`. */
function readVarints(bytes: Uint8Array, count: number, field: string): Float64Array {
  const out = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0, scale = 1; ; b++, scale *= 128) {
      if (at >= bytes.length) fail(`field ${field} ends inside entry ${i} of ${count}`);
      if (b === 8) fail(`field ${field}: entry ${i} is longer than 8 bytes`);
      const byte = bytes[at++] ?? 0;
      v += (byte & 127) * scale;
      if (byte < 128) {
        if (byte === 0 && b > 0) fail(`field ${field}: entry ${i} is not minimally encoded`);
        break;
      }
    }
    if (!Number.isSafeInteger(v)) fail(`field ${field}: entry ${i} is beyond 2^53`);
    out[i] = v;
  }
  if (at !== bytes.length) fail(`field ${field} has ${bytes.length - at} bytes after its ${count} entries`);
  return out;
}

/** Throws an Error naming the field on anything this build would not have written. */
export function parseWire(input: unknown): WireState {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('expected an object');
  const { v, c, n, lo, hi, f, m, w } = input as Record<string, unknown>;
  if (v !== WIRE_VERSION) fail(`unsupported version v=${String(v)}; this build reads v=${WIRE_VERSION}`);
  if (!validCompression(c)) fail(`field c (compression) must be in [${MIN_COMPRESSION}, ${MAX_COMPRESSION}], got ${String(c)}`);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(`field n must be an integer >= 0, got ${String(n)}`);
  if (typeof lo !== 'number' || typeof hi !== 'number') fail('fields lo and hi must be numbers');
  if (!(m instanceof Uint8Array) || !(w instanceof Uint8Array)) fail('fields m and w must be byte strings');
  if (f !== 32 && f !== 64) fail(`field f must be 32 or 64, got ${String(f)}`);
  let means: Float64Array;
  if (f === 64) {
    if (m.length !== n * 8) fail(`field m has ${m.length} bytes, expected ${n * 8} for ${n} float64 means`);
    const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
    means = new Float64Array(n).map((_, i) => view.getFloat64(i * 8, true));
  } else {
    means = readVarints(m, n, 'm');
    for (let i = 0, key = 0; i < n; i++) {
      key += means[i] ?? 0;
      if (key > 0xffffffff) fail(`field m: mean ${i} has a key beyond 32 bits`);
      means[i] = keyFloat32(key);
    }
  }
  const weights = w.length === 0 ? new Float64Array(n).fill(1) : readVarints(w, n, 'w');
  if (n === 0) {
    if (!Number.isNaN(lo) || !Number.isNaN(hi)) fail('an empty digest must have lo and hi NaN');
    return { c, lo, hi, means, weights };
  }
  if (!(lo <= hi) || lo - lo !== 0 || hi - hi !== 0) fail(`lo and hi must be finite with lo <= hi, got ${lo}, ${hi}`);
  // Rounding to float32 may carry a mean past min or max by half a float32 step; float64 means
  // can hold rounded ones too, next to a mean beyond the float32 range.
  const floor = lo - Math.abs(lo) * 2 ** -24 - 2 ** -149;
  const ceil = hi + Math.abs(hi) * 2 ** -24 + 2 ** -149;
  for (let i = 0; i < n; i++) {
    const x = (means[i] ?? NaN) + 0;
    means[i] = x;
    if (!(x >= floor && x <= ceil)) {
      fail(`mean ${i} is ${x}, not a number within [lo, hi] = [${lo}, ${hi}]`);
    }
    if (x < (means[i - 1] ?? x)) fail(`means must ascend; mean ${i} (${x}) < mean ${i - 1}`);
    if ((weights[i] ?? 0) < 1) fail(`weight ${i} is ${weights[i]}; weights must be integers >= 1`);
  }
  return { c, lo, hi, means, weights };
}
