// The generator's options: one strict zod schema with the defaults, resolveOptions (validate once, then
// frozen), and the CLI table that drives both --help and the argv parser.

import { parseArgs } from 'node:util';
import { z } from 'zod';
import { REJECT_REASONS, type RejectReason } from '../../agent/records/types.js';

const fraction = z.number().min(0).max(1);
const name = z.string().min(1).regex(/^[^\x00-\x1f]*$/, 'must not contain control characters');
const names = z.array(z.string()).nullable().default(null);

const optionsSchema = z
  .strictObject({
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
    records: z.number().int().min(0).default(10_000),
    format: z.enum(['jsonl', 'csv']).default('jsonl'),
    start: z
      .string()
      .refine((s) => Date.parse(s) >= 0 && Date.parse(s) < Date.UTC(9999, 0), 'expected an RFC 3339 time from 1970 to 9998')
      .default('2026-01-01T00:00:00Z'),
    rate: z.number().positive().default(100),
    arrivals: z.enum(['poisson', 'even']).default('poisson'),
    task: z.enum(['classification', 'regression']).default('classification'),
    classes: z.number().int().min(2).max(50).default(2),
    numericFeatures: z.number().int().min(0).max(500).default(8),
    categoricalFeatures: z.number().int().min(0).max(100).default(3),
    regions: z.array(name).default(['eu-west', 'us-east', 'ap-south', 'sa-east']),
    model: name.default('fraud'),
    modelVersion: name.default('v1'),
    secondVersion: name.nullable().default(null),
    secondVersionFrom: z.number().int().min(0).nullable().default(null),
    labelRate: fraction.default(0.3),
    latencyMedianMs: z.number().positive().default(12),
    latencySigma: z.number().min(0).default(0.5),
    errorRate: fraction.default(0.01),
    missingRate: fraction.default(0.01),
    driftFrom: z.number().int().min(0).nullable().default(null),
    driftShift: z.number().finite().default(1),
    driftNumeric: names,
    driftCategorical: names,
    driftNewCategory: names,
    driftNewCategoryShare: fraction.default(0.1),
    malformedRate: fraction.default(0),
    malformedKinds: z.array(z.enum(REJECT_REASONS)).nullable().default(null),
    longLines: z.number().int().min(0).default(0),
    longLineBytes: z.number().int().min(1024).default(2 * 1024 * 1024),
    blankRate: fraction.default(0),
    crlfRate: fraction.default(0),
    outOfOrderRate: fraction.default(0.01),
    outOfOrderJitterMs: z.number().int().min(0).default(5000),
  })
  .superRefine((o, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (o.blankRate + o.malformedRate >= 1) fail('malformedRate', 'blankRate + malformedRate must stay below 1');
    const allowed = malformedKindsFor(o.format, o.task);
    for (const k of o.malformedKinds ?? []) {
      if (!allowed.includes(k)) fail('malformedKinds', `"${k}" is not emitted for ${o.format}/${o.task}; expected some of ${allowed.join(', ')} (too_long comes from longLines)`);
    }
    if (o.malformedKinds?.length === 0 && o.malformedRate > 0) fail('malformedKinds', 'empty while malformedRate > 0');
    const numeric = Array.from({ length: o.numericFeatures }, (_, i) => `f${i}`);
    const cats = Array.from({ length: o.categoricalFeatures }, (_, i) => `c${i}`).concat(o.regions.length > 0 ? ['region'] : []);
    for (const [key, known] of [['driftNumeric', numeric], ['driftCategorical', cats], ['driftNewCategory', cats]] as const) {
      for (const f of o[key] ?? []) if (!known.includes(f)) fail(key, `unknown feature "${f}"; expected one of ${known.join(', ') || '(none)'}`);
    }
  });

/** Every option is optional; `resolveOptions` fills the defaults listed by `--help`. */
export type GenOptions = z.input<typeof optionsSchema>;
export type ResolvedGenOptions = Readonly<z.output<typeof optionsSchema>>;

/** The reasons `malformedRate` cycles through for a format and task (too_long comes from longLines). */
export function malformedKindsFor(format: 'jsonl' | 'csv', task: 'classification' | 'regression'): RejectReason[] {
  const shared: RejectReason[] = ['missing_field', 'wrong_type', 'bad_timestamp', 'unknown_model'];
  const head: RejectReason[] = format === 'jsonl' ? ['unparseable', 'not_object'] : ['csv_columns'];
  return [...head, ...shared, ...(task === 'regression' ? (['non_finite'] as const) : [])];
}

export function resolveOptions(opts: GenOptions = {}): ResolvedGenOptions {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new Error(`gen-logs: invalid options: ${issues.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}

type CliKind = 'int' | 'num' | 'str' | 'list';
/** One row per option, so --help and the parser cannot miss one (the Record type checks it). */
const CLI: Record<keyof GenOptions, [CliKind, string, string]> = {
  seed: ['int', 'N', 'PRNG seed (uint32); same options and seed give the same bytes'],
  records: ['int', 'N', 'good records to write; bad and blank lines come on top'],
  format: ['str', 'jsonl|csv', 'output format; CSV has a header and no probabilities column'],
  start: ['str', 'TIME', 'event time of the first record (RFC 3339)'],
  rate: ['num', 'R', 'records per second of event time'],
  arrivals: ['str', 'poisson|even', 'exponential gaps with mean 1/rate, or exactly 1/rate'],
  task: ['str', 'classification|regression', 'what the model predicts'],
  classes: ['int', 'K', 'classes "0".."K-1" (classification)'],
  numericFeatures: ['int', 'N', 'numeric features f0..fN-1 (normal, lognormal, normal, uniform, ...)'],
  categoricalFeatures: ['int', 'M', 'categorical features c0..cM-1 (3-12 values, skewed shares)'],
  regions: ['list', 'A,B,..', 'values of features.region (a segment field); empty for none'],
  model: ['str', 'NAME', 'model name'],
  modelVersion: ['str', 'V', 'model version'],
  secondVersion: ['str', 'V', 'a second model version, used from --second-version-from on (default none)'],
  secondVersionFrom: ['int', 'K', 'record index where the second version starts (default records/2)'],
  labelRate: ['num', 'P', 'share of records that carry a label'],
  latencyMedianMs: ['num', 'MS', 'median of the lognormal latency (errors take 4x)'],
  latencySigma: ['num', 'S', 'sigma of log latency'],
  errorRate: ['num', 'P', 'share of records with status 500 and an error message (they keep a prediction)'],
  missingRate: ['num', 'P', 'share of feature values missing, half as an absent key, half as null (region never)'],
  driftFrom: ['int', 'D', 'record index from which drift is injected (default none: no drift)'],
  driftShift: ['num', 'X', 'mean shift of drifted numeric features, in units of their std'],
  driftNumeric: ['list', 'f0,..', 'numeric features that shift (default f0)'],
  driftCategorical: ['list', 'c0,..', 'categorical features whose shares reverse (default c0)'],
  driftNewCategory: ['list', 'c1,..', 'categorical features that gain a new value (default c1, or c0)'],
  driftNewCategoryShare: ['num', 'P', 'share of the new value after drift'],
  malformedRate: ['num', 'P', 'share of lines that are malformed, cycling through --malformed-kinds'],
  malformedKinds: ['list', 'R,..', 'reject reasons to emit (default: all that fit the format and task)'],
  longLines: ['int', 'N', 'lines longer than --long-line-bytes (reason too_long), spread evenly'],
  longLineBytes: ['int', 'B', 'long lines are exactly B+1 bytes without the newline'],
  blankRate: ['num', 'P', 'share of lines that are empty'],
  crlfRate: ['num', 'P', 'share of lines ending in CRLF'],
  outOfOrderRate: ['num', 'P', 'share of records whose ts is moved back by up to the jitter'],
  outOfOrderJitterMs: ['int', 'MS', 'largest backward move; no line is later than this'],
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function helpText(): string {
  const defaults = resolveOptions({});
  const rows = Object.entries(CLI).map(([key, [, arg, help]]) => {
    const d = defaults[key as keyof ResolvedGenOptions];
    // A null default means "derived"; its help text says from what.
    const shown = d === null ? '' : ` (default ${Array.isArray(d) ? d.join(',') || '""' : String(d)})`;
    return [`--${kebab(key)} ${arg}`, help + shown];
  });
  rows.unshift(['--out FILE', 'write here (truncating); stdout when absent'], ['--help', 'this text']);
  const width = Math.max(...rows.map(([flag]) => flag?.length ?? 0));
  return [
    'Usage: node --import tsx scripts/gen-logs.ts [--out FILE] [options]',
    'Writes seeded inference-log lines (JSONL or CSV); a one-line JSON summary goes to stderr.',
    '',
    ...rows.map(([flag, help]) => `  ${(flag ?? '').padEnd(width)}  ${help}`),
  ].join('\n');
}

/** Turns argv into options; throws with the flag named on anything it cannot read. */
export function parseCli(argv: string[]): { out: string | null; help: boolean; options: GenOptions } {
  const spec = Object.fromEntries(Object.keys(CLI).map((k) => [kebab(k), { type: 'string' as const }]));
  const parsed = parseArgs({ args: argv, options: { ...spec, out: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
  const values: Record<string, string | boolean | undefined> = parsed.values;
  const options: Record<string, unknown> = {};
  for (const [key, [kind]] of Object.entries(CLI)) {
    const raw = values[kebab(key)];
    if (typeof raw !== 'string') continue;
    if (kind === 'int' || kind === 'num') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`--${kebab(key)}: expected a number, got "${raw}"`);
      options[key] = n;
    } else options[key] = kind === 'list' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw;
  }
  resolveOptions(options as GenOptions);
  return { out: typeof values.out === 'string' ? values.out : null, help: values.help === true, options: options as GenOptions };
}
