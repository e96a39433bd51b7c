// The ingest workers (collector/ingest/worker.ts): real threads, a real SQLite file. What they store
// must be what ingest on the calling thread stores, row for row; a failed commit must reject (so
// nothing is acknowledged) and leave the workers usable; a dead worker must fail what is in flight
// and say so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCbor, topicFor } from '../../agent/wire/index.js';
import { Ingest, IngestWorker, inlineSink, ingestNow, type MqttMessage, type MqttSink } from '../../collector/ingest/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { alert, gap, MIN, oneOfEach, status, summary, T0 } from './messages.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ewc-worker-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startWorker(dir: string, onFatal?: (err: Error) => void) {
  const logs: Record<string, unknown>[] = [];
  const log = createCollectorLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
  const worker = await IngestWorker.start({ dataDir: dir, maxMessageBytes: 1024 * 1024, log, ...(onFatal === undefined ? {} : { onFatal }) });
  cleanup.push(() => worker.close());
  // The main thread's own connection, for reads, as `run` keeps one.
  const store = CollectorStore.open(dir);
  cleanup.push(() => store.close());
  return { worker, store, logs };
}

/** A mixed batch: every kind, a duplicate, a refusal, a status; received at fixed times. */
function mixedBatch(): MqttMessage[] {
  const msgs = [...oneOfEach(), summary({ seq: 1 }), { topic: 'edgewatch/v1/s1/d1/summary', bytes: encodeCbor({ v: 7 }) }, status(), alert({ seq: 5 }), gap({ seq: 6 })];
  return msgs.map((m, i) => ({ topic: m.topic, payload: m.bytes, receivedAt: T0 + i * MIN }));
}

const seqs = (store: CollectorStore) => (store.db.prepare("SELECT seq FROM messages WHERE device = 'd1' ORDER BY seq").all() as { seq: number }[]).map((r) => r.seq);

const TABLES = ['devices', 'messages', 'summaries', 'alert_messages', 'alerts', 'gaps', 'rejections', 'counters'];

function dump(store: CollectorStore): Record<string, unknown[]> {
  return Object.fromEntries(TABLES.map((t) => [t, store.db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
}

describe('IngestWorker', () => {
  it('checks on one thread and commits on another: the same results and the same rows as ingest on this thread', async () => {
    const { worker, store } = await startWorker(tempDir());
    const inlineStore = CollectorStore.open(tempDir());
    cleanup.push(() => inlineStore.close());
    const inline = inlineSink(new Ingest(inlineStore, { maxMessageBytes: 1024 * 1024, log: createCollectorLogger({ write: () => {} }) }));

    const viaWorker = await ingestNow(worker, mixedBatch());
    const viaInline = await ingestNow(inline, mixedBatch());
    expect(viaWorker.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'stored', 'duplicate', 'refused', 'status', 'stored', 'stored']);
    expect(viaWorker).toEqual(viaInline);
    const rows = dump(store);
    expect(rows).toEqual(dump(inlineStore));
    // The stored body is the envelope's body byte for byte, though it crossed two threads as an offset.
    expect((rows['summaries'] as { body: Buffer }[]).every((r) => r.body.length > 0)).toBe(true);
    expect(rows['summaries']).toHaveLength(2);
  });

  it('overlaps: a second batch is checked while the first commits, and both commit in order', async () => {
    const { worker, store } = await startWorker(tempDir());
    const a = [1, 2, 3].map((seq) => summary({ seq }));
    const b = [4, 5, 6].map((seq) => summary({ seq }));
    const toMessages = (ms: typeof a) => ms.map((m) => ({ topic: m.topic, payload: m.bytes }));
    const [ca, cb] = await Promise.all([worker.check(toMessages(a)), worker.check(toMessages(b))]);
    const ra = await worker.commit(ca, new Set());
    const rb = await worker.commit(cb, new Set());
    expect([...ra, ...rb].map((r) => r?.status)).toEqual(Array(6).fill('stored'));
    expect(seqs(store)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('leaves out the messages it is told to skip: null results, nothing stored of them', async () => {
    const { worker, store } = await startWorker(tempDir());
    const msgs = [1, 2, 3, 4].map((seq) => summary({ seq })).map((m) => ({ topic: m.topic, payload: m.bytes }));
    const results = await worker.commit(await worker.check(msgs), new Set([1, 3]));
    expect(results.map((r) => r?.status ?? null)).toEqual(['stored', null, 'stored', null]);
    expect(seqs(store)).toEqual([1, 3]);
    // A batch left out whole is answered too (the writer lets go of it).
    const none = await worker.commit(await worker.check(msgs.slice(1, 2)), new Set([0]));
    expect(none).toEqual([null]);
  });

  it("hands the workers' log lines to the main logger, still once a minute per device and reason", async () => {
    const { worker, logs } = await startWorker(tempDir());
    const bad = { topic: topicFor('s1', 'd1', 'summary'), payload: encodeCbor({ v: 7 }) };
    for (let i = 0; i < 3; i++) await ingestNow(worker, [bad]);
    const refused = logs.filter((l) => l['msg'] === 'ingest: message refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'warn', device: 'd1', reason: 'unknown_version' });
  });

  it('a failed commit rejects with the store error, stores nothing of the batch, and the next batch commits', async () => {
    const { worker, store } = await startWorker(tempDir());
    store.db.exec('DROP TABLE alerts');
    const failing = [summary({ seq: 1 }), alert({ seq: 2 })].map((m) => ({ topic: m.topic, payload: m.bytes }));
    await expect(worker.commit(await worker.check(failing), new Set())).rejects.toThrow(/no such table: alerts/);
    expect(store.status().summaries).toBe(0);
    const next = await ingestNow(worker, [summary({ seq: 3 })].map((m) => ({ topic: m.topic, payload: m.bytes })));
    expect(next.map((r) => r.status)).toEqual(['stored']);
    expect(store.status().summaries).toBe(1);
  });

  it('a dead worker fails what is in flight, is reported once, and refuses every later batch', async () => {
    const fatal: Error[] = [];
    const { worker, store } = await startWorker(tempDir(), (err) => fatal.push(err));
    const msgs = [summary({ seq: 1 })].map((m) => ({ topic: m.topic, payload: m.bytes }));
    const checked = await worker.check(msgs);
    const writer = worker.threads()[1]!;
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    await writer.terminate();
    await exited;
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.message).toMatch(/an ingest worker exited/);
    await expect(worker.commit(checked, new Set())).rejects.toThrow(/an ingest worker exited/);
    await expect(ingestNow(worker as MqttSink, msgs)).rejects.toThrow(/an ingest worker exited/);
    expect(store.status().summaries).toBe(0);
  });

  it('refuses to start, naming the folder, when the store cannot be opened', async () => {
    const file = path.join(tempDir(), 'not-a-folder');
    fs.writeFileSync(file, 'x');
    const log = createCollectorLogger({ write: () => {} });
    await expect(IngestWorker.start({ dataDir: file, maxMessageBytes: 1024, log })).rejects.toThrow(`cannot open the store in ${file}`);
  });
});
