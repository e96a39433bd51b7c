// Envelope and body encoding: deflated bodies round-trip, a body that does not inflate (or would
// inflate past the limit) is refused as bad_body, an unknown version is refused by name.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, decodeEnvelope, decodeStatus, encodeBody, encodeCbor, encodeEnvelope, encodeStatus, MAX_BODY_BYTES, packBody, unpackBody, WIRE_VERSION } from '../../agent/wire/index.js';

const gap = { from_seq: 3, to_seq: 9, messages: 7, records: 700, windows_from: 0, windows_to: 420_000, reason: 'outbox_full' as const };

describe('wire', () => {
  it('deflates a body when that is smaller, and the envelope says so', () => {
    const alerts = Array.from({ length: 20 }, (_, i) => ({
      id: i, rule: 'latency_p99', model: 'm', model_version: 'v1', state: 'firing' as const, severity: 'warning', labels: {}, metric: 'latency.p99',
      op: '>', threshold: 100, value: 120, last_value: 130, pending_at: 1, firing_at: 2, resolved_at: null, updated_at: 3, reason: null,
    }));
    const plain = encodeBody({ kind: 'alert', body: { alerts } });
    const packed = packBody(plain);
    expect(packed.enc).toBe('deflate');
    expect(packed.body.length).toBeLessThan(plain.length / 3);
    const bytes = encodeEnvelope({ v: WIRE_VERSION, device: 'd', site: 's', seq: 1, kind: 'alert', sent_at: 5, body: packed.body, enc: 'deflate' });
    const env = decodeEnvelope(bytes, 1 << 20);
    if (!env.ok) throw new Error(env.detail);
    expect(env.value.enc).toBe('deflate');
    const back = unpackBody(env.value);
    if (!back.ok) throw new Error(back.detail);
    const body = decodeBody('alert', back.value);
    expect(body.ok && body.value.kind === 'alert' && body.value.body.alerts.length).toBe(20);
  });

  it('leaves a small body plain, and an envelope without enc decodes as before', () => {
    const plain = encodeBody({ kind: 'gap', body: gap });
    expect(packBody(plain)).toEqual({ body: plain, enc: null });
    const env = decodeEnvelope(encodeEnvelope({ v: WIRE_VERSION, device: 'd', site: 's', seq: 2, kind: 'gap', sent_at: 5, body: plain }), 1 << 20);
    if (!env.ok) throw new Error(env.detail);
    expect(env.value.enc).toBeUndefined();
    expect(unpackBody(env.value)).toEqual({ ok: true, value: plain });
  });

  it('refuses a body that does not inflate, or inflates past the limit', () => {
    expect(unpackBody({ body: new Uint8Array([1, 2, 3, 4, 5]), enc: 'deflate' })).toMatchObject({ ok: false, reason: 'bad_body' });
    const bomb = zlib.deflateRawSync(Buffer.alloc(MAX_BODY_BYTES + 1024));
    expect(unpackBody({ body: bomb, enc: 'deflate' })).toMatchObject({ ok: false, reason: 'bad_body' });
  });

  it('refuses an unknown encoding and an unknown version by name', () => {
    const odd = encodeCbor({ v: WIRE_VERSION, device: 'd', site: 's', seq: 1, kind: 'gap', sent_at: 1, body: new Uint8Array(1), enc: 'zstd' });
    expect(decodeEnvelope(odd, 1 << 20)).toMatchObject({ ok: false, reason: 'bad_envelope' });
    const v2 = encodeCbor({ v: 2, device: 'd', site: 's', seq: 1, kind: 'gap', sent_at: 1, body: new Uint8Array(1) });
    const r = decodeEnvelope(v2, 1 << 20);
    expect(r).toMatchObject({ ok: false, reason: 'unknown_version' });
    expect(!r.ok && r.detail).toContain('version 2');
  });
});

describe('status message', () => {
  const base = { v: WIRE_VERSION, device: 'gw-1', site: 'plant-a', state: 'online', at: 1_772_323_200_000, agent_version: '0.1.0', sync: { mode: 'scheduled', cron: '0 */6 * * *' } } as const;

  it('round-trips, with tags (an optional field of v1) and without', () => {
    const withTags = decodeStatus(encodeStatus({ ...base, tags: ['line-3', 'outdoor'] }), 1 << 20);
    expect(withTags).toEqual({ ok: true, value: { ...base, tags: ['line-3', 'outdoor'] } });
    const without = decodeStatus(encodeStatus({ ...base }), 1 << 20);
    expect(without.ok && 'tags' in without.value).toBe(false);
  });

  it('refuses a tag that is not a name, an unknown version, and a missing field', () => {
    expect(decodeStatus(encodeCbor({ ...base, tags: ['a b'] }), 1 << 20)).toMatchObject({ ok: false, reason: 'bad_envelope' });
    expect(decodeStatus(encodeCbor({ ...base, v: 2 }), 1 << 20)).toMatchObject({ ok: false, reason: 'unknown_version' });
    const { agent_version: _dropped, ...missing } = base;
    expect(decodeStatus(encodeCbor(missing), 1 << 20)).toMatchObject({ ok: false, reason: 'bad_envelope' });
  });
});
