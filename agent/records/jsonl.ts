// JSONL: one JSON object per line. Python's json module writes NaN, Infinity and -Infinity as bare
// tokens, which JSON.parse refuses; such lines are read again with those tokens as numbers.

import type { LineParser } from './index.js';
import { clip, describe, reject, type RecordMapper } from './mapping.js';
import type { ParseResult } from './types.js';

const DETAIL_CHARS = 160;
/** Stand-ins for the bare tokens: a string starting with NUL cannot come from a well-formed log. */
const SENTINEL_NAN = '\u0000ew:NaN';
const SENTINEL_POS_INF = '\u0000ew:+Inf';
const SENTINEL_NEG_INF = '\u0000ew:-Inf';

function reviveNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) {
    if (value === SENTINEL_NAN) return NaN;
    if (value === SENTINEL_POS_INF) return Infinity;
    if (value === SENTINEL_NEG_INF) return -Infinity;
  }
  return value;
}

/**
 * Rewrites bare NaN / Infinity / -Infinity outside strings into quoted sentinels. Returns null when
 * the text has none, so a line that is simply broken is not parsed twice more.
 */
export function quoteNonFiniteTokens(text: string): string | null {
  let out = '';
  let copied = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    let token = '';
    let sentinel = '';
    if (c === 78 && text.startsWith('NaN', i)) {
      token = 'NaN';
      sentinel = SENTINEL_NAN;
    } else if (c === 73 && text.startsWith('Infinity', i)) {
      token = 'Infinity';
      sentinel = SENTINEL_POS_INF;
    } else if (c === 45 && text.startsWith('-Infinity', i)) {
      token = '-Infinity';
      sentinel = SENTINEL_NEG_INF;
    } else {
      continue;
    }
    out += text.slice(copied, i) + JSON.stringify(sentinel);
    i += token.length - 1;
    copied = i + 1;
  }
  return copied === 0 ? null : out + text.slice(copied);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The slow path for a line JSON.parse refused: a byte-order mark, or Python's non-finite tokens. */
function parseLenient(line: string, error: string): { value: unknown } | { error: string } {
  let text = line;
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
    try {
      return { value: JSON.parse(text) };
    } catch (err) {
      error = errorMessage(err);
    }
  }
  const rewritten = quoteNonFiniteTokens(text);
  if (rewritten !== null) {
    try {
      return { value: JSON.parse(rewritten, reviveNonFinite) };
    } catch {
      // The original text's error is the one that makes sense to whoever reads the detail.
    }
  }
  return { error };
}

export class JsonlLineParser implements LineParser {
  readonly needsHeader = false;

  constructor(private readonly mapper: RecordMapper) {}

  /** JSONL has no header; a line passed here is ignored. */
  setHeader(_line: string): void {}

  parse(line: string, readTimeMs: number): ParseResult {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      const retry = parseLenient(line, errorMessage(err));
      if ('error' in retry) return reject('unparseable', clip(`not valid JSON: ${retry.error}`, DETAIL_CHARS), line, null);
      value = retry.value;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return reject('not_object', `line: expected a JSON object, got ${describe(value)}`, line, null);
    }
    return this.mapper.map(value, line, readTimeMs);
  }
}
