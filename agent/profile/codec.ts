// A window profile's state and its persisted form: one CBOR map with a format version `v`. Keys
// are short because summaries repeat per feature and per segment value; every user-chosen name
// (feature, category, segment value) travels as an array element, never as a map key, so nothing
// read from disk can land on an object's prototype.

import { Encoder } from 'cbor-x';
import type { Task } from '../config/types.js';
import { REJECT_REASONS, type RejectReason } from '../records/types.js';
import { CategoricalSummary } from './categorical.js';
import { NumericSummary } from './numeric.js';
import { SystemSummary } from './system.js';
import { ClassificationQuality, RegressionQuality, SegmentSplit, STATUS_CAP } from './quality.js';
import {
  anyNumber,
  array,
  checkWire,
  count,
  finiteNumber,
  literal,
  nullable,
  object,
  oneOf,
  optional,
  present,
  string,
  tagged,
  tuple,
  type Checked,
  type WireCheck,
} from './wire-check.js';

export const PROFILE_FORMAT_VERSION = 1;

/** Thrown by decode for bytes that are not a window profile this build can read. */
export class ProfileDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileDecodeError';
  }
}

// Running moments of extreme inputs may overflow to Infinity or NaN; they must still round-trip.
const float = anyNumber;
const finite = finiteNumber;

const numericCheck = object({
  n: count,
  ms: count,
  nf: count,
  lo: nullable(finite),
  hi: nullable(finite),
  mu: float,
  m2: float,
  d: present,
  // Exact counts on fixed bin edges (NumericSummary), or null. Absent in profiles written before it.
  b: optional(nullable(object({ e: array(finite), c: array(count) }))),
});

const categoricalCheck = object({
  n: count,
  ms: count,
  k: array(string),
  c: array(count),
  o: count,
});

const classQualityCheck = object({
  l: count,
  ok: count,
  a: array(string),
  b: array(string),
  c: array(count),
  o: count,
  f: array(count),
  k: array(count),
  kc: array(count),
});

const regQualityCheck = object({
  l: count,
  se: float,
  sa: float,
  ss: float,
  sp: float,
  np: count,
});

function segmentCheck<Q>(quality: WireCheck<Q>) {
  const stats = object({ n: count, e: count, l: numericCheck, s: categoricalCheck, q: quality });
  // One entry per configured path: [path, [[value, stats]...], stats of the values past the cap or null]
  return array(tuple(string, array(tuple(string, stats)), nullable(stats)));
}
const classSegmentsCheck = segmentCheck(classQualityCheck);
const regSegmentsCheck = segmentCheck(regQualityCheck);

const rejectionCheck = object({
  r: oneOf(REJECT_REASONS),
  n: count,
  x: array(tuple(string, string)),
});

const base = {
  v: literal(PROFILE_FORMAT_VERSION),
  m: string,
  mv: string,
  s: finite,
  e: finite,
  cc: count,
  sc: count,
  n: count,
  lt: count,
  rj: array(rejectionCheck),
  fn: array(tuple(string, numericCheck)),
  fc: array(tuple(string, categoricalCheck)),
  fm: array(tuple(string, count)),
  lat: numericCheck,
  cf: numericCheck,
  st: categoricalCheck,
  er: object({ n: count, m: categoricalCheck }),
  sy: object({ r: count, m: array(tuple(string, numericCheck)), f: array(tuple(string, count)), d: count }),
};

const profileCheck = tagged('t', {
  classification: object({
    ...base,
    p: categoricalCheck,
    y: categoricalCheck,
    q: classQualityCheck,
    sg: classSegmentsCheck,
  }),
  regression: object({
    ...base,
    p: numericCheck,
    y: numericCheck,
    q: regQualityCheck,
    sg: regSegmentsCheck,
  }),
});

export type NumericWire = Checked<typeof numericCheck>;
export type CategoricalWire = Checked<typeof categoricalCheck>;
export type ClassificationQualityWire = Checked<typeof classQualityCheck>;
export type RegressionQualityWire = Checked<typeof regQualityCheck>;
/** A segment value's figures; its quality is of the profile's task. */
export type SegmentStatsWire = Omit<ClassSegmentsWire[number][1][number][1], 'q'> & {
  q: ClassificationQualityWire | RegressionQualityWire;
};
export type SegmentSplitWire = [path: string, values: [string, SegmentStatsWire][], other: SegmentStatsWire | null];
export type RejectionWire = Checked<typeof rejectionCheck>;
export type ProfileWire = Checked<typeof profileCheck>;

// Maps as plain objects without the record extension, so any CBOR decoder can read the bytes.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Kept per reason: the first few examples and an exact count. */
export const EXAMPLES_PER_REASON = 5;
export const ERROR_MESSAGE_CAP = 10;

export interface RejectionExample {
  detail: string;
  example: string;
}
export interface RejectionTally {
  count: number;
  examples: RejectionExample[];
}
export type FeatureSummary = NumericSummary | CategoricalSummary;
export type Outputs =
  | { task: 'classification'; prediction: CategoricalSummary; label: CategoricalSummary; quality: ClassificationQuality }
  | { task: 'regression'; prediction: NumericSummary; label: NumericSummary; quality: RegressionQuality };

/** Everything a WindowProfile holds; the class owns it and this module persists it. */
export interface ProfileState {
  model: string;
  modelVersion: string;
  start: number;
  end: number;
  task: Task;
  categoricalCap: number;
  segmentCap: number;
  n: number;
  late: number;
  rejections: Map<RejectReason, RejectionTally>;
  features: Map<string, FeatureSummary>;
  /** Features seen only as null so far: their type is not known yet. */
  nullOnly: Map<string, number>;
  latency: NumericSummary;
  confidence: NumericSummary;
  out: Outputs;
  status: CategoricalSummary;
  errors: number;
  messages: CategoricalSummary;
  segments: SegmentSplit[];
  system: SystemSummary;
}

const byName = <T>(a: [string, T], b: [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function toWire(st: ProfileState): ProfileWire {
  const fn: [string, NumericWire][] = [];
  const fc: [string, CategoricalWire][] = [];
  for (const [name, s] of [...st.features].sort(byName)) {
    if (s.kind === 'numeric') fn.push([name, s.toWire()]);
    else fc.push([name, s.toWire()]);
  }
  const base = {
    v: PROFILE_FORMAT_VERSION,
    m: st.model,
    mv: st.modelVersion,
    s: st.start,
    e: st.end,
    cc: st.categoricalCap,
    sc: st.segmentCap,
    n: st.n,
    lt: st.late,
    rj: REJECT_REASONS.flatMap((r): RejectionWire[] => {
      const t = st.rejections.get(r);
      return t === undefined ? [] : [{ r, n: t.count, x: t.examples.map((x): [string, string] => [x.detail, x.example]) }];
    }),
    fn,
    fc,
    fm: [...st.nullOnly].sort(byName),
    lat: st.latency.toWire(),
    cf: st.confidence.toWire(),
    st: st.status.toWire(),
    er: { n: st.errors, m: st.messages.toWire() },
    sy: st.system.toWire(),
  } as const;
  const sg = st.segments.map((s) => s.toWire());
  // Every segment's quality was made for st.task, so sg holds only that task's quality wire.
  const o = st.out;
  return o.task === 'classification'
    ? { ...base, t: o.task, p: o.prediction.toWire(), y: o.label.toWire(), q: o.quality.toWire(), sg: sg as ClassSegmentsWire }
    : { ...base, t: o.task, p: o.prediction.toWire(), y: o.label.toWire(), q: o.quality.toWire(), sg: sg as RegSegmentsWire };
}

type ClassSegmentsWire = Checked<typeof classSegmentsCheck>;
type RegSegmentsWire = Checked<typeof regSegmentsCheck>;

function fromWire(w: ProfileWire): ProfileState {
  if (w.e < w.s) throw new Error(`window end ${w.e} is before its start ${w.s}`);
  const cc = w.cc;
  const features = new Map<string, FeatureSummary>();
  const nullOnly = new Map<string, number>();
  const claim = (name: string): string => {
    if (features.has(name) || nullOnly.has(name)) throw new Error(`feature ${JSON.stringify(name)} appears twice`);
    return name;
  };
  const withinCount = <T extends { total: number }>(s: T, where: string): T => {
    if (s.total > w.n) throw new Error(`${where}: ${s.total} values in a window of ${w.n} records`);
    return s;
  };
  const perRecord = <T extends { total: number }>(s: T, where: string): T => {
    if (s.total !== w.n) throw new Error(`${where}: ${s.total} values in a window of ${w.n} records`);
    return s;
  };
  for (const [name, x] of w.fn) features.set(claim(name), withinCount(NumericSummary.fromWire(x, `feature ${name}`), `feature ${name}`));
  for (const [name, x] of w.fc) {
    features.set(claim(name), withinCount(CategoricalSummary.fromWire(x, cc, `feature ${name}`), `feature ${name}`));
  }
  for (const [name, k] of w.fm) {
    if (k > w.n) throw new Error(`feature ${name}: ${k} nulls in a window of ${w.n} records`);
    nullOnly.set(claim(name), k);
  }
  const rejections = new Map<RejectReason, RejectionTally>();
  for (const r of w.rj) {
    if (rejections.has(r.r)) throw new Error(`rejection reason ${r.r} appears twice`);
    if (r.x.length > Math.min(EXAMPLES_PER_REASON, r.n)) throw new Error(`too many examples for rejection reason ${r.r}`);
    rejections.set(r.r, { count: r.n, examples: r.x.map(([detail, example]) => ({ detail, example })) });
  }
  const out: Outputs =
    w.t === 'classification'
      ? {
          task: w.t,
          prediction: perRecord(CategoricalSummary.fromWire(w.p, cc, 'prediction'), 'prediction'),
          label: perRecord(CategoricalSummary.fromWire(w.y, cc, 'label'), 'label'),
          quality: ClassificationQuality.fromWire(w.q, 'quality'),
        }
      : {
          task: w.t,
          prediction: perRecord(NumericSummary.fromWire(w.p, 'prediction'), 'prediction'),
          label: perRecord(NumericSummary.fromWire(w.y, 'label'), 'label'),
          quality: RegressionQuality.fromWire(w.q, 'quality'),
        };
  if (out.quality.labelled > w.n) throw new Error(`quality: ${out.quality.labelled} labelled in a window of ${w.n} records`);
  const messages = CategoricalSummary.fromWire(w.er.m, ERROR_MESSAGE_CAP, 'error messages');
  if (w.er.n > w.n || messages.total > w.er.n) throw new Error('errors: counts disagree with the window');
  const segments: SegmentSplit[] = [];
  for (const split of w.sg) {
    if (segments.some((s) => s.path === split[0])) throw new Error(`segment ${JSON.stringify(split[0])} appears twice`);
    segments.push(SegmentSplit.fromWire(w.t, w.sc, split, `segment ${JSON.stringify(split[0])}`));
  }
  return {
    model: w.m,
    modelVersion: w.mv,
    start: w.s,
    end: w.e,
    task: w.t,
    categoricalCap: cc,
    segmentCap: w.sc,
    n: w.n,
    late: w.lt,
    rejections,
    features,
    nullOnly,
    latency: perRecord(NumericSummary.fromWire(w.lat, 'latency_ms'), 'latency_ms'),
    confidence: perRecord(NumericSummary.fromWire(w.cf, 'confidence'), 'confidence'),
    out,
    status: perRecord(CategoricalSummary.fromWire(w.st, STATUS_CAP, 'status'), 'status'),
    errors: w.er.n,
    messages,
    segments,
    system: SystemSummary.fromWire(w.sy, 'system'),
  };
}

export function encodeProfile(st: ProfileState): Uint8Array {
  // The encoder reuses its internal buffer; the copy belongs to the caller.
  return new Uint8Array(cbor.encode(toWire(st)));
}

/** Parses and validates the bytes; throws ProfileDecodeError naming what is wrong. */
export function decodeProfile(bytes: Uint8Array): ProfileState {
  let raw: unknown;
  try {
    raw = cbor.decode(bytes);
  } catch (err) {
    throw new ProfileDecodeError(`window profile: bytes are not valid CBOR (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new ProfileDecodeError('window profile: expected a CBOR map at the top level');
  }
  const v: unknown = (raw as Record<string, unknown>)['v'];
  if (v === undefined) throw new ProfileDecodeError('window profile: no format version `v` in the data');
  if (v !== PROFILE_FORMAT_VERSION) {
    throw new ProfileDecodeError(
      `window profile: unsupported format version v=${typeof v === 'bigint' ? String(v) : JSON.stringify(v)}; this build reads v=${PROFILE_FORMAT_VERSION}`,
    );
  }
  const parsed = checkWire(profileCheck, raw);
  if (!parsed.ok) throw new ProfileDecodeError(`window profile v=1 is malformed:\n${parsed.problems}`);
  try {
    return fromWire(parsed.value);
  } catch (err) {
    throw new ProfileDecodeError(`window profile v=1 is inconsistent: ${err instanceof Error ? err.message : String(err)}`);
  }
}
