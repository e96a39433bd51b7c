// The sync wire format (docs/wire-format.md): what an agent sends and a collector accepts, over MQTT
// or in a bundle file. One CBOR message per outbox entry, in an envelope
//   {v, device, site, seq, kind, sent_at, body}
// whose `body` is a CBOR byte string holding the kind's body, itself CBOR. Keeping the body opaque in
// the envelope lets the collector dedupe and store it without re-encoding, and lets the agent keep
// bodies in its outbox and wrap them only when they go out.
//
// Versioning: `v` is the envelope and body format. A reader refuses any `v` it does not know; a new
// optional field does not change `v`, a field removed, renamed or changed in meaning does.

import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { Decoder, Encoder } from 'cbor-x';
import {
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
  type Checked,
  type WireCheck,
} from '../profile/wire-check.js';

export const WIRE_VERSION = 1;

export const MESSAGE_KINDS = ['summary', 'alert', 'gap', 'revision', 'baseline'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** 1-64 of A-Z a-z 0-9 . _ - : what a device id and a site may be (each becomes a topic level). */
export const NAME_CHARS = /^[A-Za-z0-9._-]{1,64}$/;

export interface Envelope {
  v: typeof WIRE_VERSION;
  device: string;
  site: string;
  /** Rises by one per device per message, never reused. */
  seq: number;
  kind: MessageKind;
  /** Epoch ms when this copy was sent (published or written to a bundle). */
  sent_at: number;
  /** The kind's body, CBOR-encoded, then compressed when `enc` says so. */
  body: Uint8Array;
  /** `deflate`: `body` is raw DEFLATE (RFC 1951) of the CBOR; absent: plain CBOR. */
  enc?: BodyEncoding;
}

export type BodyEncoding = 'deflate';

/** What an inflated body may grow to: far above any summary, far below what would hurt a collector. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Deflates a body when that makes it smaller (anything but the smallest alert or gap bodies). */
export function packBody(cbor: Uint8Array): { body: Uint8Array; enc: BodyEncoding | null } {
  if (cbor.length < 256) return { body: cbor, enc: null };
  const z = zlib.deflateRawSync(cbor, { level: 6 });
  return z.length < cbor.length ? { body: new Uint8Array(z.buffer, z.byteOffset, z.length), enc: 'deflate' } : { body: cbor, enc: null };
}

/** The body's CBOR: inflated when the envelope says it is deflated. Never throws. */
export function unpackBody(env: Pick<Envelope, 'body' | 'enc'>): Decoded<Uint8Array> {
  if (env.enc === undefined) return { ok: true, value: env.body };
  try {
    // One 64 KiB output chunk holds a summary body (about 27 KB) whole: no concatenation of chunks.
    const plain = zlib.inflateRawSync(env.body, { maxOutputLength: MAX_BODY_BYTES, chunkSize: 64 * 1024 });
    return { ok: true, value: new Uint8Array(plain.buffer, plain.byteOffset, plain.length) };
  } catch (err) {
    return { ok: false, reason: 'bad_body', detail: `body does not inflate: ${(err as Error).message}` };
  }
}

/** Why a message was refused; the collector counts refusals per device and reason. */
export type RefusalReason = 'oversized' | 'not_cbor' | 'unknown_version' | 'bad_envelope' | 'bad_body' | 'topic_mismatch';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: RefusalReason; detail: string };

// Maps decode as plain objects (cbor-x renames a `__proto__` key, so nothing lands on a prototype);
// no records extension, so any CBOR encoder can produce what we read.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** CBOR of a plain value; a copy the caller owns. */
export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

/** Decodes one CBOR item; throws on bytes that are not exactly one. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

const name: WireCheck<string> = (v, cx): v is string =>
  (typeof v === 'string' && NAME_CHARS.test(v)) || cx.fail('expected 1-64 characters of A-Z a-z 0-9 . _ -');

const bytes: WireCheck<Uint8Array> = (v, cx): v is Uint8Array => v instanceof Uint8Array || cx.fail('expected a byte string');

const envelopeCheck = object({
  v: literal(WIRE_VERSION),
  device: name,
  site: name,
  seq: count,
  kind: oneOf(MESSAGE_KINDS),
  sent_at: count,
  body: bytes,
  enc: optional(oneOf(['deflate'] as const)),
});

export function encodeEnvelope(env: Envelope): Uint8Array {
  const m: Record<string, unknown> = { v: env.v, device: env.device, site: env.site, seq: env.seq, kind: env.kind, sent_at: env.sent_at, body: env.body };
  if (env.enc !== undefined) m.enc = env.enc;
  return encodeCbor(m);
}

/**
 * Decodes and checks an envelope (not its body). Never throws: every failure is a reason and a
 * detail fit for a log line.
 */
/** The one CBOR item of a message within the size limit, or why not. */
function readMessage(buf: Uint8Array, maxBytes: number): Decoded<unknown> {
  if (buf.length > maxBytes) return { ok: false, reason: 'oversized', detail: `${buf.length} bytes, over the limit of ${maxBytes}` };
  try {
    return { ok: true, value: decodeCbor(buf) };
  } catch (err) {
    return { ok: false, reason: 'not_cbor', detail: `not one CBOR item: ${(err as Error).message}` };
  }
}

export function decodeEnvelope(buf: Uint8Array, maxBytes: number): Decoded<Envelope> {
  const read = readMessage(buf, maxBytes);
  if (!read.ok) return read;
  const value = read.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, reason: 'bad_envelope', detail: 'expected a CBOR map' };
  }
  const v = (value as { v?: unknown }).v;
  if (v !== WIRE_VERSION) {
    return {
      ok: false,
      reason: typeof v === 'number' ? 'unknown_version' : 'bad_envelope',
      detail: typeof v === 'number' ? `wire format version ${v}; this build reads version ${WIRE_VERSION}` : 'no version field v',
    };
  }
  const res = checkWire(envelopeCheck, value);
  if (!res.ok) return { ok: false, reason: 'bad_envelope', detail: oneLine(res.problems) };
  if (res.value.seq < 1) return { ok: false, reason: 'bad_envelope', detail: 'seq must be at least 1' };
  const { enc, ...rest } = res.value;
  return { ok: true, value: (enc === undefined ? rest : { ...rest, enc }) as Envelope };
}

// ---- bodies ----

/** An alert as it travels: the agent's alert row (agent/alerts/engine.ts `Alert`). */
export const alertCheck = object({
  id: count,
  rule: string,
  model: string,
  model_version: string,
  state: oneOf(['pending', 'firing', 'resolved'] as const),
  severity: string,
  labels: present,
  metric: string,
  op: string,
  threshold: finiteNumber,
  value: anyFinite(),
  last_value: anyFinite(),
  pending_at: count,
  firing_at: nullable(count),
  resolved_at: nullable(count),
  updated_at: count,
  reason: nullable(string),
});
export type WireAlert = Checked<typeof alertCheck>;

function anyFinite(): WireCheck<number> {
  // Alert values may be NaN (no value yet) or infinite (a ratio over zero): any number.
  return (v, cx): v is number => typeof v === 'number' || cx.fail('expected a number');
}

/**
 * Headline figures of a window, computed by the agent from the profile, so a collector can index
 * and list summaries without decoding every profile.
 */
const statsCheck = object({
  count: count,
  rejected: count,
  late: count,
  errors: count,
  latency_p50: nullable(finiteNumber),
  latency_p95: nullable(finiteNumber),
  latency_p99: nullable(finiteNumber),
  confidence_mean: nullable(finiteNumber),
  /** Share of features that drifted (null: no baseline to compare with). */
  drift_share: nullable(finiteNumber),
  drifted: array(string),
  /** Accuracy (classification) or MAE (regression) of the labelled records; null: none labelled. */
  quality: nullable(finiteNumber),
});
export type WindowStats = Checked<typeof statsCheck>;

const windowBodyCheck = object({
  model: string,
  model_version: string,
  start: count,
  end: count,
  closed_at: count,
  /** 0 for a summary; 1, 2, ... for each revision of that window by late labels. */
  revision: count,
  /** WindowProfile.encode() of the window (or, for a split summary, of this part). */
  profile: bytes,
  /** The drift report against the version's baseline as JSON (null: no baseline). */
  drift: nullable(string),
  stats: statsCheck,
  /** The model's active alerts (pending, firing) when the window closed. */
  alerts: array(alertCheck),
  /** A summary too large for one message goes as parts, split by feature groups. */
  part: optional(object({ index: count, of: count })),
  /**
   * What was left out to fit the size limit: rejection examples dropped, and (only when one feature
   * alone is over the limit) features left out of this window's summary.
   */
  trimmed: optional(object({ examples: count, features: optional(array(string)) })),
});
type CheckedWindowBody = Checked<typeof windowBodyCheck>;
/** A summary or revision body; `part` and `trimmed` are absent unless the summary was split or trimmed. */
export type WindowBody = Omit<CheckedWindowBody, 'part' | 'trimmed'> & {
  part?: CheckedWindowBody['part'];
  trimmed?: CheckedWindowBody['trimmed'];
};

const alertBodyCheck = object({ alerts: array(alertCheck) });
export type AlertBody = Checked<typeof alertBodyCheck>;

const gapBodyCheck = object({
  /** The seqs that were dropped, inclusive. */
  from_seq: count,
  to_seq: count,
  /** Messages dropped. */
  messages: count,
  /** Records counted in the dropped summaries. */
  records: count,
  /** Window range of the dropped summaries, epoch ms (null: only non-window messages dropped). */
  windows_from: nullable(count),
  windows_to: nullable(count),
  reason: oneOf(['outbox_full'] as const),
});
export type GapBody = Checked<typeof gapBodyCheck>;

/**
 * A baseline the agent compares a model version's windows with, sent once before the first summary
 * compared with it (and again whenever it changes), so the collector can have a fleet baseline
 * without an upload. `model_version` is the baseline's own key: a version, or "*" for every version.
 */
const baselineBodyCheck = object({
  model: string,
  model_version: string,
  /** Hex SHA-256 of `profile` (the first 32 digits): the same baseline from two devices is one. */
  id: string,
  source: string,
  created_at: count,
  records: count,
  /** WindowProfile.encode() of the reference data. */
  profile: bytes,
});
export type BaselineBody = Checked<typeof baselineBodyCheck>;

/** A baseline's id: the first 32 hex digits of the SHA-256 of its encoded profile. */
export function baselineId(profile: Uint8Array): string {
  return createHash('sha256').update(profile).digest('hex').slice(0, 32);
}

export type Body =
  | { kind: 'summary'; body: WindowBody }
  | { kind: 'revision'; body: WindowBody }
  | { kind: 'alert'; body: AlertBody }
  | { kind: 'gap'; body: GapBody }
  | { kind: 'baseline'; body: BaselineBody };

const bodyChecks: Record<MessageKind, WireCheck<unknown>> = {
  summary: windowBodyCheck,
  revision: windowBodyCheck,
  alert: alertBodyCheck,
  gap: gapBodyCheck,
  baseline: baselineBodyCheck,
};

export function encodeBody(b: Body): Uint8Array {
  // Optional fields left undefined are left out, not written as CBOR `undefined`.
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b.body)) if (v !== undefined) body[k] = v;
  return encodeCbor(body);
}

/** Decodes and checks a body of the envelope's kind (not the profile inside it). Never throws. */
export function decodeBody(kind: MessageKind, buf: Uint8Array): Decoded<Body> {
  let value: unknown;
  try {
    value = decodeCbor(buf);
  } catch (err) {
    return { ok: false, reason: 'bad_body', detail: `body is not one CBOR item: ${(err as Error).message}` };
  }
  const res = checkWire(bodyChecks[kind], value);
  if (!res.ok) return { ok: false, reason: 'bad_body', detail: `${kind} body: ${oneLine(res.problems)}` };
  if (kind === 'gap') {
    const g = res.value as GapBody;
    if (g.to_seq < g.from_seq) return { ok: false, reason: 'bad_body', detail: 'gap body: to_seq is before from_seq' };
  }
  if (kind === 'baseline') {
    const b = res.value as BaselineBody;
    if (!NAME_CHARS.test(b.model) || b.model_version === '') {
      return { ok: false, reason: 'bad_body', detail: 'baseline body: model must be 1-64 of A-Z a-z 0-9 . _ -, model_version not empty' };
    }
    if (b.id !== baselineId(b.profile)) return { ok: false, reason: 'bad_body', detail: 'baseline body: id is not the hash of the profile' };
  }
  if (kind === 'summary' || kind === 'revision') {
    const w = res.value as WindowBody;
    if (w.end < w.start) return { ok: false, reason: 'bad_body', detail: `${kind} body: end is before start` };
    if (w.part !== undefined && (w.part.of < 1 || w.part.index >= w.part.of)) {
      return { ok: false, reason: 'bad_body', detail: `${kind} body: part ${w.part.index} of ${w.part.of}` };
    }
    if (w.drift !== null && !isJsonObject(w.drift)) return { ok: false, reason: 'bad_body', detail: `${kind} body: drift is not a JSON object` };
  }
  return { ok: true, value: { kind, body: res.value } as Body };
}

/**
 * A cheap shape check of the drift report's JSON: braces at both ends. Parsing 6 KB of JSON per
 * summary was 7% of the collector's ingest time; whoever reads the report parses it anyway, and
 * must treat a report that does not parse as absent.
 */
function isJsonObject(text: string): boolean {
  const t = text.trim();
  return t.length >= 2 && t.charCodeAt(0) === 0x7b && t.charCodeAt(t.length - 1) === 0x7d;
}

// ---- status ----

/**
 * The retained message on `.../status`: `online` when the agent connects, `offline` as its last
 * will (and when it disconnects on purpose). Carries the sync schedule, so the collector can tell a
 * device that syncs every 6 h from one that is late.
 */
const statusCheck = object({
  v: literal(WIRE_VERSION),
  device: name,
  site: name,
  state: oneOf(['online', 'offline'] as const),
  at: count,
  agent_version: string,
  sync: object({ mode: oneOf(['continuous', 'scheduled'] as const), cron: nullable(string) }),
  /** The device's tags (agent config device.tags); absent: none. Optional, added within v1. */
  tags: optional(array(name)),
});
/** A status message; `tags` is absent unless the device has some. */
export type StatusMessage = Omit<Checked<typeof statusCheck>, 'tags'> & { tags?: string[] };

export function encodeStatus(s: StatusMessage): Uint8Array {
  return encodeCbor(s);
}

export function decodeStatus(buf: Uint8Array, maxBytes: number): Decoded<StatusMessage> {
  const read = readMessage(buf, maxBytes);
  if (!read.ok) return read;
  const value = read.value;
  const v = value !== null && typeof value === 'object' ? (value as { v?: unknown }).v : undefined;
  if (typeof v === 'number' && v !== WIRE_VERSION) {
    return { ok: false, reason: 'unknown_version', detail: `wire format version ${v}; this build reads version ${WIRE_VERSION}` };
  }
  const res = checkWire(statusCheck, value);
  if (!res.ok) return { ok: false, reason: 'bad_envelope', detail: `status: ${oneLine(res.problems)}` };
  const { tags, ...rest } = res.value;
  return { ok: true, value: tags === undefined ? rest : { ...rest, tags } };
}

// ---- topics ----

export const TOPIC_ROOT = 'edgewatch/v1';

export function topicFor(site: string, device: string, kind: MessageKind | 'status'): string {
  return `${TOPIC_ROOT}/${site}/${device}/${kind}`;
}

/** `edgewatch/v1/<site>/<device>/<kind>` split, or null for any other topic. */
export function parseTopic(topic: string): { site: string; device: string; kind: MessageKind | 'status' } | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const [, , site, device, kind] = parts as [string, string, string, string, string];
  if (!NAME_CHARS.test(site) || !NAME_CHARS.test(device)) return null;
  if (kind !== 'status' && !(MESSAGE_KINDS as readonly string[]).includes(kind)) return null;
  return { site, device, kind: kind as MessageKind | 'status' };
}

function oneLine(problems: string): string {
  return problems.replace(/\n\s*\u2192 at /g, ' at ').replace(/\n/g, '; ').replace(/\u2716 /g, '');
}
