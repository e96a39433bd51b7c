// Ingest against hostile input: random bytes, random CBOR, and valid envelopes mutated at the byte
// level (flips, truncation, splices) and at the field level (wrong types, huge numbers, nested
// garbage, missing and extra keys, in the envelope and in the body), on right and wrong topics.
// Nothing may escape as an exception, every result is one of the statuses, and afterwards the
// store must agree with what the calls returned.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeCbor,
  encodeCbor,
  encodeEnvelope,
  MESSAGE_KINDS,
  topicFor,
  WIRE_VERSION,
  type MessageKind,
} from '../../agent/wire/index.js';
import { alertBody, gapBody, harness, profile, status, windowBody, wireAlert, type Harness } from './messages.js';

const SEED = Number(process.env.EW_SEED ?? 20260301);
/** Runs of BATCH messages each: 100 x 1,000 = 100,000 messages by default. */
const RUNS = Number(process.env.EW_RUNS ?? 100);
const BATCH = 1_000;
const DEVICES = ['d1', 'd2', 'd3'];
const SITE = 's1';
/** Small, so that a message can be too large without generating megabytes. */
const MAX_BYTES = 16 * 1024;
const STATUSES = new Set(['stored', 'duplicate', 'refused', 'status', 'ignored']);

interface Valid {
  kind: MessageKind;
  body: Uint8Array;
}

/** Valid bodies of every kind, encoded once: building profiles per message would dominate. */
function validBodies(): Valid[] {
  const out: Valid[] = [];
  for (let i = 0; i < 6; i++) {
    const p = profile({ index: i, features: 2 + (i % 3), records: 30, seed: i + 1 });
    out.push({ kind: 'summary', body: encodeCbor(windowBody(p, i % 2 === 0 ? {} : { part: { index: 0, of: 2 }, alerts: [wireAlert()] })) });
    out.push({ kind: 'revision', body: encodeCbor(windowBody(p, { revision: 1 + (i % 2) })) });
  }
  out.push({ kind: 'alert', body: encodeCbor(alertBody()) });
  out.push({ kind: 'alert', body: encodeCbor(alertBody([])) });
  out.push({ kind: 'gap', body: encodeCbor(gapBody()) });
  return out;
}

let h: Harness;
let bodies: Valid[];
let oversized: Uint8Array;
const seen = { stored: 0, duplicate: 0, refused: 0, status: 0, ignored: 0 };

beforeAll(() => {
  h = harness({ maxMessageBytes: MAX_BYTES });
  bodies = validBodies();
  oversized = encodeEnvelope({ v: WIRE_VERSION, device: 'd1', site: SITE, seq: 1, kind: 'gap', sent_at: 0, body: new Uint8Array(MAX_BYTES) });
});
afterAll(() => h.close());

// ---- arbitraries ----

/** Values that a decoder may meet where something else was expected. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, true, -1, 0, -0, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64, -(2 ** 63), '', '__proto__', 'constructor'),
  fc.constantFrom(new Uint8Array(0), new Uint8Array([0xff]), new Date(0), { toString: 1 }, { valueOf: 'x' }, [[[[[]]]]]),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.double(),
  fc.string({ maxLength: 70 }),
  fc.anything({ maxDepth: 4, maxKeys: 4, withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: true }),
);

const device = fc.constantFrom(...DEVICES);
/** Often from a small range per device, so duplicates are common. */
const seq = fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 401, max: 10_000_000 }));

const validMessage = fc.record({ device, seq, valid: fc.nat(), sentAt: fc.nat({ max: 2 ** 45 }) }).map(({ device, seq, valid, sentAt }) => {
  const v = bodies[valid % bodies.length]!;
  return { kind: v.kind, device, bytes: encodeEnvelope({ v: WIRE_VERSION, device, site: SITE, seq, kind: v.kind, sent_at: sentAt, body: v.body }) };
});

type Mutation = (b: Uint8Array) => Uint8Array;
const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }).map((flips) => (b: Uint8Array) => {
    const out = Uint8Array.from(b);
    for (const [at, x] of flips) out[at % out.length] = (out[at % out.length] ?? 0) ^ x;
    return out;
  }),
  fc.nat().map((n) => (b: Uint8Array) => b.subarray(0, n % b.length)),
  fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.uint8Array({ maxLength: 40 })).map(([at, cut, junk]) => (b: Uint8Array) => {
    const i = at % b.length;
    return Uint8Array.from([...b.subarray(0, i), ...junk, ...b.subarray(Math.min(b.length, i + cut))]);
  }),
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((junk) => (b: Uint8Array) => Uint8Array.from([...b, ...junk])),
);

/** A path into a decoded map, followed key by key (array indexes modulo length). */
function setDeep(root: unknown, path: number[], value: unknown, remove: boolean): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    const keys = Array.isArray(node) ? node.map((_, j) => j) : Object.keys(node);
    if (keys.length === 0) return;
    const key = keys[path[i]! % keys.length]!;
    const last = i === path.length - 1;
    const holder = node as Record<string | number, unknown>;
    if (last) {
      if (remove && !Array.isArray(node)) delete holder[key];
      else holder[key] = value;
      return;
    }
    node = holder[key];
  }
}

type FieldMutation = { inBody: boolean; path: number[]; value: unknown; remove: boolean; extra: [string, unknown] | undefined };
const fieldMutation: fc.Arbitrary<FieldMutation> = fc.record({
  inBody: fc.boolean(),
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  value: weird,
  remove: fc.boolean(),
  extra: fc.option(fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('refused', 'detail', 'status', '__proto__')), weird), { nil: undefined }),
});

function mutateFields(bytes: Uint8Array, m: FieldMutation): Uint8Array {
  const env = decodeCbor(bytes) as Record<string, unknown>;
  if (m.inBody) {
    const body = decodeCbor(env['body'] as Uint8Array);
    setDeep(body, m.path, m.value, m.remove);
    env['body'] = safeEncode(body) ?? new Uint8Array([0xa0]);
  } else setDeep(env, m.path, m.value, m.remove);
  if (m.extra !== undefined) env[m.extra[0]] = m.extra[1];
  return safeEncode(env) ?? new Uint8Array([0xf7]);
}
function safeEncode(v: unknown): Uint8Array | null {
  try {
    return encodeCbor(v);
  } catch {
    return null;
  }
}

const topicFor3 = (kind: string, dev: string) => `edgewatch/v1/${SITE}/${dev}/${kind}`;
/** Mostly the message's own topic; sometimes another device's, kind's, a status topic, or garbage. */
const topicChoice = fc.oneof(
  { weight: 8, arbitrary: fc.constant<null>(null) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...MESSAGE_KINDS, 'status'), device).map(([k, d]) => topicFor3(k, d)) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', '/', 'edgewatch/v1', 'edgewatch/v1/s1/d1/summary/x', 'edgewatch/v1/+/#/summary', 'edgewatch/v2/s1/d1/summary')) },
);

const message: fc.Arbitrary<{ topic: string; payload: Uint8Array }> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(validMessage, topicChoice).map(([m, t]) => ({ topic: t ?? topicFor(SITE, m.device, m.kind), payload: m.bytes })) },
  { weight: 4, arbitrary: fc.tuple(validMessage, byteMutation, topicChoice).map(([m, mut, t]) => ({ topic: t ?? topicFor(SITE, m.device, m.kind), payload: mut(m.bytes) })) },
  { weight: 4, arbitrary: fc.tuple(validMessage, fieldMutation, topicChoice).map(([m, mut, t]) => ({ topic: t ?? topicFor(SITE, m.device, m.kind), payload: mutateFields(m.bytes, mut) })) },
  { weight: 1, arbitrary: fc.tuple(device, fc.nat()).map(([d, n]) => ({ topic: topicFor3('gap', d), payload: oversized.subarray(0, MAX_BYTES + 1 + (n % 100)) })) },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 200 }), topicChoice, device).map(([b, t, d]) => ({ topic: t ?? topicFor3('summary', d), payload: b })) },
  { weight: 1, arbitrary: fc.tuple(weird, topicChoice, device).map(([v, t, d]) => ({ topic: t ?? topicFor3('gap', d), payload: safeEncode(v) ?? new Uint8Array() })) },
  {
    weight: 1,
    arbitrary: fc.tuple(device, fc.boolean(), fc.option(fieldMutation, { nil: undefined })).map(([d, online, mut]) => {
      const s = status({ device: d, state: online ? 'online' : 'offline' });
      const payload = mut === undefined ? s.bytes : (() => {
        const v = decodeCbor(s.bytes);
        setDeep(v, mut.path, mut.value, mut.remove);
        return safeEncode(v) ?? new Uint8Array();
      })();
      return { topic: s.topic, payload };
    }),
  },
);

// ---- the property ----

function ingestBatch(batch: Array<{ topic: string; payload: Uint8Array }>): void {
  for (const m of batch) {
    let r: { status: string };
    try {
      r = h.ingest.fromMqtt(m.topic, m.payload);
    } catch (err) {
      throw new Error(`fromMqtt threw on topic ${JSON.stringify(m.topic)}, payload ${Buffer.from(m.payload).toString('hex').slice(0, 400)}: ${String(err)}`);
    }
    if (!STATUSES.has(r.status)) throw new Error(`unknown status ${JSON.stringify(r)}`);
    seen[r.status as keyof typeof seen]++;
  }
  checkStore();
}

const one = (sql: string): number => (h.store.db.prepare(sql).get() as { n: number }).n;

function checkStore(): void {
  const s = h.store.status();
  expect(s.summaries).toBe(one('SELECT COUNT(*) AS n FROM summaries'));
  expect(s.devices).toBe(one('SELECT COUNT(*) AS n FROM devices'));
  expect(s.duplicates).toBe(seen.duplicate);
  expect(Object.values(s.rejected).reduce((a, b) => a + b, 0)).toBe(seen.refused);
  expect(one('SELECT COALESCE(SUM(count), 0) AS n FROM rejections')).toBe(seen.refused);
  expect(one('SELECT COUNT(*) AS n FROM messages')).toBe(seen.stored);
  expect(s.gaps).toHaveLength(one('SELECT COUNT(*) AS n FROM gaps'));
  // Every kind row has its dedupe row of the same kind, and every dedupe row its kind row.
  for (const [table, kinds] of [['summaries', "('summary', 'revision')"], ['gaps', "('gap')"], ['alert_messages', "('alert')"]] as const) {
    expect(one(`SELECT COUNT(*) AS n FROM ${table} t LEFT JOIN messages m USING (device, seq) WHERE m.device IS NULL`), `${table} without a messages row`).toBe(0);
    expect(one(`SELECT COUNT(*) AS n FROM messages m LEFT JOIN ${table} t USING (device, seq) WHERE m.kind IN ${kinds} AND t.device IS NULL`), `messages without a ${table} row`).toBe(0);
  }
  expect(one("SELECT COUNT(*) AS n FROM summaries s JOIN messages m USING (device, seq) WHERE s.kind <> m.kind")).toBe(0);
  expect(one('SELECT COUNT(*) AS n FROM alerts a LEFT JOIN alert_messages m USING (device, seq) WHERE m.device IS NULL')).toBe(0);
  expect(one('SELECT COUNT(*) AS n FROM (SELECT device, seq FROM summaries GROUP BY device, seq HAVING COUNT(*) > 1)')).toBe(0);
  // Stored messages came from devices that are listed, with the largest seq stored.
  expect(one('SELECT COUNT(*) AS n FROM messages m LEFT JOIN devices d ON d.id = m.device WHERE d.id IS NULL')).toBe(0);
  expect(one('SELECT COUNT(*) AS n FROM devices d WHERE d.last_seq IS NOT (SELECT MAX(seq) FROM messages WHERE device = d.id)')).toBe(0);
}

describe('ingest fuzz', () => {
  it(`never throws and keeps the store consistent (${RUNS} x ${BATCH} messages, seed ${SEED})`, () => {
    const started = Date.now();
    fc.assert(fc.property(fc.array(message, { minLength: BATCH, maxLength: BATCH }), ingestBatch), { numRuns: RUNS, seed: SEED, endOnFailure: true });
    const total = Object.values(seen).reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ bench: 'collector-fuzz', messages: total, ms: Date.now() - started, ...seen }));
    expect(total).toBe(RUNS * BATCH);
    // No check threw its way into the guard: every refusal came from a check that saw it coming.
    expect(h.logs.filter((l) => l['level'] === 'error')).toEqual([]);
    // The mix must exercise every outcome, or the property proves little.
    for (const k of Object.keys(seen) as Array<keyof typeof seen>) if (k !== 'ignored') expect(seen[k], k).toBeGreaterThan(RUNS);
    expect(Object.keys(h.store.status().rejected).sort()).toEqual(['bad_body', 'bad_envelope', 'not_cbor', 'oversized', 'topic_mismatch', 'unknown_version']);
  }, 180_000);
});
