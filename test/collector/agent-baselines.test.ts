// Baselines sent by agents: stored once per distinct baseline, merged into the version's fleet
// baseline unless an admin uploaded one, refused when the body does not hold together.
import { afterEach, describe, expect, it } from 'vitest';
import { WindowProfile, type NumericSummary } from '../../agent/profile/index.js';
import { baselineId } from '../../agent/wire/index.js';
import { buildApi } from '../../collector/http/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { baseline, baselineBody, harness, profile, T0, type Harness } from './messages.js';

const log = createCollectorLogger({ write: () => {} });
const TOKEN = 'agent-baselines-token-01';

describe('baselines sent by agents', () => {
  let h: Harness;
  afterEach(() => h.close());

  const rows = () => h.store.db.prepare('SELECT model_version, id, first_device, (SELECT count(*) FROM agent_baseline_devices d WHERE d.model = b.model AND d.model_version = b.model_version AND d.id = b.id) AS devices, merged FROM agent_baselines b ORDER BY first_device, id').all();

  it('makes the first one the fleet baseline, and merges a different one into it', () => {
    h = harness();
    const a = profile({ records: 1_000, seed: 1 });
    const b = profile({ records: 3_000, seed: 2, shift: { x0: 1 } });
    const m1 = baseline({ device: 'd1', seq: 1 }, baselineBody(a));
    expect(h.ingest.fromMqtt(m1.topic, m1.bytes).status).toBe('stored');
    const first = h.store.baselineFor('m', 'v1');
    expect(first).toMatchObject({ agents: 1, uploaded_by: 'agents', records: 1_000, source: 'learned (sent by d1)' });
    expect(Buffer.from(first!.profile).equals(Buffer.from(a.encode()))).toBe(true);

    const m2 = baseline({ device: 'd2', seq: 1 }, baselineBody(b));
    expect(h.ingest.fromMqtt(m2.topic, m2.bytes).status).toBe('stored');
    const merged = h.store.baselineFor('m', 'v1')!;
    expect(merged).toMatchObject({ agents: 2, records: 4_000, source: 'the merge of 2 baselines sent by agents' });
    // The fleet baseline is the merge of the two: counts exact, the mean pooled.
    const expected = a.clone();
    expected.merge(b);
    const got = WindowProfile.decode(merged.profile);
    expect(got.count).toBe(4_000);
    const mean = (p: WindowProfile) => (p.feature('x0') as NumericSummary).mean ?? NaN;
    expect(mean(got)).toBeCloseTo(mean(expected), 12);
    expect(mean(got)).toBeCloseTo((mean(a) * 1_000 + mean(b) * 3_000) / 4_000, 9);
    expect(rows()).toEqual([
      { model_version: 'v1', id: baselineId(a.encode()), first_device: 'd1', devices: 1, merged: 1 },
      { model_version: 'v1', id: baselineId(b.encode()), first_device: 'd2', devices: 1, merged: 1 },
    ]);
  });

  it('counts the same baseline from another device once, and a resent copy not at all', () => {
    h = harness();
    const body = baselineBody();
    for (const [device, seq] of [['d1', 1], ['d2', 1], ['d1', 1], ['d2', 2]] as const) {
      const m = baseline({ device, seq }, body);
      h.ingest.fromMqtt(m.topic, m.bytes);
    }
    expect(rows()).toEqual([{ model_version: 'v1', id: body.id, first_device: 'd1', devices: 2, merged: 1 }]);
    expect(h.store.baselineFor('m', 'v1')).toMatchObject({ agents: 1, records: body.records });
  });

  it("keeps an admin's upload: agents' baselines are recorded beside it, not merged into it", () => {
    h = harness();
    const uploaded = profile({ records: 500, seed: 9 });
    h.store.putBaseline({ model: 'm', model_version: 'v1', profile: uploaded.encode(), records: 500, source: 'ref.jsonl', created_at: T0, uploaded_at: T0, uploaded_by: 'ops', agents: 0 });
    const m = baseline({ device: 'd1', seq: 1 });
    expect(h.ingest.fromMqtt(m.topic, m.bytes).status).toBe('stored');
    expect(h.store.baselineFor('m', 'v1')).toMatchObject({ agents: 0, uploaded_by: 'ops', records: 500 });
    expect(rows()).toMatchObject([{ devices: 1, merged: 0 }]);
    // An upload replaces the agents' merge.
    h.store.putBaseline({ model: 'm', model_version: 'v2', profile: profile({ version: 'v2' }).encode(), records: 200, source: 'r', created_at: T0, uploaded_at: T0, uploaded_by: 'ops', agents: 0 });
    const v3 = baseline({ device: 'd1', seq: 2 }, baselineBody(profile({ version: 'v3', records: 300 })));
    h.ingest.fromMqtt(v3.topic, v3.bytes);
    expect(h.store.baselineFor('m', 'v3')).toMatchObject({ agents: 1 });
    h.store.putBaseline({ model: 'm', model_version: 'v3', profile: profile({ version: 'v3' }).encode(), records: 200, source: 'r', created_at: T0, uploaded_at: T0, uploaded_by: 'ops', agents: 0 });
    expect(h.store.baselineFor('m', 'v3')).toMatchObject({ agents: 0, uploaded_by: 'ops' });
  });

  it('keeps a baseline that will not merge (another version inside) out of the fleet baseline', () => {
    h = harness();
    const first = baseline({ device: 'd1', seq: 1 }, baselineBody(profile({ version: '*' })));
    h.ingest.fromMqtt(first.topic, first.bytes);
    // Keyed '*' but holding a v9 profile (an imported file): stored, not merged.
    const odd = baseline({ device: 'd2', seq: 1 }, baselineBody(profile({ version: 'v9', seed: 3 }), { model_version: '*' }));
    expect(h.ingest.fromMqtt(odd.topic, odd.bytes).status).toBe('stored');
    expect(h.store.baselineFor('m', 'v1')).toMatchObject({ model_version: '*', agents: 1 });
    expect(rows()).toMatchObject([{ merged: 1 }, { merged: 0 }]);
    // Not silently: the API lists it, kept out, beside the one merged.
    const listed = h.store.agentBaselines('m', '*');
    expect(listed).toHaveLength(2);
    expect(listed.find((b) => b.first_device === 'd1')).toMatchObject({ devices: 1, merged: true });
    expect(listed.find((b) => b.first_device === 'd2')).toMatchObject({ devices: 1, merged: false });
  });

  it('refuses a body whose id is not the hash of its profile, whose profile is broken or of another model', () => {
    h = harness();
    const cases = [
      baselineBody(undefined, { id: '0'.repeat(32) }),
      (() => {
        const bytes = Uint8Array.from([0xa1, 0x61, 0x76, 0x63]); // {v: 99}: not a profile
        return baselineBody(undefined, { profile: bytes, id: baselineId(bytes) });
      })(),
      baselineBody(undefined, { model: 'other' }),
      baselineBody(undefined, { model_version: '' }),
    ];
    cases.forEach((body, i) => {
      const m = baseline({ device: 'd1', seq: i + 1 }, body);
      const r = h.ingest.fromMqtt(m.topic, m.bytes);
      expect(r).toMatchObject({ status: 'refused', reason: 'bad_body' });
    });
    expect(h.store.baselineFor('m', 'v1')).toBeNull();
    expect(rows()).toEqual([]);
  });

  it('shows where the baseline came from in the API', async () => {
    h = harness();
    const m = baseline({ device: 'd1', seq: 1 });
    h.ingest.fromMqtt(m.topic, m.bytes);
    const app = buildApi(h.store, { log, now: () => T0, tokens: [{ name: 'tests', token: TOKEN, role: 'read' }] });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/models/m/versions/v1/baseline', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ version: 'v1', from: 'agents', agents: 1, uploaded_by: 'agents', records: 1_000 });
      expect(r.json().sent_by_agents).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{32}$/), source: expect.any(String), created_at: expect.any(Number), records: 1_000, devices: 1, first_device: 'd1', received_at: expect.any(Number), merged: true }]);
    } finally {
      await app.close();
    }
  });
});
