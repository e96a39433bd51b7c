// Typed checks for values decoded from CBOR, small enough to keep a schema library (and its
// ~750 KB and ~10 MB of heap) out of the agent. A check walks the whole value and records every
// problem with its path, so one decode error lists all that is wrong. The wording and order are
// those of the library the profile codec used before, so its messages did not change.

export type WirePathKey = string | number;

export interface WireIssue {
  path: WirePathKey[];
  message: string;
}

/** Where a check is in the value and what it has found wrong so far. */
export class WireContext {
  readonly issues: WireIssue[] = [];
  readonly path: WirePathKey[] = [];

  /** Records a problem at the current path; false, so a check can `return cx.fail(...)`. */
  fail(message: string): false {
    this.issues.push({ path: [...this.path], message });
    return false;
  }
}

/** True when the value has the wire shape T; otherwise false with the problems in `cx`. */
export type WireCheck<T> = (value: unknown, cx: WireContext) => value is T;
export type Checked<C> = C extends WireCheck<infer T> ? T : never;

type Shape = Record<string, WireCheck<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ShapeOf<S extends Shape> = Simplify<{ -readonly [K in keyof S]: Checked<S[K]> }>;
type TupleOf<C extends readonly WireCheck<unknown>[]> = { -readonly [I in keyof C]: Checked<C[I]> };
type TaggedOf<K extends string, O extends Record<string, WireCheck<object>>> = {
  [T in keyof O & string]: Simplify<Checked<O[T]> & { [P in K]: T }>;
}[keyof O & string];

export type WireResult<T> = { ok: true; value: T } | { ok: false; problems: string };

/** Runs a check; on failure `problems` has one `✖ message` line per problem, each with `  → at path`. */
export function checkWire<T>(check: WireCheck<T>, value: unknown): WireResult<T> {
  const cx = new WireContext();
  if (check(value, cx)) return { ok: true, value };
  // Shallow problems first, in the order found (the sort is stable).
  const issues = [...cx.issues].sort((a, b) => a.path.length - b.path.length);
  const lines: string[] = [];
  for (const issue of issues) {
    lines.push(`✖ ${issue.message}`);
    if (issue.path.length > 0) lines.push(`  → at ${pathText(issue.path)}`);
  }
  return { ok: false, problems: lines.join('\n') };
}

/** `a.b[0]`, with keys that are not identifiers quoted: `a["x.y"]`. */
export function pathText(path: readonly WirePathKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/[^\w$]/.test(key)) text += `[${JSON.stringify(key)}]`;
    else text += text === '' ? key : `.${key}`;
  }
  return text;
}

/** What a decoded value is, for messages: `string`, `null`, `array`, `NaN`, `Infinity`, `Uint8Array`, ... */
export function typeName(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'number' : String(value);
  if (typeof value !== 'object') return typeof value;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  // Tagged CBOR items decode to class instances (Date, Map, Tag, ...); plain maps to objects.
  if (Object.getPrototypeOf(value) !== Object.prototype && 'constructor' in value && value.constructor) {
    return (value.constructor as { name: string }).name;
  }
  return 'object';
}

const wrongType = (expected: string, value: unknown): string => `Invalid input: expected ${expected}, received ${typeName(value)}`;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
// Maps decode to objects; anything else that is an object but not an array is read key by key too.
const isObjectLike = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const string: WireCheck<string> = (v, cx): v is string => typeof v === 'string' || cx.fail(wrongType('string', v));

/** Any value, but the key must be there. */
export const present: WireCheck<unknown> = (_v, _cx): _v is unknown => true;

/** A finite number: NaN and ±Infinity are refused. */
export const finiteNumber: WireCheck<number> = (v, cx): v is number => isFiniteNumber(v) || cx.fail(wrongType('number', v));

/** Any number, NaN and ±Infinity included. */
export const anyNumber: WireCheck<number> = (v, cx): v is number => typeof v === 'number' || cx.fail('expected a number');

/** A count: a safe integer, not negative. */
export const count: WireCheck<number> = (v, cx): v is number => {
  if (!isFiniteNumber(v)) return cx.fail(wrongType('number', v));
  if (!Number.isInteger(v)) return cx.fail('Invalid input: expected int, received number');
  let ok = true;
  if (!Number.isSafeInteger(v)) {
    ok = cx.fail(
      v > 0 ? `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}` : `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`,
    );
  }
  if (v < 0) ok = cx.fail('Too small: expected number to be >=0');
  return ok;
};

export function nullable<T>(check: WireCheck<T>): WireCheck<T | null> {
  return (v, cx): v is T | null => v === null || check(v, cx);
}

/** Checks built by optional(): object() lets their key be absent. */
const optionalChecks = new WeakSet<WireCheck<unknown>>();

/**
 * A key that may be absent (undefined), for a field added to a format after data was written
 * without it; writers still always write it.
 */
export function optional<T>(check: WireCheck<T>): WireCheck<T | undefined> {
  const c = (v: unknown, cx: WireContext): v is T | undefined => v === undefined || check(v, cx);
  optionalChecks.add(c);
  return c;
}

export function literal<const T extends string | number>(value: T): WireCheck<T> {
  const message = `Invalid input: expected ${typeof value === 'string' ? `"${value}"` : String(value)}`;
  return (v, cx): v is T => v === value || cx.fail(message);
}

/** One of a fixed set of strings. */
export function oneOf<const T extends readonly string[]>(values: T): WireCheck<T[number]> {
  const allowed = new Set<unknown>(values);
  const message =
    values.length === 1
      ? `Invalid input: expected "${values[0]}"`
      : `Invalid option: expected one of ${values.map((x) => `"${x}"`).join('|')}`;
  return (v, cx): v is T[number] => allowed.has(v) || cx.fail(message);
}

export function array<T>(item: WireCheck<T>): WireCheck<T[]> {
  return (v, cx): v is T[] => {
    if (!Array.isArray(v)) return cx.fail(wrongType('array', v));
    let ok = true;
    for (let i = 0; i < v.length; i++) {
      cx.path.push(i);
      if (!item(v[i], cx)) ok = false;
      cx.path.pop();
    }
    return ok;
  };
}

/** A fixed-length array, each position with its own check. */
export function tuple<const C extends readonly WireCheck<unknown>[]>(...items: C): WireCheck<TupleOf<C>> {
  return (v, cx): v is TupleOf<C> => {
    if (!Array.isArray(v)) return cx.fail(wrongType('tuple', v));
    // Too short stops here; too long is reported and the positions are still checked.
    if (v.length < items.length) return cx.fail(`Too small: expected array to have >=${items.length} items`);
    let ok = v.length === items.length || cx.fail(`Too big: expected array to have <=${items.length} items`);
    for (let i = 0; i < items.length; i++) {
      cx.path.push(i);
      if (!(items[i] as WireCheck<unknown>)(v[i], cx)) ok = false;
      cx.path.pop();
    }
    return ok;
  };
}

/** A map with these keys, each required unless its check is optional(); other keys are ignored. */
export function object<S extends Shape>(shape: S): WireCheck<ShapeOf<S>> {
  const fields = Object.entries(shape).map(([key, check]) => [key, check, optionalChecks.has(check)] as const);
  return (v, cx): v is ShapeOf<S> => {
    if (!isObjectLike(v)) return cx.fail(wrongType('object', v));
    let ok = true;
    for (const [key, check, isOptional] of fields) {
      cx.path.push(key);
      if (!check(v[key], cx)) ok = false;
      // Only a check that accepts undefined (`present`) gets here for a missing key.
      else if (!isOptional && !(key in v)) ok = cx.fail('Invalid input: expected nonoptional, received undefined');
      cx.path.pop();
    }
    return ok;
  };
}

/** A map whose `key` names which of `options` it is: `{ [key]: tag, ...fields of options[tag] }`. */
export function tagged<K extends string, O extends Record<string, WireCheck<object>>>(
  key: K,
  options: O,
): WireCheck<TaggedOf<K, O>> {
  // A Map, so a tag read from the data ("__proto__", "constructor") never reaches a prototype.
  const byTag = new Map<unknown, WireCheck<object>>(Object.entries(options));
  const message = `Invalid discriminator value. Expected ${[...byTag.keys()].map((t) => `'${String(t)}'`).join(' | ')}`;
  return (v, cx): v is TaggedOf<K, O> => {
    if (!isObjectLike(v)) return cx.fail(wrongType('object', v));
    const check = byTag.get(v[key]);
    if (check !== undefined) return check(v, cx);
    cx.path.push(key);
    cx.fail(message);
    cx.path.pop();
    return false;
  };
}
