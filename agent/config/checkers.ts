// The small typed checkers a config schema is built from: each message names the field, the value and
// what was expected, and one pass over a document reports every problem, not just the first.
import path from 'node:path';
import {
  closestKey, describeValue, formatDuration, formatPath, formatSize, readDuration, readSize, type Path,
} from './errors.js';

export interface Issue {
  readonly path: Path;
  readonly message: string;
}

export interface CheckContext {
  readonly issues: Issue[];
  /** Folder that relative paths resolve against: the config file's folder. */
  readonly baseDir: string;
  /** Default for device.id. */
  readonly hostname: string;
  /** Formatted paths of strings produced by ${VAR} substitution: env values may stand for numbers. */
  readonly fromEnv: ReadonlySet<string>;
}

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

/** Checks one value: returns it converted (durations to ms, paths made absolute) or INVALID. */
export interface Schema<T, I = unknown> {
  /** What a valid value looks like, for messages. */
  readonly expected: string;
  /** Sections and lists read a key with nothing under it (YAML null) as "not set". */
  readonly container?: boolean;
  check(value: unknown, at: Path, ctx: CheckContext): T | Invalid;
  /** Type-level only: the input this schema accepts, for typed overrides built in code. */
  readonly __input?: I;
}

/** A key that may be left out: its default (written like user input) is checked like user input. */
export interface Field<T, I> {
  readonly schema: Schema<T, I>;
  readonly fallback: I | ((ctx: CheckContext) => I) | undefined;
}

type Entry = Schema<unknown, unknown> | Field<unknown, unknown>;
type Shape = Record<string, Entry>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OutOf<E> = E extends Field<infer T, unknown> ? T : E extends Schema<infer T, unknown> ? T : never;
type InOf<E> = E extends Field<unknown, infer I> ? I : E extends Schema<unknown, infer I> ? I : never;
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends Field<unknown, unknown> ? never : K }[keyof S];
type ShapeOut<S extends Shape> = Simplify<{ [K in keyof S]: OutOf<S[K]> }>;
type ShapeIn<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: InOf<S[K]> } & { [K in Exclude<keyof S, RequiredKeys<S>>]?: InOf<S[K]> }
>;
export type InputOf<S> = S extends Schema<unknown, infer I> ? I : never;

/** Returned by a value test to replace the generic "got X, expected Y" message. */
export class Problem {
  constructor(readonly message: string) {}
}

const fail = (ctx: CheckContext, at: Path, message: string): Invalid => {
  ctx.issues.push({ path: at, message });
  return INVALID;
};

const mismatch = (value: unknown, expected: string): string =>
  `got ${describeValue(value)}, expected ${expected}`;

export function scalar<T, I>(
  expected: string,
  read: (value: unknown, at: Path, ctx: CheckContext) => T | Problem | undefined,
): Schema<T, I> {
  return {
    expected,
    check(value, at, ctx) {
      const out = read(value, at, ctx);
      if (out === undefined) return fail(ctx, at, mismatch(value, expected));
      if (out instanceof Problem) return fail(ctx, at, out.message);
      return out;
    },
  };
}

// Env values are always strings; a whole-number string that came from ${VAR} may fill a number field.
function numberLike(value: unknown, at: Path, ctx: CheckContext): unknown {
  if (typeof value !== 'string' || !ctx.fromEnv.has(formatPath(at))) return value;
  const text = value.trim();
  return /^-?\d+$/.test(text) ? Number(text) : value;
}

/** A path or glob, made absolute against the config file's folder. */
export const fsPath = scalar<string, string>('a path', (value, _at, ctx) => {
  if (typeof value !== 'string') return quoteHint(value, 'a path');
  if (value.trim() === '') return undefined;
  if (value.startsWith('~')) {
    return new Problem(`got ${describeValue(value)}; "~" is not expanded, write an absolute path or \${HOME}/...`);
  }
  return path.resolve(ctx.baseDir, value);
});

export const quoteHint = (value: unknown, expected: string): Problem | undefined =>
  typeof value === 'number' || typeof value === 'boolean'
    ? new Problem(`${mismatch(value, expected)} (put the value in quotes)`)
    : undefined;

export function str(expected: string, valid: (s: string) => boolean = () => true): Schema<string, string> {
  return scalar(expected, (value) =>
    typeof value === 'string' ? (valid(value) ? value : undefined) : quoteHint(value, expected),
  );
}

export function int(min: number, max: number): Schema<number, number> {
  const expected = `a whole number from ${min} to ${max}`;
  return scalar(expected, (raw, at, ctx) => {
    const value = numberLike(raw, at, ctx);
    return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? value
      : undefined;
  });
}

export function real(min: number, max: number): Schema<number, number> {
  const expected = `a number from ${min} to ${max}`;
  return scalar(expected, (raw, at, ctx) => {
    const value = numberLike(raw, at, ctx);
    return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : undefined;
  });
}

export const bool: Schema<boolean, boolean> = scalar('true or false', (raw, at, ctx) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && ctx.fromEnv.has(formatPath(at))) {
    if (raw.trim() === 'true') return true;
    if (raw.trim() === 'false') return false;
  }
  return undefined;
});

export function oneOf<const V extends readonly string[]>(values: V): Schema<V[number], V[number]> {
  return scalar(`one of ${values.join(', ')}`, (value) =>
    typeof value === 'string' && values.includes(value) ? value : undefined,
  );
}

interface Bounds {
  min: number;
  max?: number;
  /** A further rule on the converted value: returns what was expected when it fails. */
  rule?: (converted: number) => string | undefined;
}

export function measure(
  kind: 'duration' | 'size',
  bounds: Bounds,
): Schema<number, string | number> {
  const read = kind === 'duration' ? readDuration : readSize;
  const show = kind === 'duration' ? formatDuration : formatSize;
  return scalar(kind === 'duration' ? 'a duration' : 'a size', (raw, at, ctx) => {
    const value = numberLike(raw, at, ctx);
    const converted = read(value);
    if (typeof converted === 'string') return new Problem(converted);
    if (converted < bounds.min) return new Problem(mismatch(raw, `at least ${show(bounds.min)}`));
    if (bounds.max !== undefined && converted > bounds.max) {
      return new Problem(mismatch(raw, `at most ${show(bounds.max)}`));
    }
    const broken = bounds.rule?.(converted);
    return broken === undefined ? converted : new Problem(mismatch(raw, broken));
  });
}

interface ListOptions {
  /** The items in plural, for messages: "globs". */
  of: string;
  nonEmpty?: boolean;
  /** Refuse the same string twice. */
  unique?: boolean;
}

export function list<T, I>(item: Schema<T, I>, opts: ListOptions): Schema<T[], I[]> {
  const expected = `a${opts.nonEmpty === true ? ' non-empty' : ''} list of ${opts.of}`;
  return {
    expected,
    container: true,
    check(value, at, ctx) {
      if (!Array.isArray(value) || (opts.nonEmpty === true && value.length === 0)) {
        return fail(ctx, at, mismatch(value, expected));
      }
      const out: T[] = [];
      let ok = true;
      const seen = new Map<unknown, number>();
      value.forEach((element: unknown, i) => {
        const converted = item.check(element, [...at, i], ctx);
        if (converted === INVALID) {
          ok = false;
          return;
        }
        const first = seen.get(converted);
        if (opts.unique === true && first !== undefined) {
          fail(ctx, [...at, i], `${describeValue(element)} is listed twice (also at [${first}])`);
          ok = false;
          return;
        }
        seen.set(converted, i);
        out.push(converted);
      });
      return ok ? out : INVALID;
    },
  };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function record<T, I>(keyExpected: string, value: Schema<T, I>): Schema<Record<string, T>, Record<string, I>> {
  const expected = `a mapping of ${keyExpected} to ${value.expected}`;
  return {
    expected,
    container: true,
    check(raw, at, ctx) {
      if (!isMapping(raw)) return fail(ctx, at, mismatch(raw, expected));
      const entries: [string, T][] = [];
      let ok = true;
      for (const [key, element] of Object.entries(raw)) {
        if (key.trim() === '') {
          fail(ctx, [...at, key], `an empty key, expected ${keyExpected}`);
          ok = false;
        }
        const converted = value.check(element, [...at, key], ctx);
        if (converted === INVALID) ok = false;
        else entries.push([key, converted]);
      }
      return ok ? Object.fromEntries(entries) : INVALID;
    },
  };
}

export function withDefault<T, I>(schema: Schema<T, I>, fallback: I | ((ctx: CheckContext) => I)): Field<T, I> {
  return { schema, fallback };
}

export function optional<T, I>(schema: Schema<T, I>): Field<T | undefined, I> {
  return { schema, fallback: undefined };
}

type Report = (relative: Path, message: string) => void;

export function object<S extends Shape, R>(
  shape: S,
  build: (v: ShapeOut<S>, report: Report) => R,
): Schema<R, ShapeIn<S>> {
  const keys = Object.keys(shape);
  const expected = `a mapping with keys ${keys.join(', ')}`;
  return {
    expected,
    container: true,
    check(raw, at, ctx) {
      if (!isMapping(raw)) return fail(ctx, at, mismatch(raw, expected));
      let ok = true;
      for (const key of Object.keys(raw)) {
        if (Object.hasOwn(shape, key)) continue;
        const hint = closestKey(key, keys);
        fail(ctx, [...at, key], hint === undefined
          ? `unknown key; expected one of ${keys.join(', ')}`
          : `unknown key; did you mean ${JSON.stringify(hint)}?`);
        ok = false;
      }
      const out: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries(shape)) {
        const field: Field<unknown, unknown> = 'schema' in entry ? entry : { schema: entry, fallback: undefined };
        const given = Object.hasOwn(raw, key) ? raw[key] : undefined;
        const unset = given === undefined || (given === null && field.schema.container === true);
        const where = [...at, key];
        if (!unset) {
          out[key] = field.schema.check(given, where, ctx);
        } else if (!('schema' in entry)) {
          out[key] = fail(ctx, where, `required; expected ${field.schema.expected}`);
        } else if (field.fallback === undefined) {
          out[key] = undefined;
        } else {
          const before = ctx.issues.length;
          const fallback: unknown = typeof field.fallback === 'function' ? field.fallback(ctx) : field.fallback;
          out[key] = field.schema.check(fallback, where, ctx);
          // Only a default that depends on the machine (the hostname) can fail; say where it came from.
          for (let i = before; i < ctx.issues.length; i++) {
            const issue = ctx.issues[i];
            if (issue !== undefined && formatPath(issue.path) === formatPath(where)) {
              const message = `${issue.message} (this is the default; set ${formatPath(where)})`;
              ctx.issues[i] = { ...issue, message };
            }
          }
        }
        if (out[key] === INVALID) ok = false;
      }
      if (!ok) return INVALID;
      const before = ctx.issues.length;
      const report: Report = (relative, message) => ctx.issues.push({ path: [...at, ...relative], message });
      const built = build(out as ShapeOut<S>, report);
      return ctx.issues.length === before ? built : INVALID;
    },
  };
}
