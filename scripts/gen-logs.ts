// Seeded generator of inference logs for tests, the process test and benchmarks. Good records follow
// realistic distributions (drift optional, from a chosen record on); every malformed line names the
// rejection reason the agent's parser must give it. Same options, same bytes; good records depend only
// on the options that shape them, never on the bad/blank/CRLF rates (those draw from their own stream).

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { REJECT_REASONS, type RejectReason } from '../agent/records/types.js';

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

export interface GenLine {
  /** The line without its ending. */
  text: string;
  kind: 'good' | 'bad' | 'blank' | 'header';
  /** Set on bad lines: what the agent's parser must answer. */
  reason?: RejectReason;
  /** Event time written on a good line, epoch ms. */
  ts?: number;
  eol: '\n' | '\r\n';
}

export interface GenSummary {
  lines: number;
  good: number;
  bad: number;
  blank: number;
  /** 1 for CSV (its header line), else 0; lines = good + bad + blank + header. */
  header: number;
  bad_by_reason: Record<RejectReason, number>;
  /** Earliest and latest event time among good lines (RFC 3339), null when there are none. */
  first_ts: string | null;
  last_ts: string | null;
  bytes: number;
}

export interface NumericFeatureSpec {
  name: string;
  dist: 'normal' | 'lognormal' | 'uniform';
  /** normal: mean and std; lognormal: mu and sigma of the log; uniform: low and high. */
  a: number;
  b: number;
  mean: number;
  std: number;
  /** Added to every value from driftFrom on (driftShift x std), 0 when not drifted. */
  shift: number;
}

export interface CategoricalFeatureSpec {
  name: string;
  values: string[];
  /** Shares of `values`, before drift; after drift a share-changed feature uses them reversed. */
  shares: number[];
  shareDrift: boolean;
  /** The category that appears only after drift (with driftNewCategoryShare), or null. */
  newValue: string | null;
}

export interface DatasetSchema {
  numeric: NumericFeatureSpec[];
  /** c0..cM-1, then `region` when regions are configured. */
  categorical: CategoricalFeatureSpec[];
  classes: string[];
}

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

/** Small, fast and seedable: mulberry32 for uniforms, Box-Muller (both halves used) for normals. */
class Rng {
  private state: number;
  private spare = Number.NaN;
  constructor(seed: number) {
    this.state = seed | 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Independent streams from one seed, so adding bad lines never changes the good ones. */
function streamSeed(seed: number, stream: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

const WORDS = [
  ['red', 'green', 'blue', 'black', 'white', 'silver', 'yellow', 'orange', 'purple', 'brown', 'pink', 'grey', 'teal'],
  ['mobile', 'desktop', 'tablet', 'kiosk', 'tv', 'watch', 'console', 'car', 'speaker', 'camera', 'router', 'printer', 'drone'],
  ['web', 'app', 'pos', 'atm', 'phone', 'mail', 'partner', 'branch', 'chat', 'sms', 'api', 'batch', 'ivr'],
  ['basic', 'plus', 'pro', 'team', 'business', 'enterprise', 'trial', 'student', 'family', 'legacy', 'edu', 'gov', 'ngo'],
  ['visa', 'mastercard', 'amex', 'paypal', 'applepay', 'googlepay', 'sepa', 'ach', 'wire', 'crypto', 'giftcard', 'klarna', 'cash'],
  ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'sv', 'ja', 'ko', 'zh', 'ar'],
] as const;
const ERRORS = ['model timeout after 1000 ms', 'CUDA error: out of memory', 'feature store unavailable', 'upstream reset, retry later'];

export function describeDataset(opts: GenOptions = {}): DatasetSchema {
  return buildDataset(resolveOptions(opts));
}

function buildDataset(o: ResolvedGenOptions): DatasetSchema {
  const rng = new Rng(streamSeed(o.seed, 2));
  const drifting = o.driftFrom !== null;
  const driftNum = new Set(o.driftNumeric ?? (o.numericFeatures > 0 ? ['f0'] : []));
  const driftCat = new Set(o.driftCategorical ?? (o.categoricalFeatures > 0 ? ['c0'] : []));
  const driftNew = new Set(o.driftNewCategory ?? (o.categoricalFeatures > 1 ? ['c1'] : o.categoricalFeatures > 0 ? ['c0'] : []));
  const numeric = Array.from({ length: o.numericFeatures }, (_, i): NumericFeatureSpec => {
    const dist = (['normal', 'lognormal', 'normal', 'uniform'] as const)[i % 4] ?? 'normal';
    let a: number, b: number, mean: number, std: number;
    if (dist === 'normal') [a, b] = [mean, std] = [round(-20 + 120 * rng.next(), 2), round(0.5 + 20 * rng.next(), 2)];
    else if (dist === 'lognormal') {
      [a, b] = [round(3 * rng.next(), 2), round(0.3 + 0.7 * rng.next(), 2)];
      mean = Math.exp(a + (b * b) / 2);
      std = Math.sqrt((Math.exp(b * b) - 1) * Math.exp(2 * a + b * b));
    } else {
      a = round(-10 + 20 * rng.next(), 2);
      b = round(a + 1 + 50 * rng.next(), 2);
      [mean, std] = [(a + b) / 2, (b - a) / Math.sqrt(12)];
    }
    const name = `f${i}`;
    return { name, dist, a, b, mean, std, shift: drifting && driftNum.has(name) ? o.driftShift * std : 0 };
  });
  const categorical = Array.from({ length: o.categoricalFeatures }, (_, i) => {
    const theme = WORDS[i % WORDS.length] ?? WORDS[0];
    const suffix = i >= WORDS.length ? String(Math.floor(i / WORDS.length)) : '';
    const n = 3 + rng.int(10);
    return { name: `c${i}`, words: theme.map((w) => w + suffix), n };
  });
  if (o.regions.length > 0) categorical.push({ name: 'region', words: [...o.regions, 'other-region'], n: o.regions.length });
  return {
    numeric,
    categorical: categorical.map(({ name, words, n }): CategoricalFeatureSpec => {
      const skew = 0.8 + 0.8 * rng.next();
      const raw = Array.from({ length: n }, (_, k) => 1 / (k + 1) ** skew);
      const total = raw.reduce((s, w) => s + w, 0);
      const values = words.slice(0, n);
      let extra = words[n] ?? `${name}-new`;
      while (values.includes(extra)) extra += '-new';
      return { name, values, shares: raw.map((w) => w / total), shareDrift: drifting && driftCat.has(name), newValue: drifting && driftNew.has(name) ? extra : null };
    }),
    classes: o.task === 'classification' ? Array.from({ length: o.classes }, (_, k) => String(k)) : [],
  };
}

function round(x: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

const MILLIS = Array.from({ length: 1000 }, (_, k) => String(k).padStart(3, '0'));
const WHOLE = Array.from({ length: 10_000 }, (_, k) => String(k));
const NEGATIVE = WHOLE.map((w) => `-${w}`);
const DECIMALS = Array.from({ length: 10_000 }, (_, k) => (k === 0 ? '' : `.${String(k).padStart(4, '0')}`.replace(/0+$/, '')));

/** 4 decimals keep lines short; built from integers because double-to-string dominated the profile. */
function num4(x: number): string {
  let m = Math.round(x * 1e4);
  if (!(Math.abs(m) < 1e15)) return String(x);
  if (m === 0) return '0';
  const table = m < 0 ? NEGATIVE : WHOLE;
  if (m < 0) m = -m;
  const whole = Math.floor(m / 1e4);
  return (table[whole] ?? (table === WHOLE ? '' : '-') + whole) + DECIMALS[m - whole * 1e4]!;
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

interface CatPlan {
  spec: CategoricalFeatureSpec;
  cum: number[];
  cumDrift: number[];
  /** Encoded values; index values.length is the post-drift new category. */
  tokens: string[];
  missable: boolean;
}

/** Everything resolved once per run: encoded tokens, cumulative shares and the hidden model's weights. */
interface Plan {
  o: ResolvedGenOptions;
  data: DatasetSchema;
  cats: CatPlan[];
  enc: (s: string) => string;
  /** JSON keys of the features, bare for the first one written and with the separator for the rest. */
  keys: string[];
  sepKeys: string[];
  classKeys: string[];
  classTokens: string[];
  modelTok: string;
  otherModelTok: string;
  versionToks: [string, string];
  versionFrom: number;
  driftFrom: number;
  errorToks: string[];
  nullTok: string;
  /** Per output (class, or 1 for regression): weights of the standardised numerics. */
  weights: Float64Array[];
  /** Per output: effect of each category, flat, feature c's values starting at catOffset[c]. */
  effects: Float64Array[];
  catOffset: Int32Array;
  /** Scratch space for drawRecord, reused so a record allocates only its output. */
  z: Float64Array;
  catIdx: Int32Array;
  scores: Float64Array;
  isoSecond: number;
  isoPrefix: string;
  startMs: number;
  header: string;
}

function cumulative(shares: number[]): number[] {
  let acc = 0;
  return shares.map((s) => (acc += s));
}

function buildPlan(o: ResolvedGenOptions): Plan {
  const data = buildDataset(o);
  const enc = o.format === 'jsonl' ? (s: string) => JSON.stringify(s) : csvCell;
  const rng = new Rng(streamSeed(o.seed, 3));
  const outputs = o.task === 'classification' ? o.classes : 1;
  const scale = 2 / Math.sqrt(Math.max(1, data.numeric.length + data.categorical.length));
  const other = o.model === 'other-model' ? 'other-model-2' : 'other-model';
  const version2 = o.secondVersion ?? o.modelVersion;
  return {
    o,
    data,
    cats: data.categorical.map((spec) => ({
      spec,
      cum: cumulative(spec.shares),
      cumDrift: cumulative(spec.shareDrift ? [...spec.shares].reverse() : spec.shares),
      tokens: [...spec.values, spec.newValue ?? ''].map(enc),
      missable: spec.name !== 'region',
    })),
    enc,
    keys: [...data.numeric, ...data.categorical].map((f) => `"${f.name}": `),
    sepKeys: [...data.numeric, ...data.categorical].map((f) => `, "${f.name}": `),
    classKeys: data.classes.map((c) => `${JSON.stringify(c)}: `),
    classTokens: data.classes.map(enc),
    modelTok: enc(o.model),
    otherModelTok: enc(other),
    versionToks: [enc(o.modelVersion), enc(version2)],
    versionFrom: o.secondVersion === null ? Infinity : (o.secondVersionFrom ?? Math.floor(o.records / 2)),
    driftFrom: o.driftFrom ?? Infinity,
    errorToks: ERRORS.map(enc),
    nullTok: o.format === 'jsonl' ? 'null' : '',
    weights: Array.from({ length: outputs }, () => Float64Array.from(data.numeric, () => scale * rng.normal())),
    effects: Array.from({ length: outputs }, () => Float64Array.from(data.categorical.flatMap((c) => c.values), () => scale * rng.normal())),
    catOffset: Int32Array.from(data.categorical, (_, c) => data.categorical.slice(0, c).reduce((n, f) => n + f.values.length, 0)),
    z: new Float64Array(data.numeric.length),
    catIdx: new Int32Array(data.categorical.length),
    scores: new Float64Array(outputs),
    isoSecond: Number.NaN,
    isoPrefix: '',
    startMs: Date.parse(o.start),
    header: [
      'ts,model,model_version,request_id',
      ...[...data.numeric, ...data.categorical].map((f) => `features.${f.name}`),
      'prediction,confidence,label,latency_ms,status,error',
    ].join(','),
  };
}

/** One record, its fields already encoded for the output format (JSON tokens or CSV cells). */
interface Rec {
  ts: string;
  version: string;
  requestId: string;
  /** undefined: key absent (JSONL) / empty cell (CSV). */
  feats: (string | undefined)[];
  prediction: string;
  confidence: string | null;
  probs: string[] | null;
  label: string | null;
  latency: string;
  status: string;
  error: string | null;
}

/** Raw replacements used to build bad lines; prediction null drops the field. */
interface Patch {
  ts?: string;
  model?: string;
  prediction?: string | null;
  latency?: string;
  error?: string;
  extra?: string;
}
const NO_PATCH: Patch = {};

function pick(cum: number[], u: number): number {
  let k = 0;
  while (k < cum.length - 1 && u >= (cum[k] ?? 1)) k++;
  return k;
}

function drawRecord(p: Plan, rng: Rng, i: number, tsMs: number, requestId: string): Rec {
  const { o, data, z, catIdx, scores } = p;
  const drifted = i >= p.driftFrom;
  const feats: (string | undefined)[] = [];
  for (let j = 0; j < data.numeric.length; j++) {
    const f = data.numeric[j]!;
    let x = f.dist === 'normal' ? f.a + f.b * rng.normal() : f.dist === 'lognormal' ? Math.exp(f.a + f.b * rng.normal()) : f.a + (f.b - f.a) * rng.next();
    if (drifted) x += f.shift;
    if (o.missingRate > 0 && rng.next() < o.missingRate) {
      feats.push(rng.next() < 0.5 ? p.nullTok : undefined);
      z[j] = 0;
    } else {
      feats.push(num4(x));
      z[j] = (x - f.mean) / f.std;
    }
  }
  for (let c = 0; c < p.cats.length; c++) {
    const cat = p.cats[c]!;
    const fresh = drifted && cat.spec.newValue !== null && rng.next() < o.driftNewCategoryShare;
    const idx = fresh ? cat.spec.values.length : pick(drifted ? cat.cumDrift : cat.cum, rng.next());
    if (cat.missable && o.missingRate > 0 && rng.next() < o.missingRate) {
      feats.push(rng.next() < 0.5 ? p.nullTok : undefined);
      catIdx[c] = -1;
    } else {
      feats.push(cat.tokens[idx]);
      catIdx[c] = idx < cat.spec.values.length ? p.catOffset[c]! + idx : -1;
    }
  }
  let max = -Infinity;
  let best = 0;
  for (let k = 0; k < scores.length; k++) {
    const w = p.weights[k]!;
    const eff = p.effects[k]!;
    let s = 0;
    for (let j = 0; j < w.length; j++) s += w[j]! * z[j]!;
    for (let c = 0; c < catIdx.length; c++) if (catIdx[c]! >= 0) s += eff[catIdx[c]!]!;
    scores[k] = s;
    if (s > max) [max, best] = [s, k];
  }
  let prediction: string;
  let confidence: string | null = null;
  let probs: string[] | null = null;
  let label: string | null = null;
  const labelled = rng.next() < o.labelRate;
  if (o.task === 'regression') {
    const y = 100 + 25 * scores[0]!;
    prediction = num4(y);
    if (labelled) label = num4(y + 8 * rng.normal());
  } else {
    let total = 0;
    for (let k = 0; k < scores.length; k++) total += Math.exp(scores[k]! - max);
    prediction = p.classTokens[best]!;
    confidence = num4(1 / total);
    probs = [];
    for (let k = 0; k < scores.length; k++) probs.push(num4(Math.exp(scores[k]! - max) / total));
    if (labelled) {
      // Ground truth is the scores plus noise the model cannot see: accuracy is high but not 1.
      let truth = 0;
      let top = -Infinity;
      for (let k = 0; k < scores.length; k++) {
        const noisy = scores[k]! + 1.2 * rng.normal();
        if (noisy > top) [top, truth] = [noisy, k];
      }
      label = p.classTokens[truth]!;
    }
  }
  const failed = rng.next() < o.errorRate;
  const latency = o.latencyMedianMs * Math.exp(o.latencySigma * rng.normal()) * (failed ? 4 : 1);
  return {
    ts: isoTime(p, tsMs),
    version: p.versionToks[i >= p.versionFrom ? 1 : 0],
    requestId,
    feats,
    prediction,
    confidence,
    probs,
    label,
    latency: num4(Math.max(0.1, Math.round(latency * 10) / 10)),
    status: failed ? '500' : '200',
    error: failed ? p.errorToks[rng.int(ERRORS.length)]! : null,
  };
}

/** Date#toISOString costs more than the rest of a record; the second changes only every ~100 lines. */
function isoTime(p: Plan, ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== p.isoSecond) {
    p.isoSecond = sec;
    p.isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
  }
  return p.isoPrefix + MILLIS[ms - sec * 1000]! + 'Z';
}

function jsonLine(p: Plan, r: Rec, patch: Patch): string {
  let s = `{"ts": ${patch.ts ?? `"${r.ts}"`}, "model": ${patch.model ?? p.modelTok}, "model_version": ${r.version}, "request_id": "${r.requestId}", "features": {`;
  let keys = p.keys;
  for (let j = 0; j < r.feats.length; j++) {
    const v = r.feats[j];
    if (v === undefined) continue;
    s += keys[j]! + v;
    keys = p.sepKeys;
  }
  s += '}';
  const prediction = patch.prediction === undefined ? r.prediction : patch.prediction;
  if (prediction !== null) s += `, "prediction": ${prediction}`;
  if (r.confidence !== null) s += `, "confidence": ${r.confidence}`;
  if (r.probs !== null) {
    s += ', "probabilities": {';
    for (let k = 0; k < r.probs.length; k++) s += (k === 0 ? '' : ', ') + p.classKeys[k]! + r.probs[k]!;
    s += '}';
  }
  if (r.label !== null) s += `, "label": ${r.label}`;
  s += `, "latency_ms": ${patch.latency ?? r.latency}, "status": ${r.status}`;
  if (r.error !== null) s += `, "error": ${r.error}`;
  if (patch.extra !== undefined) s += `, ${patch.extra}`;
  return s + '}';
}

function csvCells(p: Plan, r: Rec, patch: Patch): string[] {
  const cells = [patch.ts ?? r.ts, patch.model ?? p.modelTok, r.version, r.requestId];
  for (const v of r.feats) cells.push(v ?? '');
  const prediction = patch.prediction === undefined ? r.prediction : patch.prediction;
  cells.push(prediction ?? '', r.confidence ?? '', r.label ?? '', patch.latency ?? r.latency, r.status, patch.error ?? r.error ?? '');
  return cells;
}

function render(p: Plan, r: Rec, patch: Patch): string {
  return p.o.format === 'jsonl' ? jsonLine(p, r, patch) : csvCells(p, r, patch).join(',');
}

function badLine(p: Plan, rng: Rng, k: number, reason: RejectReason, i: number, tsMs: number): string {
  if (reason === 'not_object') {
    const variant = k % 3;
    if (variant === 0) return `[${rng.int(10)}, ${rng.int(10)}, ${rng.int(10)}]`;
    return variant === 1 ? num4(1000 * rng.next()) : '"prediction served"';
  }
  const r = drawRecord(p, rng, i, tsMs, `${reason === 'too_long' ? 'r-long' : 'r-bad'}-${k}`);
  switch (reason) {
    case 'unparseable': {
      const full = jsonLine(p, r, NO_PATCH);
      return full.slice(0, 10 + rng.int(full.length - 12));
    }
    case 'missing_field':
      return render(p, r, { prediction: null });
    case 'wrong_type':
      return render(p, r, { latency: p.enc('fast') });
    case 'non_finite':
      // The bare token, as Python's json.dumps writes float('nan').
      return render(p, r, { prediction: 'NaN' });
    case 'bad_timestamp':
      return render(p, r, { ts: p.enc('yesterday') });
    case 'unknown_model':
      return render(p, r, { model: p.otherModelTok });
    case 'csv_columns': {
      const cells = csvCells(p, r, NO_PATCH);
      if (k % 2 === 0) cells.push('surplus');
      else cells.length -= 2;
      return cells.join(',');
    }
    case 'too_long': {
      // Exactly one byte over the cap, so the cap is exceeded whether or not a parser counts the newline.
      const build = (pad: string) =>
        p.o.format === 'jsonl' ? jsonLine(p, r, { extra: `"debug": "${pad}"` }) : csvCells(p, r, { error: pad }).join(',');
      return build('x'.repeat(Math.max(0, p.o.longLineBytes + 1 - Buffer.byteLength(build('')))));
    }
  }
}

/** Lazily yields the lines; options are validated at the call, before the first line. */
export function generateLines(opts: GenOptions = {}): Generator<GenLine> {
  return lines(buildPlan(resolveOptions(opts)));
}

function* lines(p: Plan): Generator<GenLine> {
  const o = p.o;
  const recRng = new Rng(streamSeed(o.seed, 0));
  const lineRng = new Rng(streamSeed(o.seed, 1));
  const kinds = o.malformedKinds ?? malformedKindsFor(o.format, o.task);
  const eol = (): '\n' | '\r\n' => (o.crlfRate > 0 && lineRng.next() < o.crlfRate ? '\r\n' : '\n');
  const longAt = (k: number) => Math.floor(((k + 1) * o.records) / (o.longLines + 1));
  const step = 1000 / o.rate;
  if (o.format === 'csv') yield { text: p.header, kind: 'header', eol: eol() };
  let t = p.startMs;
  let bad = 0;
  let long = 0;
  for (let i = 0; i <= o.records; ) {
    for (; long < o.longLines && (longAt(long) <= i || i === o.records); long++) {
      yield { text: badLine(p, lineRng, long, 'too_long', i, Math.floor(t)), kind: 'bad', reason: 'too_long', eol: eol() };
    }
    if (i === o.records) break;
    const u = lineRng.next();
    if (u < o.blankRate) {
      yield { text: '', kind: 'blank', eol: eol() };
      continue;
    }
    if (u < o.blankRate + o.malformedRate) {
      const reason = kinds[bad % kinds.length] ?? 'unparseable';
      yield { text: badLine(p, lineRng, bad++, reason, i, Math.floor(t)), kind: 'bad', reason, eol: eol() };
      continue;
    }
    if (i > 0) t = o.arrivals === 'even' ? p.startMs + i * step : t - step * Math.log(1 - recRng.next());
    let ts = Math.floor(t);
    // Only backwards: a line is never later than its true time, so no line is more than the jitter late.
    if (o.outOfOrderRate > 0 && recRng.next() < o.outOfOrderRate) ts = Math.max(p.startMs, Math.floor(t - recRng.next() * o.outOfOrderJitterMs));
    const rec = drawRecord(p, recRng, i, ts, `r-${i}`);
    yield { text: render(p, rec, NO_PATCH), kind: 'good', ts, eol: eol() };
    i++;
  }
}

class Tally {
  private readonly s: GenSummary = {
    lines: 0, good: 0, bad: 0, blank: 0, header: 0,
    bad_by_reason: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    first_ts: null, last_ts: null, bytes: 0,
  };
  private minTs = Infinity;
  private maxTs = -Infinity;
  add(line: GenLine): void {
    this.s.lines++;
    this.s[line.kind]++;
    if (line.reason !== undefined) this.s.bad_by_reason[line.reason]++;
    if (line.ts !== undefined) {
      this.minTs = Math.min(this.minTs, line.ts);
      this.maxTs = Math.max(this.maxTs, line.ts);
    }
  }
  addBytes(n: number): void {
    this.s.bytes += n;
  }
  summary(): GenSummary {
    const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
    return { ...this.s, bad_by_reason: { ...this.s.bad_by_reason }, first_ts: iso(this.minTs), last_ts: iso(this.maxTs) };
  }
}

/**
 * Encodes lines straight into one reused 2 MiB buffer (a string rope of the same size took half again
 * as long) and yields views of it: a view is valid only until the next one is asked for.
 */
function* byteChunks(lineIter: Iterable<GenLine>, tally: Tally): Generator<Buffer> {
  const buf = Buffer.allocUnsafe(2 << 20);
  let off = 0;
  for (const line of lineIter) {
    tally.add(line);
    // 3 bytes per UTF-16 unit is the worst case, so a write that fits this bound is never cut short.
    const worst = 3 * (line.text.length + 2);
    if (off + worst > buf.length && off > 0) {
      yield buf.subarray(0, off);
      off = 0;
    }
    if (worst > buf.length) yield Buffer.from(line.text + line.eol);
    else {
      off += buf.write(line.text, off);
      off += buf.write(line.eol, off);
    }
  }
  if (off > 0) yield buf.subarray(0, off);
}

/** Writes (truncating; parent folders made) the file synchronously and returns what was written. */
export function writeLogFile(path: string, opts: GenOptions = {}): GenSummary {
  const lineIter = generateLines(opts);
  const tally = new Tally();
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    for (const chunk of byteChunks(lineIter, tally)) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      tally.addBytes(chunk.length);
    }
  } finally {
    closeSync(fd);
  }
  return tally.summary();
}

/** Writes to a stream (stdout, a socket), waiting for 'drain' so memory stays bounded. */
export async function writeLogStream(out: NodeJS.WritableStream, opts: GenOptions = {}): Promise<GenSummary> {
  const lineIter = generateLines(opts);
  const tally = new Tally();
  for (const chunk of byteChunks(lineIter, tally)) {
    tally.addBytes(chunk.length);
    // The stream keeps what it is given until flushed, and the view is about to be overwritten.
    if (!out.write(Buffer.from(chunk))) await once(out, 'drain');
  }
  return tally.summary();
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

async function main(argv: string[]): Promise<number> {
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\nTry --help.\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const started = performance.now();
  let summary: GenSummary;
  if (cli.out !== null) summary = writeLogFile(cli.out, cli.options);
  else {
    // A closed pipe (`| head`) ends the run quietly, like other line tools.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
    summary = await writeLogStream(process.stdout, cli.options);
  }
  const elapsed_ms = Math.round(performance.now() - started);
  process.stderr.write(JSON.stringify({ out: cli.out, ...summary, elapsed_ms }) + '\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`gen-logs: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
