// Summary of one categorical stream: a counter per value for the first `cap` distinct values, the
// rest folded into `other`. Totals are always exact; only which values get their own counter
// depends on arrival order (and, after a merge over the cap, on the counts).

import type { CategoricalWire } from './codec.js';
import type { CategoricalJson } from './index.js';

/** Ranks values for the cap: larger count first, then value name, so every merge keeps the same set. */
function byCountThenName(a: readonly [string, number], b: readonly [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/** Sets a key on a plain object even when the key is "__proto__". */
export function putKey<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

export function checkCap(cap: number, what: string): void {
  if (!Number.isSafeInteger(cap) || cap < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${String(cap)}`);
  }
}

export class CategoricalSummary {
  readonly kind = 'categorical' as const;
  private n = 0;
  private nMissing = 0;
  private nOther = 0;
  private counts = new Map<string, number>();
  private capValue: number;

  constructor(cap: number) {
    checkCap(cap, 'categorical cap');
    this.capValue = cap;
  }

  /** Values counted, including those in other; missing ones excluded. */
  get count(): number {
    return this.n;
  }
  get missing(): number {
    return this.nMissing;
  }
  get other(): number {
    return this.nOther;
  }
  get cap(): number {
    return this.capValue;
  }
  get total(): number {
    return this.n + this.nMissing;
  }

  /** Values with their own counter, in no particular order. */
  values(): ReadonlyMap<string, number> {
    return this.counts;
  }

  add(v: string): void {
    this.n++;
    const c = this.counts.get(v);
    if (c !== undefined) this.counts.set(v, c + 1);
    else if (this.counts.size < this.capValue) this.counts.set(v, 1);
    else this.nOther++;
  }

  addMissing(k = 1): void {
    this.nMissing += k;
  }

  /** A value that arrived later for a record counted as missing (a delayed label). */
  fillMissing(v: string): void {
    if (this.nMissing > 0) this.nMissing--;
    this.add(v);
  }

  /** Union of the counters, then the cap (the smaller of the two) keeps the largest. */
  merge(o: CategoricalSummary): void {
    this.n += o.n;
    this.nMissing += o.nMissing;
    this.nOther += o.nOther;
    for (const [k, c] of o.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    this.limit(Math.min(this.capValue, o.capValue));
  }

  /** Lowers the cap, folding the smallest counters into other. */
  limit(cap: number): void {
    checkCap(cap, 'categorical cap');
    if (cap < this.capValue) this.capValue = cap;
    if (this.counts.size <= this.capValue) return;
    const ranked = [...this.counts].sort(byCountThenName);
    this.counts = new Map(ranked.slice(0, this.capValue));
    for (let i = this.capValue; i < ranked.length; i++) this.nOther += (ranked[i] as [string, number])[1];
  }

  clone(): CategoricalSummary {
    const c = new CategoricalSummary(this.capValue);
    c.merge(this);
    return c;
  }

  /** Counters ranked by count then name; `otherKey` adds the overflow as one more entry when non-zero. */
  countsObject(otherKey?: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, c] of [...this.counts].sort(byCountThenName)) putKey(out, k, c);
    if (otherKey !== undefined && this.nOther > 0) putKey(out, otherKey, (out[otherKey] ?? 0) + this.nOther);
    return out;
  }

  toJSON(): CategoricalJson {
    return { type: 'categorical', count: this.n, missing: this.nMissing, values: this.countsObject(), other: this.nOther };
  }

  toWire(): CategoricalWire {
    const keys = [...this.counts.keys()].sort();
    return { n: this.n, ms: this.nMissing, k: keys, c: keys.map((k) => this.counts.get(k) ?? 0), o: this.nOther };
  }

  static fromWire(w: CategoricalWire, cap: number, where: string): CategoricalSummary {
    const bad = (what: string): Error => new Error(`${where}: ${what}`);
    if (w.k.length !== w.c.length) throw bad(`${w.k.length} values but ${w.c.length} counts`);
    if (w.k.length > cap) throw bad(`${w.k.length} values exceed the cap of ${cap}`);
    const s = new CategoricalSummary(cap);
    let sum = w.o;
    for (let i = 0; i < w.k.length; i++) {
      const k = w.k[i] as string;
      const c = w.c[i] as number;
      if (s.counts.has(k)) throw bad(`value ${JSON.stringify(k)} appears twice`);
      s.counts.set(k, c);
      sum += c;
    }
    if (sum !== w.n) throw bad(`counts add up to ${sum} but the total is ${w.n}`);
    s.n = w.n;
    s.nMissing = w.ms;
    s.nOther = w.o;
    return s;
  }
}
