// From one parsed line (a JSON object, or a CSV row expanded into one) to an InferenceRecord, using
// the model's field mapping. Both formats share this, so a field means the same thing in either.

import type { FieldMapping, ModelConfig } from '../config/types.js';
import { FeatureProblem, FeatureTypes, PendingTypes, parseNumber, readFeatures } from './feature-types.js';
import type { FeatureValue, InferenceRecord, ParseResult, RejectReason } from './types.js';

export type Path = readonly string[];

const EXAMPLE_CHARS = 512;
const ERROR_CHARS = 200;
const GOT_CHARS = 40;
/** Epoch numbers below this are seconds: 1e11 s is the year 5138, 1e11 ms is March 1973. */
const EPOCH_SECONDS_BELOW = 1e11;

export function compilePath(path: string): Path {
  const keys = path.split('.');
  if (keys.includes('__proto__')) throw new Error(`field path "${path}" may not contain "__proto__"`);
  return keys;
}

/** Only an inherited member such as "constructor" can be a function; the line did not have it. */
function own(v: unknown): unknown {
  return typeof v === 'function' ? undefined : v;
}

/** The value at a dot path, or undefined when any step is missing or not an object. */
export function readPath(root: object, path: Path): unknown {
  let cur: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[path[i]!];
  }
  return own(cur);
}

/** Cuts a string to `max` UTF-16 units (never inside a surrogate pair) and marks the cut with "…". */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end) + '…';
}

/** How a value reads in a rejection's detail. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(clip(v, GOT_CHARS));
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

export function reject(reason: RejectReason, detail: string, line: string, ts: number | null): ParseResult {
  return { ok: false, rejection: { reason, detail, example: clip(line, EXAMPLE_CHARS), ts } };
}

function wrongType(path: string, expected: string, got: unknown, line: string, ts: number | null): ParseResult {
  return reject('wrong_type', `${path}: expected ${expected}, got ${describe(got)}`, line, ts);
}

function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM|±HH]` without Date.parse. A time with no offset
 * is read as UTC (Date.parse would use the device's zone). NaN for an impossible date in this layout
 * (Date.parse would roll 02-30 into March); undefined when the text has another layout.
 */
function parseIsoFast(s: string): number | undefined {
  const hi = twoDigits(s, 0);
  const lo = twoDigits(s, 2);
  if (hi < 0 || lo < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return undefined;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const year = hi * 100 + lo;
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  const second = twoDigits(s, 17);
  if (month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  // Date.UTC maps years 0-99 to 19xx; those go to the fallback.
  if (year < 100) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 60) return NaN;
  let i = 19;
  let ms = 0;
  const dot = s.charCodeAt(i);
  if (dot === 46 || dot === 44) {
    i++;
    let scale = 100;
    const start = i;
    for (let d = s.charCodeAt(i) - 48; d >= 0 && d <= 9; d = s.charCodeAt(++i) - 48) {
      ms += d * scale;
      scale /= 10;
    }
    if (i === start) return NaN;
    ms = Math.floor(ms);
  }
  let offsetMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = twoDigits(s, i + 1);
    if (oh < 0) return undefined;
    i += 3;
    if (s.charCodeAt(i) === 58) i++;
    let om = 0;
    if (i < s.length) {
      om = twoDigits(s, i);
      if (om < 0) return undefined;
      i += 2;
    }
    if (oh > 23 || om > 59) return NaN;
    offsetMin = (oh * 60 + om) * (z === 45 ? -1 : 1);
  }
  if (i !== s.length) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

function epochMs(n: number): number {
  if (!Number.isFinite(n)) return NaN;
  return Math.round(Math.abs(n) < EPOCH_SECONDS_BELOW ? n * 1000 : n);
}

/** Event time in epoch ms from an RFC 3339 / ISO 8601 string or an epoch number; NaN when unusable. */
export function parseTimestamp(v: unknown): number {
  if (typeof v === 'number') return epochMs(v);
  if (typeof v !== 'string') return NaN;
  if (v.length >= 19) {
    const t = parseIsoFast(v);
    if (t !== undefined) return t;
  }
  const n = parseNumber(v);
  if (n !== undefined) return epochMs(n);
  return Date.parse(v);
}

function toClass(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseNumber(v);
  return undefined;
}

/** string or number as text; "" counts as missing. Undefined for a wrong type. */
function toText(v: unknown): string | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function toErrorText(v: unknown): string | null {
  if (v === null || v === undefined || v === '' || v === false) return null;
  if (typeof v !== 'object') return clip(String(v), ERROR_CHARS);
  try {
    return clip(JSON.stringify(v), ERROR_CHARS);
  } catch {
    // Only nesting deep enough to exhaust the stack gets here; the line still counts.
    return 'error value too deeply nested to print';
  }
}

/** The number-valued entries of an object already checked to hold only numbers and nulls. */
function numbersOnly(src: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in src) {
    const v = src[key];
    if (typeof v === 'number' && key !== '__proto__') out[key] = v;
  }
  return out;
}

const CLASS_EXPECTED = 'a class label (string, number or boolean)';

interface TargetProblem {
  reason: RejectReason;
  detail: string;
}
const NUMBER_EXPECTED = 'a number';

/** An object with one entry per field of the mapping. */
function mapFields<T>(fields: Array<keyof FieldMapping>, value: (name: keyof FieldMapping) => T): { [K in keyof FieldMapping]: T } {
  return Object.fromEntries(fields.map((name) => [name, value(name)])) as { [K in keyof FieldMapping]: T };
}

/** One model's compiled field mapping. Not shared between models; parse calls must not overlap. */
export class RecordMapper {
  private readonly model: string;
  private readonly classification: boolean;
  private readonly paths: { readonly [K in keyof FieldMapping]: Path };
  /**
   * The key of each one-step path, else null. map() reads these with a load at its own call site,
   * which stays monomorphic, where readPath's one shared load sees every field name.
   */
  private readonly keys: { readonly [K in keyof FieldMapping]: string | null };
  private readonly names: FieldMapping;
  private readonly segmentPaths: Path[];
  private readonly segmentNames: string[];
  private readonly pending = new PendingTypes();
  private readonly delayedLabels: boolean;

  constructor(
    model: ModelConfig,
    private readonly types: FeatureTypes,
  ) {
    this.model = model.name;
    this.classification = model.task === 'classification';
    this.delayedLabels = model.labels.delayed;
    this.names = { ...model.fields };
    const f = model.fields;
    const fields = Object.keys(f) as Array<keyof FieldMapping>;
    this.paths = mapFields(fields, (name) => compilePath(f[name]));
    this.keys = mapFields(fields, (name) => {
      const path = this.paths[name];
      return path.length === 1 ? path[0]! : null;
    });
    this.segmentNames = [...model.segments];
    this.segmentPaths = this.segmentNames.map(compilePath);
  }

  /** Reads a class label or a regression target, or says why it cannot be one. */
  private target(field: 'prediction' | 'label', v: unknown): string | number | TargetProblem {
    const path = this.names[field];
    if (this.classification) {
      return toClass(v) ?? { reason: 'wrong_type', detail: `${path}: expected ${CLASS_EXPECTED}, got ${describe(v)}` };
    }
    const n = toNumber(v);
    if (n === undefined) return { reason: 'wrong_type', detail: `${path}: expected ${NUMBER_EXPECTED}, got ${describe(v)}` };
    if (!Number.isFinite(n)) return { reason: 'non_finite', detail: `${path}: expected a finite number, got ${describe(v)}` };
    return n;
  }

  map(root: object, line: string, readTimeMs: number): ParseResult {
    const p = this.paths;
    const k = this.keys;
    const obj = root as Record<string, unknown>;
    const names = this.names;
    this.pending.clear();
    const rawTs = (k.ts !== null ? own(obj[k.ts]) : readPath(root, p.ts));
    const hasTs = rawTs !== undefined && rawTs !== null;
    const ts = hasTs ? parseTimestamp(rawTs) : readTimeMs;
    // A rejection keeps the line's own time when it had a usable one, so it lands in the right window.
    const eventTs = hasTs && ts === ts ? ts : null;

    const rawModel = (k.model !== null ? own(obj[k.model]) : readPath(root, p.model));
    if (rawModel !== undefined && rawModel !== null && toClass(rawModel) !== this.model) {
      return reject('unknown_model', `${names.model}: expected "${this.model}", got ${describe(rawModel)}`, line, eventTs);
    }
    if (ts !== ts) {
      return reject('bad_timestamp', `${names.ts}: expected an RFC 3339 time or epoch number, got ${describe(rawTs)}`, line, null);
    }

    const rawPrediction = (k.prediction !== null ? own(obj[k.prediction]) : readPath(root, p.prediction));
    if (rawPrediction === undefined || rawPrediction === null) return this.labelOnly(root, line, ts, eventTs);
    const prediction = this.target('prediction', rawPrediction);
    if (typeof prediction === 'object') return reject(prediction.reason, prediction.detail, line, eventTs);

    let features: Record<string, FeatureValue> = {};
    const rawFeatures = (k.features !== null ? own(obj[k.features]) : readPath(root, p.features));
    if (rawFeatures !== undefined && rawFeatures !== null) {
      if (typeof rawFeatures !== 'object' || Array.isArray(rawFeatures)) {
        return wrongType(names.features, 'an object', rawFeatures, line, eventTs);
      }
      const read = readFeatures(rawFeatures as Record<string, unknown>, this.types, this.pending);
      if (read instanceof FeatureProblem) {
        return wrongType(`${names.features}.${read.name}`, read.expected, read.got, line, eventTs);
      }
      features = read;
    }

    let probabilities: Record<string, number> | null = null;
    let bestProbability: number | null = null;
    let predictedProbability: number | null = null;
    const rawProbabilities = (k.probabilities !== null ? own(obj[k.probabilities]) : readPath(root, p.probabilities));
    if (rawProbabilities !== undefined && rawProbabilities !== null) {
      if (typeof rawProbabilities !== 'object' || Array.isArray(rawProbabilities)) {
        return wrongType(names.probabilities, 'an object of numbers', rawProbabilities, line, eventTs);
      }
      const predictedKey = String(prediction);
      const src = rawProbabilities as Record<string, unknown>;
      let skipped = false;
      for (const key in src) {
        const v = src[key];
        // A CSV row with an empty probability cell has no figure for that class, not a wrong one.
        if (v === null || key === '__proto__') {
          skipped = true;
          continue;
        }
        if (typeof v !== 'number') {
          return wrongType(`${names.probabilities}.${key}`, NUMBER_EXPECTED, v, line, eventTs);
        }
        if (v === v && (bestProbability === null || v > bestProbability)) bestProbability = v;
        if (key === predictedKey) predictedProbability = v;
      }
      // The object is the caller's own (fresh from JSON.parse or a CSV row), so it is kept as it
      // is unless something has to be left out.
      probabilities = skipped ? numbersOnly(src) : (src as Record<string, number>);
    }

    let confidence: number | null = null;
    const rawConfidence = (k.confidence !== null ? own(obj[k.confidence]) : readPath(root, p.confidence));
    if (rawConfidence !== undefined && rawConfidence !== null) {
      const n = toNumber(rawConfidence);
      if (n === undefined) return wrongType(names.confidence, NUMBER_EXPECTED, rawConfidence, line, eventTs);
      confidence = n;
    } else if (probabilities !== null) {
      confidence = predictedProbability ?? bestProbability;
    }

    let label: string | number | null = null;
    const rawLabel = (k.label !== null ? own(obj[k.label]) : readPath(root, p.label));
    if (rawLabel !== undefined && rawLabel !== null) {
      const l = this.target('label', rawLabel);
      if (typeof l === 'object') return reject(l.reason, l.detail, line, eventTs);
      label = l;
    }

    let latencyMs: number | null = null;
    const rawLatency = (k.latency_ms !== null ? own(obj[k.latency_ms]) : readPath(root, p.latency_ms));
    if (rawLatency !== undefined && rawLatency !== null) {
      const n = toNumber(rawLatency);
      if (n === undefined) return wrongType(names.latency_ms, NUMBER_EXPECTED, rawLatency, line, eventTs);
      latencyMs = n;
    }

    const rawVersion = (k.model_version !== null ? own(obj[k.model_version]) : readPath(root, p.model_version));
    const modelVersion = toText(rawVersion);
    if (modelVersion === undefined) return this.notText('model_version', rawVersion, line, eventTs);
    const rawRequestId = (k.request_id !== null ? own(obj[k.request_id]) : readPath(root, p.request_id));
    const requestId = toText(rawRequestId);
    if (requestId === undefined) return this.notText('request_id', rawRequestId, line, eventTs);
    const rawStatus = (k.status !== null ? own(obj[k.status]) : readPath(root, p.status));
    const status = toText(rawStatus);
    if (status === undefined) return this.notText('status', rawStatus, line, eventTs);

    const segments: Record<string, string> = {};
    for (let i = 0; i < this.segmentPaths.length; i++) {
      const v = readPath(root, this.segmentPaths[i]!);
      if (v === undefined || v === null || v === '') continue;
      const s = toClass(v);
      if (s === undefined) {
        return wrongType(this.segmentNames[i]!, 'a string, number or boolean', v, line, eventTs);
      }
      segments[this.segmentNames[i]!] = s;
    }

    if (this.pending.names.length > 0) this.pending.commit(this.types);
    const record: InferenceRecord = {
      ts,
      model: this.model,
      modelVersion: modelVersion ?? 'unknown',
      requestId,
      features,
      prediction,
      confidence,
      probabilities,
      label,
      latencyMs,
      status,
      error: toErrorText(k.error !== null ? own(obj[k.error]) : readPath(root, p.error)),
      segments,
    };
    return { ok: true, record };
  }

  /**
   * A line without a prediction: with delayed labels on, a request_id and a label make it ground
   * truth for an earlier (or later) prediction; anything else is missing its prediction.
   */
  private labelOnly(root: object, line: string, ts: number, eventTs: number | null): ParseResult {
    const p = this.paths;
    const names = this.names;
    const rawLabel = readPath(root, p.label);
    const rawRequestId = readPath(root, p.request_id);
    const hasLabel = rawLabel !== undefined && rawLabel !== null;
    const requestId = toText(rawRequestId);
    if (!this.delayedLabels || !hasLabel) {
      const hint = hasLabel ? ' (a label line of its own needs labels.delayed: true in the model\'s config)' : '';
      return reject('missing_field', `${names.prediction}: required field is missing${hint}`, line, eventTs);
    }
    if (requestId === undefined) return this.notText('request_id', rawRequestId, line, eventTs);
    if (requestId === null) {
      return reject('missing_field', `${names.request_id}: a label without a prediction needs the request_id it belongs to`, line, eventTs);
    }
    const label = this.target('label', rawLabel);
    if (typeof label === 'object') return reject(label.reason, label.detail, line, eventTs);
    return { ok: true, record: null, label: { ts, requestId, label } };
  }

  private notText(field: 'model_version' | 'request_id' | 'status', v: unknown, line: string, ts: number | null): ParseResult {
    return wrongType(this.names[field], 'a string or number', v, line, ts);
  }
}
