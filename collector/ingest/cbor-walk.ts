// A CBOR walker for the structural profile check: it reads the top-level map of a profile, decodes
// only the few small values asked for, and steps over everything else without building a single
// JS object. Checking a 20-feature profile this way costs a fraction of decoding it (the decode
// allocates every centroid array and map only to throw them away). It also proves the bytes are
// exactly one well-formed CBOR item.

export class CborWalkError extends Error {}

/** Nesting deeper than this is refused: a profile is a few levels deep, an attacker's item may not be. */
const MAX_DEPTH = 64;

interface Head {
  major: number;
  /** The argument: an integer, a length, or -1 for an indefinite length. */
  arg: number;
  /** Where the item's content starts. */
  at: number;
}

function head(b: Uint8Array, pos: number): Head {
  if (pos >= b.length) throw new CborWalkError(`truncated at byte ${pos}`);
  const first = b[pos]!;
  const major = first >> 5;
  const info = first & 0x1f;
  if (info < 24) return { major, arg: info, at: pos + 1 };
  const need = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (need === 0) {
    if (info === 31 && (major === 2 || major === 3 || major === 4 || major === 5 || major === 7)) return { major, arg: -1, at: pos + 1 };
    throw new CborWalkError(`reserved additional information ${info} at byte ${pos}`);
  }
  if (pos + 1 + need > b.length) throw new CborWalkError(`truncated at byte ${pos}`);
  let arg = 0;
  for (let i = 1; i <= need; i++) arg = arg * 256 + b[pos + i]!;
  // Floats (major 7) carry bits, not a number: their length alone matters here.
  return { major, arg, at: pos + 1 + need };
}

/**
 * The position after the item at `pos`. It reads heads in place and allocates nothing: a profile
 * is thousands of items, mostly float64 centroids, which the container loop steps over directly.
 */
export function skipItem(b: Uint8Array, pos: number, depth = 0): number {
  if (depth > MAX_DEPTH) throw new CborWalkError('nested too deeply');
  const len = b.length;
  if (pos >= len) throw new CborWalkError(`truncated at byte ${pos}`);
  const first = b[pos]!;
  const major = first >> 5;
  const info = first & 0x1f;
  let arg: number;
  let at: number;
  if (info < 24) {
    arg = info;
    at = pos + 1;
  } else if (info <= 27) {
    const need = 1 << (info - 24);
    at = pos + 1 + need;
    if (at > len) throw new CborWalkError(`truncated at byte ${pos}`);
    arg = 0;
    for (let i = pos + 1; i < at; i++) arg = arg * 256 + b[i]!;
  } else if (info === 31 && major !== 0 && major !== 1 && major !== 6) {
    arg = -1;
    at = pos + 1;
  } else {
    throw new CborWalkError(`reserved additional information ${info} at byte ${pos}`);
  }
  switch (major) {
    case 0:
    case 1:
      return at;
    case 2:
    case 3:
      if (arg === -1) return skipChunks(b, at, major);
      if (at + arg > len) throw new CborWalkError(`string at byte ${pos} runs past the end`);
      return at + arg;
    case 4:
    case 5: {
      const per = major === 5 ? 2 : 1;
      if (arg === -1) {
        for (;;) {
          if (at >= len) throw new CborWalkError('indefinite container not closed');
          if (b[at] === 0xff) return at + 1;
          for (let k = 0; k < per; k++) at = skipItem(b, at, depth + 1);
        }
      }
      // Each item takes at least one byte: a count beyond what is left is a lie, refused before looping.
      if (arg * per > len - at) throw new CborWalkError(`container at byte ${pos} claims more items than bytes left`);
      for (let i = arg * per; i > 0; i--) {
        const c = b[at]!;
        if (c === 0xfb) {
          // float64: the head and 8 bytes
          if (at + 9 > len) throw new CborWalkError(`truncated at byte ${at}`);
          at += 9;
        } else if (c < 0x18 || (c >= 0x20 && c < 0x38)) {
          at += 1; // a small integer
        } else {
          at = skipItem(b, at, depth + 1);
        }
      }
      return at;
    }
    case 6:
      return skipItem(b, at, depth + 1);
    default:
      // major 7: simple values and floats; the head already covered their bytes. A lone break is not an item.
      if (arg === -1) throw new CborWalkError(`unexpected break at byte ${pos}`);
      return at;
  }
}

function skipChunks(b: Uint8Array, pos: number, major: number): number {
  let at = pos;
  for (;;) {
    if (at >= b.length) throw new CborWalkError('indefinite string not closed');
    if (b[at] === 0xff) return at + 1;
    const h = head(b, at);
    if (h.major !== major || h.arg === -1) throw new CborWalkError(`bad chunk in an indefinite string at byte ${at}`);
    if (h.at + h.arg > b.length) throw new CborWalkError(`chunk at byte ${at} runs past the end`);
    at = h.at + h.arg;
  }
}

/**
 * A small scalar read from the map: a text, a number (an integer, or a float, which is how cbor-x
 * writes integers past 2^32), or what kind of item it is.
 */
export type Peeked = { kind: 'text'; value: string } | { kind: 'int'; value: number } | { kind: 'array' } | { kind: 'map' } | { kind: 'other' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function peek(b: Uint8Array, pos: number): Peeked {
  const h = head(b, pos);
  if (h.major === 0) return { kind: 'int', value: h.arg };
  if (h.major === 1) return { kind: 'int', value: -1 - h.arg };
  if (h.major === 3 && h.arg >= 0 && h.arg <= 4096) {
    if (h.at + h.arg > b.length) throw new CborWalkError(`string at byte ${pos} runs past the end`);
    try {
      return { kind: 'text', value: utf8.decode(b.subarray(h.at, h.at + h.arg)) };
    } catch {
      throw new CborWalkError(`text at byte ${pos} is not UTF-8`);
    }
  }
  if (h.major === 7) {
    // Integers past 2^32 (epoch ms) are written as floats by cbor-x: read them as numbers.
    const dv = new DataView(b.buffer, b.byteOffset + pos + 1);
    const info = b[pos]! & 0x1f;
    if (info === 27) return { kind: 'int', value: dv.getFloat64(0) };
    if (info === 26) return { kind: 'int', value: dv.getFloat32(0) };
  }
  if (h.major === 4) return { kind: 'array' };
  if (h.major === 5) return { kind: 'map' };
  return { kind: 'other' };
}

/**
 * The top-level map's entries, each key with what its value is (scalars decoded, containers
 * named), after checking that the bytes are exactly one well-formed item. Keys must be texts.
 */
export function topLevelMap(b: Uint8Array): Map<string, Peeked> {
  const h = head(b, 0);
  if (h.major !== 5) throw new CborWalkError('expected a CBOR map at the top level');
  const out = new Map<string, Peeked>();
  let at = h.at;
  const entry = (): void => {
    const k = peek(b, at);
    if (k.kind !== 'text') throw new CborWalkError(`a key at byte ${at} is not a text`);
    at = skipItem(b, at, 1);
    out.set(k.value, peek(b, at));
    at = skipItem(b, at, 1);
  };
  if (h.arg === -1) {
    while (at < b.length && b[at] !== 0xff) entry();
    if (at >= b.length) throw new CborWalkError('indefinite map not closed');
    at++;
  } else {
    if (h.arg * 2 > b.length - at) throw new CborWalkError('map claims more entries than bytes left');
    for (let i = 0; i < h.arg; i++) entry();
  }
  if (at !== b.length) throw new CborWalkError(`${b.length - at} bytes after the map`);
  return out;
}
