// From YAML text to a frozen CollectorConfig: parse, check once against one strict schema (defaults
// inside it, unknown keys refused), and report every problem together, each naming the field, the
// value and what was expected. Relative paths resolve against the config file's folder.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { NAME_CHARS } from '../../agent/wire/index.js';
import type { CollectorConfig, ListenAddress } from './types.js';

export type CollectorConfigErrorCode = 'EW_ERR_CONFIG_READ' | 'EW_ERR_CONFIG_SYNTAX' | 'EW_ERR_CONFIG_INVALID';

export interface CollectorConfigIssue {
  /** Full path of the key, e.g. "mqtt.devices[1].id"; "" for the file as a whole. */
  readonly field: string;
  readonly message: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
}

export class CollectorConfigError extends Error {
  override readonly name = 'CollectorConfigError';
  readonly code: CollectorConfigErrorCode;
  /** The first issue's field. */
  readonly field: string;
  readonly issues: readonly CollectorConfigIssue[];

  constructor(issues: readonly CollectorConfigIssue[], opts: { source?: string | null; code?: CollectorConfigErrorCode } = {}) {
    const lines = issues.map((i) => `${i.field === '' ? '' : `${i.field}: `}${i.message}${i.line === undefined ? '' : ` (line ${i.line})`}`);
    const header = opts.source ? [`config ${opts.source}: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`}`] : [];
    super([...header, ...lines].join('\n'));
    this.code = opts.code ?? 'EW_ERR_CONFIG_INVALID';
    this.field = issues[0]?.field ?? '';
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

export const DEFAULT_DATA_DIR = './collector-data';
export const DEFAULT_MQTT_LISTEN = '0.0.0.0:1883';
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:8080';
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Below this not even a small summary fits; above it MQTT's own packet limit (256 MiB) bites. */
const MIN_MESSAGE_BYTES = 1024;
const MAX_MESSAGE_BYTES = 268_435_455;
const MQTT_URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'];
/** A shared-subscription group is one topic level: no "/", "+" or "#". */
const SHARE_GROUP = /^[A-Za-z0-9._-]{1,64}$/;

const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ['B', 1], ['KB', 1e3], ['MB', 1e6], ['GB', 1e9],
  ['KiB', 1024], ['MiB', 1024 ** 2], ['GiB', 1024 ** 3],
]);
const SIZE_FORMATS = 'a size such as "256KiB", "1MiB", "1MB" or a whole number of bytes';
const LISTEN_FORMATS = '"host:port" (IPv6 as "[::]:1883"; port 0 to 65535, 0 picks a free port)';

/** Bytes from "1MiB", "256KiB" or a number; a string saying what is wrong otherwise. */
export function readSize(value: unknown): number | string {
  let bytes: number | undefined;
  if (typeof value === 'number') bytes = value;
  else if (typeof value === 'string') {
    const m = /^(\d+)(?:\.(\d+))? ?([KMG]i?B|B)$/.exec(value.trim());
    const unit = SIZE_UNITS.get(m?.[3] ?? '');
    if (m !== null && unit !== undefined) {
      // Exact decimal arithmetic: "1.1KB" is 1100 bytes, "1.5B" is not a whole number of bytes.
      const fraction = m[2] ?? '';
      const scaled = BigInt((m[1] ?? '') + fraction) * BigInt(unit);
      const denominator = 10n ** BigInt(fraction.length);
      if (scaled % denominator === 0n) bytes = Number(scaled / denominator);
    }
  }
  if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes < 0) return `expected ${SIZE_FORMATS}`;
  return bytes;
}

const DURATION_UNITS: ReadonlyArray<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]];
const DURATION_FORMATS = 'a duration such as "30s", "10m", "1h30m", "24h" or a whole number of milliseconds';

/** Milliseconds from "10m", "1h30m" or a number; a string saying what is wrong otherwise. */
export function readDuration(value: unknown): number | string {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : `expected ${DURATION_FORMATS}`;
  if (typeof value !== 'string' || value.trim() === '') return `expected ${DURATION_FORMATS}`;
  const part = /(\d+)(ms|d|h|m|s)/y;
  const text = value.trim();
  let ms = 0;
  let last = -1;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    const unit = m === null ? -1 : DURATION_UNITS.findIndex(([u]) => u === m[2]);
    if (m === null || unit <= last) return `expected ${DURATION_FORMATS}`;
    last = unit;
    ms += Number(m[1]) * DURATION_UNITS[unit]![1];
  }
  return Number.isSafeInteger(ms) ? ms : `expected ${DURATION_FORMATS}`;
}

/** {host, port} from "host:port" or "[v6]:port"; a string saying what is wrong otherwise. */
export function readListen(value: unknown): ListenAddress | string {
  const m = typeof value === 'string' ? /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim()) : null;
  const port = Number(m?.[3]);
  if (m === null || !(port >= 0 && port <= 65_535)) return `expected ${LISTEN_FORMATS}`;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** A field read by `read`, whose string result is the problem; `input` is the default's notation. */
function notation<T>(read: (v: unknown) => T | string) {
  return z.unknown().transform((v, ctx): T => {
    const r = read(v);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  });
}

const sizeField = notation((v) => {
  const n = readSize(v);
  if (typeof n === 'string' || (n >= MIN_MESSAGE_BYTES && n <= MAX_MESSAGE_BYTES)) return n;
  return `expected a size from 1KiB to 256MiB (MQTT's packet limit)`;
});
const listenField = notation(readListen);
const text = z.string().min(1, 'expected a non-empty string');
const nullableText = text.nullable().default(null);
const deviceName = z.string().regex(NAME_CHARS, 'expected 1-64 characters of A-Z a-z 0-9 . _ - (a device id is an MQTT topic level)');
const mqttUrl = z
  .string()
  .refine((s) => {
    try {
      return MQTT_URL_PROTOCOLS.includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, `expected a broker URL with one of ${MQTT_URL_PROTOCOLS.map((p) => `${p}//`).join(', ')}`);

/** A section left empty in YAML (`mqtt:` with every option commented out) means its defaults. */
function section<S extends z.ZodRawShape>(shape: S) {
  return z.preprocess((v) => v ?? {}, z.strictObject(shape));
}

/** Bearer tokens shorter than this are refused at start: they could be guessed. */
const MIN_TOKEN_CHARS = 16;

const durationField = notation(readDuration);
const share = z.number().min(0, 'expected a share from 0 to 1').max(1, 'expected a share from 0 to 1');
const severity = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a severity such as warning or critical (lower case)');
const httpUrl = z.string().refine((s) => {
  try {
    return ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL');
const ruleName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a rule name of letters, digits and _ (an alert name)');
const fleetRule = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      name: ruleName,
      kind: z.literal('device_share'),
      model: deviceName,
      version: deviceName.nullable().default(null),
      site: deviceName.nullable().default(null),
      condition: z.union([z.strictObject({ drifted: text }), z.strictObject({ alert: text })], {
        message: 'expected {drifted: <feature or "*">} or {alert: <agent alert name>}',
      }),
      min_share: share,
      min_devices: z.number().int().min(1).default(1),
      over: durationField.prefault('15m'),
      for: durationField.prefault('0s'),
      severity: severity.default('warning'),
    }),
    z.strictObject({
      name: ruleName,
      kind: z.literal('fleet_drift'),
      model: deviceName,
      version: deviceName.nullable().default(null),
      min_share: share,
      for: durationField.prefault('0s'),
      severity: severity.default('warning'),
    }),
  ],
  { message: 'expected kind device_share or fleet_drift' },
);
const endpoint = z.strictObject({ url: httpUrl, timeout: durationField.prefault('5s') });

const configSchema = section({
  data_dir: text.default(DEFAULT_DATA_DIR),
  mqtt: section({
    url: mqttUrl.nullable().default(null),
    listen: listenField.prefault(DEFAULT_MQTT_LISTEN),
    share_group: z.string().regex(SHARE_GROUP, 'expected 1-64 characters of A-Z a-z 0-9 . _ - (one topic level)').nullable().default(null),
    username: nullableText,
    password: nullableText,
    client_id: text.optional(),
    tls: section({
      ca: nullableText,
      cert: nullableText,
      key: nullableText,
      servername: nullableText,
      reject_unauthorized: z.boolean().default(true),
    }),
    allow_anonymous: z.boolean().default(false),
    devices: z
      .array(z.strictObject({ id: deviceName, password: text }))
      .nullable()
      .default(null)
      .transform((v) => v ?? [])
      .superRefine((devices, ctx) => {
        const seen = new Set<string>();
        devices.forEach((d, i) => {
          if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'expected a unique device id; this one is listed twice' });
          seen.add(d.id);
        });
      }),
    max_message_bytes: sizeField.prefault(DEFAULT_MAX_MESSAGE_BYTES),
  }),
  http: section({
    listen: listenField.nullable().prefault(DEFAULT_HTTP_LISTEN),
    tokens: z
      .array(
        z.strictObject({
          name: deviceName,
          token: z.string().min(MIN_TOKEN_CHARS, `expected a token of at least ${MIN_TOKEN_CHARS} characters (openssl rand -hex 24 makes one)`),
          role: z.enum(['read', 'admin'], { message: 'expected read or admin' }),
        }),
      )
      .nullable()
      .default(null)
      .transform((v) => v ?? [])
      .superRefine((tokens, ctx) => {
        const names = new Set<string>();
        const values = new Set<string>();
        tokens.forEach((t, i) => {
          if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'expected a unique name; this one is listed twice' });
          if (values.has(t.token)) ctx.addIssue({ code: 'custom', path: [i, 'token'], message: 'expected a unique token; this one is given twice' });
          names.add(t.name);
          values.add(t.token);
        });
      }),
  }),
  retention: section({
    summaries: durationField.nullable().prefault('30d'),
    fleet_windows: durationField.nullable().prefault('2d'),
    fleet_hours: durationField.nullable().prefault('90d'),
    fleet_days: durationField.nullable().prefault('730d'),
  }),
  alerts: section({
    interval: durationField.prefault('15s'),
    rules: z
      .array(fleetRule)
      .nullable()
      .default(null)
      .transform((v) => v ?? [])
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((r, i) => {
          if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'expected a unique rule name; this one is listed twice' });
          seen.add(r.name);
        });
      }),
    device_offline: z
      .strictObject({ grace: durationField.prefault('10m'), severity: severity.default('warning') })
      .nullable()
      .prefault({}),
    sync_overdue: z
      .strictObject({ grace: durationField.prefault('30m'), severity: severity.default('warning') })
      .nullable()
      .prefault({}),
    gap: z
      .strictObject({ hold: durationField.prefault('24h'), severity: severity.default('warning') })
      .nullable()
      .prefault({}),
    notify: section({
      webhooks: z.array(endpoint).nullable().default(null).transform((v) => v ?? []),
      alertmanagers: z.array(endpoint).nullable().default(null).transform((v) => v ?? []),
      external_url: httpUrl.nullable().default(null),
    }),
  }),
  bundles: section({
    hmac_key: nullableText,
    require_hmac: z.boolean().default(false),
  }),
}).superRefine((c, ctx) => {
  if (c.bundles.require_hmac && c.bundles.hmac_key === null) {
    ctx.addIssue({ code: 'custom', path: ['bundles', 'require_hmac'], message: 'expected false while bundles.hmac_key is not set (no key to check signatures with)' });
  }
  if (c.mqtt.password !== null && c.mqtt.username === null) {
    ctx.addIssue({ code: 'custom', path: ['mqtt', 'username'], message: 'expected a username, since mqtt.password is set' });
  }
});

export interface ParseOptions {
  /** Where the text came from: relative paths resolve against its folder. null: the current folder. */
  source: string | null;
  /** For the default client id; os.hostname() when left out. */
  hostname?: string;
}

/** Reads and checks the collector's YAML file; a missing or unreadable file is a CollectorConfigError. */
export function loadCollectorConfig(file: string): CollectorConfig {
  const source = path.resolve(file);
  let yamlText: string;
  try {
    yamlText = readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT' ? `config file not found: ${source}`
      : code === 'EISDIR' ? `config path is a folder, not a file: ${source}`
      : `cannot read config file ${source}: ${(err as Error).message}`;
    throw new CollectorConfigError([{ field: '', message }], { code: 'EW_ERR_CONFIG_READ' });
  }
  return parseCollectorConfig(yamlText, { source });
}

/** Checks YAML text; throws one CollectorConfigError listing every problem in document order. */
export function parseCollectorConfig(yamlText: string, opts: ParseOptions): CollectorConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, uniqueKeys: true });
  const broken = [...doc.errors, ...doc.warnings];
  if (broken.length > 0) {
    const issues = broken.map((e) => ({
      field: '',
      message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      ...(e.linePos === undefined ? {} : { line: e.linePos[0].line }),
    }));
    throw new CollectorConfigError(issues, { source: opts.source, code: 'EW_ERR_CONFIG_SYNTAX' });
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  // A missing key has no node: the line of the nearest section that is there.
  const lineOf = (p: readonly PropertyKey[]): number | undefined => {
    for (let n = p.length; n >= 1; n--) {
      const node: unknown = doc.getIn(p.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return checkConfig(raw, opts, lineOf);
}

/** The embedded defaults, used when no --config is given; data_dir resolves against the current folder. */
export function defaultCollectorConfig(dataDir: string = DEFAULT_DATA_DIR, hostname?: string): CollectorConfig {
  return checkConfig({ data_dir: dataDir }, { source: null, ...(hostname === undefined ? {} : { hostname }) }, () => undefined);
}

function checkConfig(raw: unknown, opts: ParseOptions, lineOf: (p: readonly PropertyKey[]) => number | undefined): CollectorConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) => describeIssue(issue, raw, lineOf));
    issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new CollectorConfigError(issues, { source: opts.source });
  }
  const c = parsed.data;
  const base = opts.source === null ? process.cwd() : path.dirname(opts.source);
  const file = (p: string | null): string | null => (p === null ? null : path.resolve(base, p));
  const config: CollectorConfig = {
    source: opts.source,
    data_dir: path.resolve(base, c.data_dir),
    mqtt: {
      ...c.mqtt,
      client_id: c.mqtt.client_id ?? `edgewatch-collector-${opts.hostname ?? os.hostname()}`,
      tls: { ...c.mqtt.tls, ca: file(c.mqtt.tls.ca), cert: file(c.mqtt.tls.cert), key: file(c.mqtt.tls.key) },
    },
    http: c.http,
    alerts: c.alerts as CollectorConfig['alerts'],
    retention: c.retention,
    bundles: c.bundles,
  };
  return deepFreeze(config);
}

type ZodIssue = z.ZodError['issues'][number];

function describeIssue(issue: ZodIssue, raw: unknown, lineOf: (p: readonly PropertyKey[]) => number | undefined): CollectorConfigIssue[] {
  const at = (p: readonly PropertyKey[], message: string): CollectorConfigIssue => {
    const line = lineOf(p);
    return { field: formatPath(p), message, ...(line === undefined ? {} : { line }) };
  };
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys.map((key) => {
      const near = closest(key, known);
      const hint = near === undefined ? `known keys: ${known.join(', ')}` : `did you mean "${near}"?`;
      return at([...issue.path, key], `unknown key (value ${describeValue(valueAt(raw, [...issue.path, key]))}); ${hint}`);
    });
  }
  const value = valueAt(raw, issue.path);
  let expected: string;
  if (issue.code === 'invalid_type') expected = `expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`;
  else if (issue.code === 'custom' || issue.message.startsWith('expected')) expected = issue.message;
  else expected = issue.message.replace(/^Invalid input: /, '');
  return [at(issue.path, `${expected}, got ${describeValue(value)}`)];
}

/** The keys the schema allows in the section at `p`, for spelling hints. */
function knownKeys(p: readonly PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const key of p) {
    schema = typeof key === 'number' ? unwrap(schema, (d) => d.def?.element) : unwrap(schema, (d) => d.shape)?.[String(key)];
  }
  return Object.keys(unwrap(schema, (d) => d.shape) ?? {});
}

interface SchemaNode {
  shape?: Record<string, unknown>;
  def?: { in?: unknown; out?: unknown; innerType?: unknown; schema?: unknown; element?: unknown };
}

/** Looks through the wrappers used above (preprocess pipes, defaults, nullables) for what `pick` finds. */
function unwrap<T>(schema: unknown, pick: (s: SchemaNode) => T | undefined, depth = 0): T | undefined {
  const s = schema as SchemaNode | undefined;
  if (s === undefined || depth > 8) return undefined;
  const found = pick(s);
  if (found !== undefined) return found;
  for (const inner of [s.def?.out, s.def?.in, s.def?.innerType, s.def?.schema]) {
    const r = unwrap(inner, pick, depth + 1);
    if (r !== undefined) return r;
  }
  return undefined;
}

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const key of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** `["mqtt", "devices", 1, "id"]` -> `mqtt.devices[1].id`. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const key of p) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key))) out += out === '' ? String(key) : `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === null) return 'an empty value';
  if (value === undefined) return 'nothing (the key is missing)';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** The known key a misspelt one most likely meant: at most a third of its letters off. */
function closest(input: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(norm(input), norm(c));
    if (d <= Math.max(1, Math.floor(c.length / 3)) && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
