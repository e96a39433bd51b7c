import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCbor, type WindowBody } from '../../agent/wire/index.js';
import { CollectorStore } from '../../collector/store/index.js';
import { MIGRATIONS } from '../../collector/store/schema.js';
import { alert, alertBody, gap, gapBody, harness, MIN, profile, revision, status, summary, T0, windowBody, wireAlert, type Harness } from './messages.js';

let h: Harness;
afterEach(() => h?.close());

const put = (...msgs: Array<{ topic: string; bytes: Uint8Array }>) => msgs.map((m) => h.ingest.fromMqtt(m.topic, m.bytes).status);

describe('collector store', () => {
  it('creates collector.db in WAL mode at the latest schema version, and reopens it', () => {
    h = harness();
    expect(h.store.file).toMatch(/collector\.db$/);
    expect(h.store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    // FULL (2): a commit is on disk before its PUBACK goes.
    expect(h.store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(h.store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    put(summary({ seq: 1 }));
    h.store.close();
    const again = CollectorStore.open(h.dir);
    expect(again.status().summaries).toBe(1);
    again.close();
  });

  it('refuses a file written by a newer schema', () => {
    h = harness();
    h.store.db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    h.store.close();
    expect(() => CollectorStore.open(h.dir)).toThrow(/schema version .* newer collector/);
  });

  it('devices: first and last seen, site of the newest seq, last seq, summaries', () => {
    h = harness();
    put(summary({ seq: 2, site: 's2' }, windowBody(profile({ index: 1 }))));
    h.clock.now += MIN;
    put(summary({ seq: 1, site: 's1' }));
    put(summary({ seq: 1, device: 'd2' }));
    const [d1, d2] = h.store.devices();
    expect(d1).toEqual({
      id: 'd1',
      site: 's2',
      first_seen: T0 + 20 * MIN,
      last_seen: T0 + 21 * MIN,
      agent_version: null,
      online: null,
      status_at: null,
      sync: null,
      last_seq: 2,
      summaries: 2,
      tags: [],
    });
    expect(d2?.id).toBe('d2');
    expect(h.store.device('nope')).toBeNull();
  });

  it('status messages set online, agent version and sync schedule, in arrival order', () => {
    h = harness();
    put(status({ at: T0 + 5 * MIN, sync: { mode: 'scheduled', cron: '0 */6 * * *' }, agent_version: '0.2.0' }));
    expect(h.store.device('d1')).toMatchObject({ online: true, status_at: T0 + 5 * MIN, agent_version: '0.2.0', sync: { mode: 'scheduled', cron: '0 */6 * * *' } });
    h.clock.now += MIN;
    // The last will carries the connect time: older than the online message, and still applied.
    put(status({ state: 'offline', at: T0 }));
    const d = h.store.device('d1');
    expect(d).toMatchObject({ online: false, status_at: T0, last_seen: T0 + 20 * MIN });
    expect(d?.last_seq).toBeNull();
  });

  it('windows: the newest revision of each window, ordered by start, with its parts', () => {
    h = harness();
    const p0 = profile({ index: 0 });
    const p1 = profile({ index: 1, seed: 2 });
    const pv2 = profile({ index: 0, version: 'v2' });
    const other = profile({ index: 0, model: 'other' });
    const late = (p: ReturnType<typeof profile>, over: Partial<WindowBody>) => windowBody(p, over);
    put(
      summary({ seq: 1 }, windowBody(p1)),
      summary({ seq: 2 }, late(p0, { part: { index: 1, of: 2 }, stats: { ...windowBody(p0).stats, drifted: ['x1'] } })),
      summary({ seq: 3 }, late(p0, { part: { index: 0, of: 2 }, alerts: [wireAlert()] })),
      revision({ seq: 4 }, late(p1, { revision: 1, stats: { ...windowBody(p1).stats, quality: 0.75 } })),
      summary({ seq: 5 }, windowBody(pv2)),
      summary({ seq: 6 }, windowBody(other)),
      revision({ seq: 7 }, late(p1, { revision: 2, part: { index: 1, of: 2 } })),
    );
    const w = h.store.windows('d1', { model: 'm' });
    expect(w.map((r) => [r.model_version, r.start_ms, r.revision, r.seq, r.parts, r.part_of])).toEqual([
      ['v1', T0, 0, 3, 2, 2],
      ['v2', T0, 0, 5, 1, 1],
      ['v1', T0 + MIN, 2, 7, 1, 2],
    ]);
    expect(w[0]).toMatchObject({ kind: 'summary', end_ms: T0 + MIN, drifted: [], alerts: [{ name: 'latency_p99', state: 'firing', severity: 'warning' }] });
    expect(w[2]?.kind).toBe('revision');
    expect(w[0]).not.toHaveProperty('body');
    expect(h.store.windows('d1', {}).map((r) => r.model)).toEqual(['m', 'm', 'other', 'm']);
    expect(h.store.windows('d1', { from: T0 + MIN }).map((r) => r.start_ms)).toEqual([T0 + MIN]);
    expect(h.store.windows('d1', { to: T0 + MIN }).map((r) => r.start_ms)).toEqual([T0, T0, T0]);
    // The newest `limit`, still in start order.
    expect(h.store.windows('d1', { model: 'm', limit: 1 }).map((r) => r.start_ms)).toEqual([T0 + MIN]);
    expect(h.store.windows('d1', { model: 'm', limit: 0 })).toHaveLength(1);
    expect(h.store.windows('nope', {})).toEqual([]);
  });

  it('device detail: models with versions, windows and the last window end; gaps', () => {
    h = harness();
    put(
      summary({ seq: 1 }, windowBody(profile({ index: 0 }))),
      summary({ seq: 2 }, windowBody(profile({ index: 1 }))),
      revision({ seq: 3 }, windowBody(profile({ index: 1 }), { revision: 1 })),
      summary({ seq: 4 }, windowBody(profile({ index: 3, version: 'v2' }))),
      summary({ seq: 5 }, windowBody(profile({ index: 0, model: 'a' }))),
      gap({ seq: 6 }, gapBody({ from_seq: 100, to_seq: 109, messages: 10, records: 2000 })),
    );
    const d = h.store.device('d1');
    expect(d?.models).toEqual([
      { model: 'a', versions: ['v1'], windows: 1, last_window_end: T0 + MIN },
      { model: 'm', versions: ['v1', 'v2'], windows: 3, last_window_end: T0 + 4 * MIN },
    ]);
    expect(d?.gaps).toEqual([
      { device: 'd1', seq: 6, from_seq: 100, to_seq: 109, messages: 10, records: 2000, windows_from: T0, windows_to: T0 + 3 * MIN, received_at: T0 + 20 * MIN },
    ]);
    expect(d?.summaries).toBe(5);
  });

  it('status: counts, duplicates, refusals by reason, gaps', () => {
    h = harness();
    const s1 = summary({ seq: 1 });
    put(s1, s1, s1, gap({ seq: 2 }), alert({ seq: 3 }), summary({ seq: 1, device: 'd2' }));
    h.ingest.fromMqtt('edgewatch/v1/s1/d1/summary', new Uint8Array([0xff]));
    h.ingest.fromMqtt('nope', new Uint8Array());
    expect(h.store.status()).toEqual({
      devices: 2,
      summaries: 2,
      duplicates: 2,
      rejected: { not_cbor: 1, topic_mismatch: 1 },
      gaps: [{ device: 'd1', from_seq: 3, to_seq: 5, records: 600 }],
    });
    expect(h.store.rejections().map((r) => [r.device, r.reason, r.count])).toEqual([
      ['', 'topic_mismatch', 1],
      ['d1', 'not_cbor', 1],
    ]);
  });

  it('alert messages keep the raw body and one row per alert', () => {
    h = harness();
    put(alert({ seq: 1 }, alertBody([wireAlert({ id: 1 }), wireAlert({ id: 2, rule: 'errors', state: 'pending', value: NaN })])));
    const rows = h.store.db.prepare('SELECT alert_id, rule, state, value FROM alerts ORDER BY idx').all();
    expect(rows).toEqual([
      { alert_id: 1, rule: 'latency_p99', state: 'firing', value: 150 },
      { alert_id: 2, rule: 'errors', state: 'pending', value: null },
    ]);
    const raw = h.store.db.prepare('SELECT body FROM alert_messages').get() as { body: Buffer };
    expect((decodeCbor(raw.body) as { alerts: unknown[] }).alerts).toHaveLength(2);
  });

  it('summaryBodies: raw bodies of the newest revision, every part', () => {
    h = harness();
    const p0 = profile({ index: 0 });
    const p1 = profile({ index: 1 });
    put(
      summary({ seq: 1 }, windowBody(p0)),
      revision({ seq: 2 }, windowBody(p0, { revision: 1, part: { index: 0, of: 2 } })),
      revision({ seq: 3 }, windowBody(p0, { revision: 1, part: { index: 1, of: 2 } })),
      summary({ seq: 4 }, windowBody(p1)),
    );
    const bodies = h.store.summaryBodies('d1', 'm', T0, T0 + MIN);
    expect(bodies.map((b) => [b.seq, b.revision, b.part_index, b.part_of])).toEqual([
      [2, 1, 0, 2],
      [3, 1, 1, 2],
    ]);
    const body = decodeCbor(bodies[0]!.body) as WindowBody;
    expect(body.revision).toBe(1);
    expect(h.store.summaryBodies('d1', 'm', T0, T0 + 2 * MIN)).toHaveLength(3);
  });

  it('a second process sees committed rows (WAL readers next to a writer)', () => {
    h = harness();
    put(summary({ seq: 1 }));
    const reader = new Database(h.store.file, { readonly: true });
    expect(reader.prepare('SELECT COUNT(*) AS n FROM summaries').get()).toEqual({ n: 1 });
    reader.close();
  });
});
