// What one run resolves once before the first line: encoded tokens, cumulative shares, the hidden
// model's weights, the CSV header, and the fast number and time encoders that records are written with.

import { buildDataset, type CategoricalFeatureSpec, type DatasetSchema } from './dataset.js';
import type { ResolvedGenOptions } from './options.js';
import { Rng, streamSeed } from './rng.js';

export const ERRORS = ['model timeout after 1000 ms', 'CUDA error: out of memory', 'feature store unavailable', 'upstream reset, retry later'];

const MILLIS = Array.from({ length: 1000 }, (_, k) => String(k).padStart(3, '0'));
const WHOLE = Array.from({ length: 10_000 }, (_, k) => String(k));
const NEGATIVE = WHOLE.map((w) => `-${w}`);
const DECIMALS = Array.from({ length: 10_000 }, (_, k) => (k === 0 ? '' : `.${String(k).padStart(4, '0')}`.replace(/0+$/, '')));

/** 4 decimals keep lines short; built from integers because double-to-string dominated the profile. */
export function num4(x: number): string {
  let m = Math.round(x * 1e4);
  if (!(Math.abs(m) < 1e15)) return String(x);
  if (m === 0) return '0';
  const table = m < 0 ? NEGATIVE : WHOLE;
  if (m < 0) m = -m;
  const whole = Math.floor(m / 1e4);
  return (table[whole] ?? (table === WHOLE ? '' : '-') + whole) + DECIMALS[m - whole * 1e4]!;
}

export function csvCell(s: string): string {
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
export interface Plan {
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

export function buildPlan(o: ResolvedGenOptions): Plan {
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

/** Date#toISOString costs more than the rest of a record; the second changes only every ~100 lines. */
export function isoTime(p: Plan, ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== p.isoSecond) {
    p.isoSecond = sec;
    p.isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
  }
  return p.isoPrefix + MILLIS[ms - sec * 1000]! + 'Z';
}
