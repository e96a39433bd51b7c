import { afterEach, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, topicFor, WIRE_VERSION, type WindowBody } from '../../agent/wire/index.js';
import { RATE_LIMIT_MS } from '../../collector/log.js';
import { alert, gap, harness, MIN, oneOfEach, profile, status, summary, T0, windowBody, type Harness } from './messages.js';

let h: Harness;
afterEach(() => h?.close());

const TOPIC = topicFor('s1', 'd1', 'summary');
const rawEnvelope = (over: Record<string, unknown>, body: Uint8Array = encodeCbor(windowBody())) =>
  encodeCbor({ v: WIRE_VERSION, device: 'd1', site: 's1', seq: 1, kind: 'summary', sent_at: T0, body, ...over });
const count = (table: string) => (h.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('ingest', () => {
  it('stores one message of every kind, each in its table', () => {
    h = harness();
    for (const m of oneOfEach()) expect(h.ingest.fromMqtt(m.topic, m.bytes)).toEqual({ status: 'stored' });
    expect([count('messages'), count('summaries'), count('alert_messages'), count('alerts'), count('gaps')]).toEqual([4, 2, 1, 1, 1]);
    const kinds = h.store.db.prepare('SELECT seq, kind FROM summaries ORDER BY seq').all();
    expect(kinds).toEqual([{ seq: 1, kind: 'summary' }, { seq: 4, kind: 'revision' }]);
    expect(h.store.windows('d1', {})[0]).toMatchObject({ seq: 4, revision: 1, count: 200 });
  });

  it('a copy under a stored (device, seq) is a duplicate: counted, not stored twice', () => {
    h = harness();
    const m = summary({ seq: 1 });
    expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
    h.clock.now += MIN;
    expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('duplicate');
    // Same seq, any content: the first one stays.
    const other = gap({ seq: 1 });
    expect(h.ingest.fromMqtt(other.topic, other.bytes).status).toBe('duplicate');
    expect(count('summaries')).toBe(1);
    expect(count('gaps')).toBe(0);
    expect(h.store.status().duplicates).toBe(2);
    expect(h.store.device('d1')?.last_seen).toBe(T0 + 21 * MIN);
    // The same seq of another device is another message.
    const d2 = summary({ seq: 1, device: 'd2' });
    expect(h.ingest.fromMqtt(d2.topic, d2.bytes).status).toBe('stored');
  });

  it('status topic: applied, empty payload ignored, mismatch refused', () => {
    h = harness();
    const s = status();
    expect(h.ingest.fromMqtt(s.topic, s.bytes)).toEqual({ status: 'status' });
    expect(h.ingest.fromMqtt(s.topic, new Uint8Array())).toEqual({ status: 'ignored' });
    expect(h.ingest.fromMqtt(topicFor('s1', 'd2', 'status'), s.bytes)).toMatchObject({ status: 'refused', reason: 'topic_mismatch' });
    expect(h.ingest.fromMqtt(s.topic, encodeCbor({ v: 9 }))).toMatchObject({ status: 'refused', reason: 'unknown_version' });
    expect(h.ingest.fromMqtt(s.topic, encodeCbor({ v: 1, state: 'maybe' }))).toMatchObject({ status: 'refused', reason: 'bad_envelope' });
    expect(h.store.devices().map((d) => d.id)).toEqual(['d1']);
  });

  it.each([
    ['not a topic', 'a/b', rawEnvelope({}), 'topic_mismatch', '', /topic "a\/b" is not edgewatch\/v1\/<site>\/<device>\/<kind>/],
    ['unknown kind level', 'edgewatch/v1/s1/d1/metrics', rawEnvelope({}), 'topic_mismatch', '', /is not edgewatch/],
    ['another device', topicFor('s1', 'd2', 'summary'), rawEnvelope({}), 'topic_mismatch', 'd2', /the topic says s1\/d2\/summary, the envelope s1\/d1\/summary/],
    ['another site', topicFor('s2', 'd1', 'summary'), rawEnvelope({}), 'topic_mismatch', 'd1', /says s2\/d1/],
    ['another kind', topicFor('s1', 'd1', 'gap'), rawEnvelope({}), 'topic_mismatch', 'd1', /envelope s1\/d1\/summary/],
    ['not CBOR', TOPIC, new Uint8Array([0x5f, 0x41]), 'not_cbor', 'd1', /not one CBOR item/],
    ['two CBOR items', TOPIC, new Uint8Array([0x01, 0x02]), 'not_cbor', 'd1', /CBOR/],
    ['a CBOR array', TOPIC, encodeCbor([1, 2]), 'bad_envelope', 'd1', /expected a CBOR map/],
    ['version 2', TOPIC, rawEnvelope({ v: 2 }), 'unknown_version', 'd1', /wire format version 2; this build reads version 1/],
    ['no version', TOPIC, rawEnvelope({ v: undefined }), 'bad_envelope', 'd1', /no version field v/],
    ['seq 0', TOPIC, rawEnvelope({ seq: 0 }), 'bad_envelope', 'd1', /seq must be at least 1/],
    ['seq a string', TOPIC, rawEnvelope({ seq: '1' }), 'bad_envelope', 'd1', /seq/],
    ['huge seq', TOPIC, rawEnvelope({ seq: 2 ** 60 }), 'bad_envelope', 'd1', /seq/],
    ['body not bytes', TOPIC, rawEnvelope({ body: 'x' }), 'bad_envelope', 'd1', /expected a byte string at body/],
    ['body not CBOR', TOPIC, rawEnvelope({}, new Uint8Array([0xff])), 'bad_body', 'd1', /body is not one CBOR item/],
    ['body of another kind', TOPIC, rawEnvelope({}, encodeCbor({ alerts: [] })), 'bad_body', 'd1', /summary body/],
    ['end before start', TOPIC, rawEnvelope({}, encodeCbor(windowBody(profile(), { start: T0 + MIN, end: T0 }))), 'bad_body', 'd1', /end is before start/],
  ] as const)('refuses %s', (_name, topic, bytes, reason, device, detail) => {
    h = harness();
    const r = h.ingest.fromMqtt(topic, bytes);
    expect(r).toMatchObject({ status: 'refused', reason });
    expect(r.status === 'refused' && r.detail).toMatch(detail);
    expect(h.store.rejections()).toEqual([expect.objectContaining({ device, reason, count: 1 })]);
    expect(count('messages')).toBe(0);
    expect(h.store.devices()).toEqual([]);
  });

  it('extra keys are ignored, whatever their names', () => {
    h = harness();
    expect(h.ingest.fromMqtt(TOPIC, rawEnvelope({ refused: 'bad_body', detail: 1, __proto__x: 1, constructor: 'x' }))).toEqual({ status: 'stored' });
    const s = status();
    const withExtra = encodeCbor({ ...(decodeCbor(s.bytes) as object), refused: 'x', device: 'd1' });
    expect(h.ingest.fromMqtt(s.topic, withExtra)).toEqual({ status: 'status' });
  });

  it('refuses oversized messages before decoding them', () => {
    h = harness({ maxMessageBytes: 2048 });
    const m = summary({ seq: 1 });
    expect(h.ingest.fromMqtt(m.topic, m.bytes)).toMatchObject({ status: 'refused', reason: 'oversized', detail: `${m.bytes.length} bytes, over the limit of 2048` });
  });

  describe('the summary profile', () => {
    const bad: Array<[string, (b: WindowBody) => WindowBody, RegExp]> = [
      ['not CBOR', (b) => ({ ...b, profile: new Uint8Array([0xff, 0x00]) }), /not one well-formed CBOR map|not valid CBOR/],
      ['not a map', (b) => ({ ...b, profile: encodeCbor([1]) }), /CBOR map/],
      ['another format version', (b) => ({ ...b, profile: encodeCbor({ v: 7 }) }), /format version 7|unsupported format version/],
      ['another model', (b) => ({ ...b, model: 'other' }), /profile is of model "m" version "v1"; the summary names "other"/],
      ['another window', (b) => ({ ...b, start: b.start - MIN }), /profile covers/],
      ['a section missing', (b) => ({ ...b, profile: dropKey(b.profile, 'fn') }), /fn/],
    ];
    for (const mode of ['structural', 'full'] as const) {
      it.each(bad)(`${mode} check refuses a profile that is %s`, (_name, mutate, detail) => {
        h = harness({ profileCheck: mode });
        const m = summary({ seq: 1 }, mutate(windowBody()));
        const r = h.ingest.fromMqtt(m.topic, m.bytes);
        expect(r).toMatchObject({ status: 'refused', reason: 'bad_body' });
        expect(r.status === 'refused' && r.detail).toMatch(detail);
      });
    }

    it('the full check also refuses a profile whose insides disagree', () => {
      const p = profile();
      const wire = decodeMap(p.encode());
      wire['n'] = 5; // records counted: the features now hold more values than the window has
      const body = windowBody(p, { profile: encodeCbor(wire) });
      h = harness({ profileCheck: 'full' });
      const m = summary({ seq: 1 }, body);
      expect(h.ingest.fromMqtt(m.topic, m.bytes)).toMatchObject({ status: 'refused', reason: 'bad_body', detail: expect.stringMatching(/inconsistent/) });
      h.close();
      h = harness({ profileCheck: 'structural' });
      expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
    });
  });

  it('counts refusals per device and reason, logs each at most once a minute', () => {
    h = harness();
    const bad = new Uint8Array([0xff]);
    for (let i = 0; i < 5; i++) h.ingest.fromMqtt(TOPIC, bad);
    h.ingest.fromMqtt(topicFor('s1', 'd2', 'summary'), bad);
    h.ingest.fromMqtt(TOPIC, rawEnvelope({ v: 3 }));
    expect(h.store.rejections().map((r) => [r.device, r.reason, r.count])).toEqual([
      ['d1', 'not_cbor', 5],
      ['d1', 'unknown_version', 1],
      ['d2', 'not_cbor', 1],
    ]);
    expect(h.logs.map((l) => [l['device'], l['reason']])).toEqual([
      ['d1', 'not_cbor'],
      ['d2', 'not_cbor'],
      ['d1', 'unknown_version'],
    ]);
    expect(h.logs[0]).toMatchObject({ level: 'warn', msg: 'ingest: message refused', detail: expect.stringMatching(/CBOR/) });
    h.clock.now += RATE_LIMIT_MS - 1;
    h.ingest.fromMqtt(TOPIC, bad);
    expect(h.logs).toHaveLength(3);
    h.clock.now += 1;
    h.ingest.fromMqtt(TOPIC, bad);
    expect(h.logs).toHaveLength(4);
    expect(h.logs[3]).toMatchObject({ device: 'd1', reason: 'not_cbor', suppressed: 5 });
  });

  it('a refused message with a seq does not take that seq: the good copy is stored after it', () => {
    h = harness();
    const good = summary({ seq: 1 });
    expect(h.ingest.fromMqtt(good.topic, rawEnvelope({}, new Uint8Array([0xff]))).status).toBe('refused');
    expect(h.ingest.fromMqtt(good.topic, good.bytes).status).toBe('stored');
  });

  it('fromMqttBatch: one transaction, the same results as one by one', () => {
    h = harness();
    const msgs = [...oneOfEach(), summary({ seq: 1 }), { topic: 'x', bytes: new Uint8Array() }, status()];
    const results = h.ingest.fromMqttBatch(msgs.map((m) => ({ topic: m.topic, payload: m.bytes })));
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'stored', 'duplicate', 'refused', 'status']);
    expect(count('messages')).toBe(4);
  });

  it('a store failure throws (nothing committed, so the broker must not acknowledge)', () => {
    h = harness();
    const m = alert({ seq: 1 });
    h.store.db.exec('DROP TABLE alerts');
    expect(() => h.ingest.fromMqtt(m.topic, m.bytes)).toThrow(/no such table: alerts/);
    expect(count('messages')).toBe(0);
    expect(count('devices')).toBe(0);
  });

  it('throughput: summaries with 20-feature profiles, and what a full profile decode would cost', () => {
    // Timings go to the log for the record; the assertions are loose so a busy CI machine passes.
    const bodies = Array.from({ length: 10 }, (_, i) => windowBody(profile({ index: i, features: 20, records: 1000, seed: i + 1 })));
    const n = 2_000;
    const result: Record<string, number> = {};
    for (const mode of ['structural', 'full'] as const) {
      for (const batch of [1, 100]) {
        h = harness({ profileCheck: mode });
        const msgs = Array.from({ length: n }, (_, i) => summary({ seq: i + 1, device: `d${i % 20}` }, bodies[i % bodies.length]));
        const start = process.hrtime.bigint();
        if (batch === 1) for (const m of msgs) h.ingest.fromMqtt(m.topic, m.bytes);
        else {
          for (let i = 0; i < n; i += batch) h.ingest.fromMqttBatch(msgs.slice(i, i + batch).map((m) => ({ topic: m.topic, payload: m.bytes })));
        }
        const us = Number(process.hrtime.bigint() - start) / 1000 / n;
        expect(h.store.status().summaries).toBe(n);
        result[`${mode}_batch${batch}_us`] = Math.round(us);
        h.close();
      }
    }
    console.log(JSON.stringify({ bench: 'collector-ingest', envelope_bytes: summary({ seq: 1 }, bodies[0]).bytes.length, ...result }));
    expect(result['structural_batch1_us']).toBeLessThan(5_000);
    h = harness();
  });
});

const decodeMap = (bytes: Uint8Array) => decodeCbor(bytes) as Record<string, unknown>;

function dropKey(profileBytes: Uint8Array, key: string): Uint8Array {
  const m = decodeMap(profileBytes);
  delete m[key];
  return encodeCbor(m);
}
