// The agent sends its baseline to the collector: one 'baseline' message ahead of the first summary
// compared with it, again when the baseline changes, never twice for the same one. Stores made by
// an earlier schema keep their outbox (agent) and dedupe log (collector) through the migration.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WindowProfile } from '../../agent/profile/index.js';
import { Agent } from '../../agent/runtime/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { MIGRATIONS as AGENT_MIGRATIONS } from '../../agent/store/schema.js';
import { baselineId, decodeBody, unpackBody, type BaselineBody, type MessageKind, type WindowBody } from '../../agent/wire/index.js';
import { MIGRATIONS as COLLECTOR_MIGRATIONS } from '../../collector/store/schema.js';
import { CollectorStore } from '../../collector/store/index.js';
import { mulberry32, normal } from '../drift/prng.js';
import { testConfig, testModel } from '../helpers/config.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bsend-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `n` records at 50/s from `start`: x ~ N(shift, 1). */
function lines(n: number, seed: number, start: number, shift = 0): string {
  const rng = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = +(normal(rng) + shift).toFixed(4);
    out.push(JSON.stringify({ ts: start + i * 20, model_version: 'v1', prediction: x > 0 ? '1' : '0', features: { x } }));
  }
  return out.join('\n') + '\n';
}

function bodyOf<K extends MessageKind>(m: { kind: K; body: Uint8Array; enc: 'deflate' | null }): unknown {
  const plain = unpackBody({ body: m.body, ...(m.enc === null ? {} : { enc: m.enc }) });
  if (!plain.ok) throw new Error(plain.detail);
  const d = decodeBody(m.kind, plain.value);
  if (!d.ok) throw new Error(d.detail);
  return d.value.body;
}

function outbox(config: ReturnType<typeof testConfig>) {
  const store = AgentStore.openForReading(config.data_dir);
  try {
    return store.outbox.all().map((m) => ({ seq: m.seq, kind: m.kind, body: bodyOf(m) }));
  } finally {
    store.close();
  }
}

/** An agent in its own folder: 1-minute windows, a baseline learned from the first 3,000 records. */
function agentIn(name: string) {
  const logs = path.join(dir, name, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const model = testModel({ logs: [path.join(logs, '*.jsonl')], window_ms: 60_000, baseline_learn: { records: 3_000, duration_ms: null } });
  return { log: path.join(logs, 'app.jsonl'), config: testConfig(path.join(dir, name, 'data'), [model], { commit_max_records: 500 }) };
}

/** One run of the agent over what its logs hold, closing every window at the end. */
function ingestAll(config: ReturnType<typeof testConfig>): void {
  const agent = Agent.open(config);
  agent.ingestAvailable();
  agent.shutdown({ closeWindows: true });
}

describe('baselines sent to the collector', () => {
  const { log, config } = agentIn('agent');

  it('sends a learned baseline once, ahead of the first summary compared with it', () => {
    fs.writeFileSync(log, lines(12_000, 1, T0));
    ingestAll(config);

    const sent = outbox(config);
    const baselines = sent.filter((m) => m.kind === 'baseline');
    expect(baselines).toHaveLength(1);
    const b = baselines[0]!.body as BaselineBody;
    const store = AgentStore.openForReading(config.data_dir);
    const stored = store.baselines.get('fraud', 'v1')!;
    store.close();
    expect(b).toMatchObject({ model: 'fraud', model_version: 'v1', records: 3_000, id: baselineId(stored.profile) });
    expect(Buffer.from(b.profile).equals(Buffer.from(stored.profile))).toBe(true);
    expect(stored.sentId).toBe(b.id);
    // Every summary compared with the baseline comes after it; those before had none to compare with.
    const summaries = sent.filter((m) => m.kind === 'summary').map((m) => ({ seq: m.seq, drift: (m.body as WindowBody).drift }));
    const compared = summaries.filter((s) => s.drift !== null);
    expect(compared.length).toBeGreaterThan(0);
    expect(Math.min(...compared.map((s) => s.seq))).toBeGreaterThan(baselines[0]!.seq);
  });

  it('sends nothing again after a restart, and sends a replaced baseline', () => {
    fs.appendFileSync(log, lines(3_000, 2, T0 + 12_000 * 20));
    ingestAll(config);
    expect(outbox(config).filter((m) => m.kind === 'baseline')).toHaveLength(1);

    // An operator replaces the baseline (here: the same one over a wider span, so other bytes).
    const store = AgentStore.openShared(config.data_dir);
    const old = store.baselines.get('fraud', 'v1')!;
    const widened = WindowProfile.decode(old.profile);
    widened.merge(new WindowProfile({ model: 'fraud', modelVersion: 'v1', start: T0 - 60_000, end: T0 }, widened.options));
    store.baselines.put({ ...old, profile: widened.encode(), source: 'imported', createdAt: T0 + 1 });
    store.close();

    fs.appendFileSync(log, lines(3_000, 3, T0 + 15_000 * 20));
    ingestAll(config);
    const baselines = outbox(config).filter((m) => m.kind === 'baseline').map((m) => m.body as BaselineBody);
    expect(baselines).toHaveLength(2);
    expect(baselines[1]).toMatchObject({ source: 'imported', id: baselineId(widened.encode()) });
    expect(baselines[1]!.id).not.toBe(baselines[0]!.id);
  });
});

describe('a baseline the full outbox dropped', () => {
  const { log, config } = agentIn('dropped');

  it('is sent again with the next window compared with it', () => {
    fs.writeFileSync(log, lines(12_000, 1, T0));
    ingestAll(config);
    const before = outbox(config);
    const baseline = before.find((m) => m.kind === 'baseline')!.body as BaselineBody;

    // Offline too long: a commit whose outbox limit leaves room for its own message only drops
    // everything older, the baseline with it, for one gap.
    const store = AgentStore.openShared(config.data_dir);
    const summary = store.outbox.all().find((m) => m.kind === 'summary')!;
    store.commit([], T0 + 1, [], { entries: [{ kind: 'summary', body: summary.body, enc: summary.enc, records: 0, windowStart: null, windowEnd: null }], maxBytes: summary.body.length + 1_024, trimmedExamples: 0, splitSummaries: 0 });
    expect(store.outbox.stats().droppedMessages).toBe(before.length);
    expect(store.baselines.get('fraud', 'v1')!.sentId).toBeNull();
    store.close();
    expect(outbox(config).map((m) => m.kind)).toEqual(['summary', 'gap']);

    // The next window compared with the baseline brings it back, ahead of that window's summary.
    fs.appendFileSync(log, lines(3_000, 4, T0 + 12_000 * 20));
    ingestAll(config);
    const after = outbox(config);
    const resent = after.filter((m) => m.kind === 'baseline');
    expect(resent.map((m) => (m.body as BaselineBody).id)).toEqual([baseline.id]);
    const compared = after.filter((m) => m.kind === 'summary' && (m.body as WindowBody).drift !== null && m.seq > resent[0]!.seq);
    expect(compared.length).toBeGreaterThan(0);
    const reopened = AgentStore.openForReading(config.data_dir);
    expect(reopened.baselines.get('fraud', 'v1')!.sentId).toBe(baseline.id);
    reopened.close();
  });
});

describe('stores from the schema before baselines travelled', () => {
  it('agent: the outbox keeps its messages and takes baseline messages', () => {
    const data = path.join(dir, 'old-agent');
    fs.mkdirSync(data, { recursive: true });
    const db = new Database(path.join(data, 'edgewatch.db'));
    for (let v = 0; v < 5; v++) db.exec(AGENT_MIGRATIONS[v]!);
    db.pragma('user_version = 5');
    db.prepare("INSERT INTO outbox VALUES (7, 'gap', 1, x'a0', NULL, 1, 0, NULL, NULL)").run();
    db.close();
    const store = AgentStore.openShared(data);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(AGENT_MIGRATIONS.length);
      expect(store.outbox.all().map((m) => [m.seq, m.kind])).toEqual([[7, 'gap']]);
      expect(() => store.db.prepare("INSERT INTO outbox VALUES (8, 'baseline', 1, x'a0', NULL, 1, 0, NULL, NULL)").run()).not.toThrow();
    } finally {
      store.close();
    }
  });

  it('collector: the dedupe log keeps its rows', () => {
    const data = path.join(dir, 'old-collector');
    fs.mkdirSync(data, { recursive: true });
    const file = path.join(data, 'collector.db');
    const db = new Database(file);
    for (let v = 0; v < 2; v++) db.exec(COLLECTOR_MIGRATIONS[v]!);
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO messages VALUES ('d1', 3, 'gap', 1, 2, 10)").run();
    db.close();
    const store = CollectorStore.open(data);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(COLLECTOR_MIGRATIONS.length);
      expect(store.db.prepare('SELECT device, seq, kind FROM messages').all()).toEqual([{ device: 'd1', seq: 3, kind: 'gap' }]);
    } finally {
      store.close();
    }
  });
});
