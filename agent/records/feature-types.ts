// Which features a model has and of what type, and how a raw value is read against that type.

import type { FeatureType } from '../config/types.js';
import type { FeatureValue } from './types.js';

function isFeatureType(v: unknown): v is FeatureType {
  return v === 'numeric' || v === 'categorical';
}

/**
 * The declared and inferred feature types of one model. Shared by every parser of that model (one
 * per log file) and persisted by the store. Declared types always win; with inference off, only
 * declared features exist, so types learned earlier are forgotten rather than silently kept.
 */
export class FeatureTypes {
  readonly infer: boolean;
  private readonly known = new Map<string, FeatureType>();
  private dirty = false;
  /**
   * The type of the i-th key of the last features object read, by position: records of one log
   * mostly list the same keys in the same order, and comparing interned keys is cheaper than a Map
   * lookup. Only a hint: a key that differs is looked up and replaces the slot.
   */
  private readonly slotNames: string[] = [];
  private readonly slotTypes: (FeatureType | undefined)[] = [];

  constructor(declared: Record<string, FeatureType>, infer: boolean, known?: Record<string, FeatureType>) {
    this.infer = infer;
    for (const name of Object.keys(declared)) {
      const type = declared[name];
      if (isFeatureType(type)) this.known.set(name, type);
    }
    let savedCount = 0;
    if (known !== undefined) {
      for (const name of Object.keys(known)) {
        const type = known[name];
        // A stored table is input like any other: a value that is not a type is dropped.
        if (!isFeatureType(type)) continue;
        const current = this.known.get(name);
        if (current === undefined && infer) this.known.set(name, type);
        if (this.known.get(name) === type) savedCount++;
      }
    }
    // The store must rewrite what it saved when the config changed a type or added a declaration.
    this.dirty = savedCount !== this.known.size || (known !== undefined && savedCount !== Object.keys(known).length);
  }

  get(name: string): FeatureType | undefined {
    return this.known.get(name);
  }

  /** get(name) for the key at position i of a features object, cached by position. */
  getAt(i: number, name: string): FeatureType | undefined {
    if (this.slotNames[i] === name) return this.slotTypes[i];
    const type = this.known.get(name);
    if (i <= this.slotNames.length) {
      this.slotNames[i] = name;
      this.slotTypes[i] = type;
    }
    return type;
  }

  /** Everything known, declared and inferred; the store saves this at commit. */
  snapshot(): Record<string, FeatureType> {
    return Object.fromEntries(this.known);
  }

  /** True when the snapshot differs from what was last saved (something was inferred). */
  get changed(): boolean {
    return this.dirty;
  }

  markSaved(): void {
    this.dirty = false;
  }

  /** Records an inferred type; a name already known keeps its type. Called for accepted records only. */
  learn(name: string, type: FeatureType): void {
    if (!this.infer || this.known.has(name)) return;
    this.known.set(name, type);
    this.dirty = true;
    this.slotNames.length = 0;
    this.slotTypes.length = 0;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** NaN / Infinity / inf in any case, with an optional sign and surrounding spaces; else undefined. */
function nonFiniteWord(s: string): number | undefined {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  const sign = s.charCodeAt(start);
  const negative = sign === 45;
  if (negative || sign === 43) start++;
  const first = s.charCodeAt(start) | 32;
  if (first !== 110 && first !== 105) return undefined;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  if (end - start > 8) return undefined;
  const word = s.slice(start, end).toLowerCase();
  if (word === 'nan') return NaN;
  if (word === 'inf' || word === 'infinity') return negative ? -Infinity : Infinity;
  return undefined;
}

/** Exact powers of ten for the fast path: 10^k for k <= 22 is a double without rounding. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);
/** Up to 15 decimal digits the integer part of the mantissa stays below 2^53, so it is exact. */
const FAST_DIGITS = 15;

/**
 * Reads a numeric string: decimal with optional sign, fraction and exponent, surrounding spaces
 * allowed, or NaN / Infinity / inf in any case (what Python and numpy write). Returns undefined for
 * anything else.
 */
export function parseNumber(s: string): number | undefined {
  // Fast path for plain decimals such as "-12.345": an exact mantissa divided by an exact power of
  // ten is correctly rounded, so it equals Number(s) without the runtime call.
  let i = 0;
  let c = s.charCodeAt(0);
  const negative = c === 45;
  if (negative) c = s.charCodeAt(++i);
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  while (c >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    digits++;
    c = s.charCodeAt(++i);
  }
  if (c === 46) {
    c = s.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      fraction++;
      c = s.charCodeAt(++i);
    }
  }
  if (i === s.length && digits > 0 && digits <= FAST_DIGITS) {
    const v = mantissa / POW10[fraction]!;
    return negative ? -v : v;
  }
  const n = +s;
  if (n !== n) return nonFiniteWord(s);
  // Number() also reads "", blanks and 0x / 0b / 0o literals as numbers; none is a decimal number.
  i = 0;
  while (isSpace(s.charCodeAt(i))) i++;
  if (i === s.length) return undefined;
  if (s.charCodeAt(i) === 48) {
    const radix = s.charCodeAt(i + 1) | 32;
    if (radix === 120 || radix === 98 || radix === 111) return undefined;
  }
  return n;
}

/** Why one feature value was refused. */
export class FeatureProblem {
  constructor(
    readonly name: string,
    readonly expected: string,
    readonly got: unknown,
  ) {}
}

/** Types inferred while reading one record, committed only if the whole record is accepted. */
export class PendingTypes {
  readonly names: string[] = [];
  readonly types: FeatureType[] = [];

  add(name: string, type: FeatureType): void {
    this.names.push(name);
    this.types.push(type);
  }

  clear(): void {
    // Nearly always empty already; setting length on an empty array is not free.
    if (this.names.length === 0) return;
    this.names.length = 0;
    this.types.length = 0;
  }

  commit(into: FeatureTypes): void {
    for (let i = 0; i < this.names.length; i++) into.learn(this.names[i]!, this.types[i]!);
    this.clear();
  }
}

function keeps(name: string, raw: unknown, types: FeatureTypes): boolean {
  if (name === '__proto__') return false;
  return types.get(name) !== undefined || (types.infer && raw !== null && raw !== undefined);
}

/**
 * Reads a features object against the known types. The object must be the caller's own (fresh from
 * JSON.parse or a CSV row): values are converted in place and the same object is returned, unless a
 * feature has to be left out, which costs a copy. Left out: undeclared features when inference is
 * off, and a feature whose type is not yet known and whose value is null, so every key of the result
 * has a type once the record is accepted.
 */
export function readFeatures(
  src: Record<string, unknown>,
  types: FeatureTypes,
  pending: PendingTypes,
): Record<string, FeatureValue> | FeatureProblem {
  let dropped = false;
  let i = -1;
  for (const name in src) {
    i++;
    // A plain object cannot hold this key safely: whoever copies the features would set a prototype.
    if (name === '__proto__') {
      dropped = true;
      continue;
    }
    const raw = src[name];
    let type = types.getAt(i, name);
    if (type === undefined) {
      if (!types.infer || raw === null || raw === undefined) {
        dropped = true;
        continue;
      }
      if (typeof raw === 'number') type = 'numeric';
      else if (typeof raw === 'string' || typeof raw === 'boolean') type = 'categorical';
      else return new FeatureProblem(name, 'a number, string or boolean', raw);
      pending.add(name, type);
    }
    if (raw === null) continue;
    if (type === 'numeric') {
      if (typeof raw === 'number') continue;
      const n = typeof raw === 'string' ? parseNumber(raw) : undefined;
      if (n === undefined) return new FeatureProblem(name, 'a number', raw);
      src[name] = n;
    } else if (typeof raw !== 'string') {
      if (typeof raw === 'number') src[name] = String(raw);
      else if (typeof raw === 'boolean') src[name] = raw ? 'true' : 'false';
      else return new FeatureProblem(name, 'a string, number or boolean', raw);
    }
  }
  if (!dropped) return src as Record<string, FeatureValue>;
  const out: Record<string, FeatureValue> = {};
  for (const name in src) {
    const value = src[name];
    if (keeps(name, value, types)) out[name] = value as FeatureValue;
  }
  return out;
}
