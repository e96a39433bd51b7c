// Config errors fail the agent at start, so each one must say exactly where the problem is (the full
// key path and the line) and what would have been accepted; a near-miss key gets a spelling hint.
// The duration and size notations live here too: their readers return the message, not just "no".

/** A key path into the config: names for mapping keys, indexes for list items. */
export type Path = readonly (string | number)[];

export type ConfigErrorCode =
  /** The file could not be read (missing, a directory, no permission). */
  | 'EW_ERR_CONFIG_READ'
  /** The file is not valid YAML. */
  | 'EW_ERR_CONFIG_SYNTAX'
  /** The YAML is well formed but a value or key is wrong. */
  | 'EW_ERR_CONFIG_INVALID';

export interface ConfigIssue {
  /** Full path of the offending key, e.g. "models[0].window"; "" for the file as a whole. */
  readonly field: string;
  readonly message: string;
  /** 1-based line in the source text, when the config came from a file. */
  readonly line?: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  /** The first issue's field, e.g. "models[0].window". */
  readonly field: string;
  /** Every problem found, in document order when the config came from text. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], opts: { source?: string; code?: ConfigErrorCode } = {}) {
    const lines = issues.map(formatIssue);
    const header =
      opts.source === undefined || opts.source === ''
        ? undefined
        : `config ${opts.source}: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`}`;
    super(header === undefined ? lines.join('\n') : [header, ...lines].join('\n'));
    this.code = opts.code ?? 'EW_ERR_CONFIG_INVALID';
    this.field = issues[0]?.field ?? '';
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? '' : ` (line ${issue.line})`;
  return issue.field === '' ? `${issue.message}${where}` : `${issue.field}: ${issue.message}${where}`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `["models", 0, "window"]` -> `models[0].window`; odd keys are quoted: `features["a b"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** How a value reads in a message: strings quoted (and shortened), containers by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

// Case, "_" and "-" are ignored so that camelCase and kebab-case spellings of a key find it.
function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

/** Optimal string alignment distance: edits, with a swap of neighbours counting as one. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The valid key a misspelt one most likely meant, or undefined when none is near. Near means a
 * distance of at most a third of the key's length (at least 1), or one containing the other
 * ("lateness" -> "allowed_lateness").
 */
export function closestKey(input: string, candidates: readonly string[]): string | undefined {
  const wanted = normalise(input);
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const norm = normalise(candidate);
    const distance = editDistance(wanted, norm);
    const limit = Math.max(1, Math.floor(Math.max(norm.length, wanted.length) / 3));
    const contains =
      Math.min(wanted.length, norm.length) >= 4 && (norm.includes(wanted) || wanted.includes(norm));
    if (distance > limit && !contains) continue;
    const score = distance <= limit ? distance : limit + 1;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

// --- durations and sizes -------------------------------------------------------------------------

export const SECOND_MS = 1000;
export const DAY_MS = 86_400_000;
export const KIB = 1024;

const DURATION_UNITS: readonly (readonly [string, bigint])[] = [
  ['d', 86_400_000n], ['h', 3_600_000n], ['m', 60_000n], ['s', 1000n], ['ms', 1n],
];
const SIZE_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['B', 1n], ['KB', 1000n], ['MB', 1000n ** 2n], ['GB', 1000n ** 3n], ['TB', 1000n ** 4n],
  ['KiB', 1024n], ['MiB', 1024n ** 2n], ['GiB', 1024n ** 3n], ['TiB', 1024n ** 4n],
]);
const DURATION_FORMATS =
  'a duration such as "500ms", "10s", "1m", "1h", "2d", "1h30m", or a whole number of milliseconds';
const SIZE_FORMATS =
  'a size such as "512KiB", "1MiB", "1MB", "10GB" (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024), ' +
  'or a whole number of bytes';

// Decimal text times a unit, exactly: "1.5" x 1024n; undefined when the result has a fraction.
function scaled(whole: string, fraction: string, unit: bigint): bigint | undefined {
  const denominator = 10n ** BigInt(fraction.length);
  const numerator = BigInt(whole + fraction) * unit;
  return numerator % denominator === 0n ? numerator / denominator : undefined;
}

function wholeNumber(value: number, what: string, formats: string): number | string {
  if (Number.isSafeInteger(value) && value >= 0) return value;
  return `got ${value}, expected ${formats} (${what} must be whole and not negative)`;
}

function checked(total: bigint | undefined, raw: string, formats: string, unit: string): number | string {
  if (total === undefined) {
    return `got ${describeValue(raw)}, expected ${formats} (it is not a whole number of ${unit})`;
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return `got ${describeValue(raw)}, which is too large`;
  return Number(total);
}

/** Milliseconds from "1h30m" or a number of ms; a string when the value is wrong, saying why. */
export function readDuration(value: unknown): number | string {
  if (typeof value === 'number') return wholeNumber(value, 'milliseconds', DURATION_FORMATS);
  const wrong = `got ${describeValue(value)}, expected ${DURATION_FORMATS}`;
  if (typeof value !== 'string' || value.trim() === '') return wrong;
  const text = value.trim();
  const part = /(\d+)(?:\.(\d+))?(ms|d|h|m|s)/y;
  let total: bigint | undefined = 0n;
  let lastUnit = -1;
  while (part.lastIndex < text.length) {
    const match = part.exec(text);
    if (match === null) return wrong;
    const unit = DURATION_UNITS.findIndex(([name]) => name === match[3]);
    if (unit <= lastUnit) return `${wrong} (units go from largest to smallest, each once)`;
    lastUnit = unit;
    const amount = scaled(match[1] ?? '', match[2] ?? '', DURATION_UNITS[unit]?.[1] ?? 1n);
    total = amount === undefined || total === undefined ? undefined : total + amount;
  }
  return checked(total, value, DURATION_FORMATS, 'milliseconds');
}

/** Bytes from "512KiB" or a number of bytes; a string when the value is wrong, saying why. */
export function readSize(value: unknown): number | string {
  if (typeof value === 'number') return wholeNumber(value, 'bytes', SIZE_FORMATS);
  const match = typeof value === 'string' ? /^(\d+)(?:\.(\d+))? ?([KMGT]i?B|B)$/.exec(value.trim()) : null;
  const unit = SIZE_UNITS.get(match?.[3] ?? '');
  if (match === null || unit === undefined) return `got ${describeValue(value)}, expected ${SIZE_FORMATS}`;
  return checked(scaled(match[1] ?? '0', match[2] ?? '', unit), String(value), SIZE_FORMATS, 'bytes');
}

/** 5_400_000 -> "1h30m"; 0 -> "0ms". */
export function formatDuration(ms: number): string {
  let rest = BigInt(ms);
  let out = '';
  for (const [unit, size] of DURATION_UNITS) {
    if (rest >= size) {
      out += `${rest / size}${unit}`;
      rest %= size;
    }
  }
  return out === '' ? '0ms' : out;
}

/** 1_048_576 -> "1MiB"; sizes that fit no unit stay in bytes. */
export function formatSize(bytes: number): string {
  const n = BigInt(bytes);
  const unit = [...SIZE_UNITS].reverse().find(([, size]) => n >= size && n % size === 0n);
  return unit === undefined || unit[0] === 'B' ? `${bytes} bytes` : `${n / unit[1]}${unit[0]}`;
}
