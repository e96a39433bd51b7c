// The ingest workers: the two halves of ingest on two threads of their own, so the broker's event
// loop (sockets, MQTT packets, PUBACKs), the checking of one batch (decode, inflate, the profile's
// structural check) and the SQLite commit of the batch before it run at once on separate cores.
// The writer owns the only connection that stores MQTT messages; the main thread keeps its own
// connection for reads (the HTTP API) and bundle imports, which SQLite serialises with it.
//
// A batch's payloads travel in one buffer that is transferred, not copied: main -> checker ->
// (back to main) -> writer. The checker sends back what to store with each body as an offset into
// that buffer; the profile (checked already) and the inflated body are not sent on, except an
// alert message's, which is stored. Batches are committed in order, one at a time, by the caller's
// choice (sink.ts). The workers' log lines go to the main thread's logger, already limited per
// (device, reason).
//
// If a worker dies (an exception outside ingest's guards, the thread killed), every batch in
// flight is rejected, so nothing is acknowledged that was not committed, and `onFatal` is told:
// the collector cannot ingest any more and stops with an error.
import { MessageChannel, parentPort, workerData, type MessagePort, type Worker } from 'node:worker_threads';
import { createCollectorLogger, type CollectorLogger, type Level } from '../log.js';
import { CollectorStore } from '../store/index.js';
import { Ingest, type Checked, type IngestResult, type MqttMessage } from './ingest.js';
import type { ProfileCheckMode } from './profile-check.js';
import type { CheckedBatch, MqttSink } from './sink.js';
import { closeWorker, INGEST_WORKER_ROLE, startWorker } from '../threads.js';

export { INGEST_WORKER_ROLE } from '../threads.js';

export interface IngestWorkerOptions {
  dataDir: string;
  maxMessageBytes: number;
  log: CollectorLogger;
  /** Stamps each message's receivedAt when the broker side did not; Date.now unless a test injects one. */
  now?: () => number;
  profileCheck?: ProfileCheckMode;
  /** Told once when a worker dies or fails; the sink refuses every batch after that. */
  onFatal?: (err: Error) => void;
}

type Stage = 'check' | 'write';

interface WorkerSettings {
  stage: Stage;
  /** The checker's end of the channel to the writer, or the writer's. */
  link: MessagePort;
  dataDir: string;
  maxMessageBytes: number;
  profileCheck: ProfileCheckMode;
}

/** What the checker says of one message; a body to store is an offset into the batch's buffer. */
interface CheckedItem {
  c: Checked;
  /** Start and end of the stored body in the batch's buffer; -1 when it travels inside `c`. */
  rawStart: number;
  rawEnd: number;
}

type ToWorker =
  | { t: 'check'; id: number; bytes: Uint8Array; topics: string[]; ends: number[]; receivedAt: number[] }
  | { t: 'write'; id: number; skip: number[] }
  | { t: 'close' };

/** From the checker straight to the writer (a MessageChannel between them): a checked batch. */
interface CheckedForWriter {
  id: number;
  bytes: Uint8Array;
  items: CheckedItem[];
  receivedAt: number[];
}

type FromWorker =
  | { t: 'ready' }
  | { t: 'open_failed'; error: string }
  | { t: 'checked'; id: number }
  | { t: 'done'; id: number; results: (IngestResult | null)[] }
  | { t: 'failed'; id: number; error: string }
  | { t: 'log'; level: Level; msg: string; fields: Record<string, unknown> | undefined }
  | { t: 'closed' };

/** A batch the checker has passed to the writer, which holds it until told to commit it. */
interface WorkerBatch extends CheckedBatch {
  readonly id: number;
}

const EMPTY = new Uint8Array(0);

/** One worker thread and the requests it has not answered. */
class Thread {
  readonly pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (err: Error) => void }>();
  private constructor(readonly worker: Worker) {}

  static async start(settings: WorkerSettings, onLog: (m: Extract<FromWorker, { t: 'log' }>) => void): Promise<Thread> {
    const worker = startWorker(INGEST_WORKER_ROLE, new URL('./worker-main.ts', import.meta.url), { settings }, [settings.link]);
    const thread = new Thread(worker);
    await new Promise<void>((resolve, reject) => {
      const early = (err: Error) => {
        worker.off('message', first);
        reject(err);
      };
      const exited = (code: number) => early(new Error(`the ingest ${settings.stage} worker exited (code ${code}) before it was ready`));
      const first = (m: FromWorker) => {
        if (m.t === 'log') return onLog(m);
        worker.off('message', first);
        worker.off('error', early);
        worker.off('exit', exited);
        if (m.t === 'ready') resolve();
        else {
          void worker.terminate();
          reject(new Error(m.t === 'open_failed' ? m.error : `the ingest ${settings.stage} worker said ${m.t} before it was ready`));
        }
      };
      worker.on('message', first);
      worker.once('error', early);
      worker.once('exit', exited);
    });
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'log') return onLog(m);
      if (m.t !== 'checked' && m.t !== 'done' && m.t !== 'failed') return;
      const p = thread.pending.get(m.id);
      thread.pending.delete(m.id);
      if (m.t === 'failed') p?.reject(new Error(m.error));
      else p?.resolve(m);
    });
    return thread;
  }

  request(m: ToWorker & { id: number }, transfer: ArrayBuffer[]): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject });
      this.worker.postMessage(m, transfer);
    });
  }

  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Lets the thread answer what it was sent, closes it (the writer closes its store), ends it. */
  close(): Promise<void> {
    return closeWorker(this.worker);
  }
}

export class IngestWorker implements MqttSink {
  private nextId = 1;
  /** Set once a worker is gone or failed: every later batch is refused with it. */
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly tally = { messages: {} as Record<string, number>, refused: {} as Record<string, number> };

  private constructor(
    private readonly checker: Thread,
    private readonly writer: Thread,
    private readonly opts: IngestWorkerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    for (const t of [checker, writer]) {
      t.worker.on('error', (err: Error) => this.die(new Error(`an ingest worker failed: ${err.message}`)));
      t.worker.on('exit', (code: number) => {
        if (this.closing === null) this.die(new Error(`an ingest worker exited (code ${code})`));
      });
    }
  }

  /** Starts both threads and resolves once the writer has opened the store (rejects if it cannot). */
  static async start(opts: IngestWorkerOptions): Promise<IngestWorker> {
    const base = { dataDir: opts.dataDir, maxMessageBytes: opts.maxMessageBytes, profileCheck: opts.profileCheck ?? 'structural' };
    const onLog = (m: Extract<FromWorker, { t: 'log' }>) => opts.log.log(m.level, m.msg, m.fields);
    const channel = new MessageChannel();
    const [checker, writer] = await Promise.allSettled([
      Thread.start({ ...base, stage: 'check', link: channel.port1 }, onLog),
      Thread.start({ ...base, stage: 'write', link: channel.port2 }, onLog),
    ]);
    if (checker.status === 'rejected' || writer.status === 'rejected') {
      if (checker.status === 'fulfilled') await checker.value.worker.terminate();
      if (writer.status === 'fulfilled') await writer.value.worker.terminate();
      throw (writer.status === 'rejected' ? writer.reason : (checker as PromiseRejectedResult).reason) as Error;
    }
    return new IngestWorker(checker.value, writer.value, opts);
  }

  async check(messages: readonly MqttMessage[]): Promise<CheckedBatch> {
    this.usable();
    let total = 0;
    for (const m of messages) total += m.payload.length;
    const bytes = new Uint8Array(total);
    const n = messages.length;
    const topics = new Array<string>(n);
    const ends = new Array<number>(n);
    const receivedAt = new Array<number>(n);
    const now = this.now();
    let at = 0;
    for (let i = 0; i < n; i++) {
      const m = messages[i]!;
      bytes.set(m.payload, at);
      at += m.payload.length;
      topics[i] = m.topic;
      ends[i] = at;
      receivedAt[i] = m.receivedAt ?? now;
    }
    const id = this.nextId++;
    const r = await this.checker.request({ t: 'check', id, bytes, topics, ends, receivedAt }, [bytes.buffer]);
    if (r.t !== 'checked') throw new Error(`the checker answered ${r.t}`);
    const batch: WorkerBatch = { size: n, id };
    return batch;
  }

  async commit(batch: CheckedBatch, skip: ReadonlySet<number>): Promise<(IngestResult | null)[]> {
    this.usable();
    const { id } = batch as WorkerBatch;
    const r = await this.writer.request({ t: 'write', id, skip: [...skip] }, []);
    if (r.t !== 'done') throw new Error(`the writer answered ${r.t}`);
    for (const res of r.results) {
      if (res === null) continue;
      if (res.status === 'refused') this.tally.refused[res.reason] = (this.tally.refused[res.reason] ?? 0) + 1;
      else this.tally.messages[res.status] = (this.tally.messages[res.status] ?? 0) + 1;
    }
    return r.results;
  }

  /** Messages committed since start, by result, and refused, by reason (for /metrics). */
  counters(): { messages: Record<string, number>; refused: Record<string, number> } {
    return { messages: { ...this.tally.messages }, refused: { ...this.tally.refused } };
  }

  /** The checker's and the writer's threads (tests kill one to see the collector stop). */
  threads(): readonly Worker[] {
    return [this.checker.worker, this.writer.worker];
  }

  /** Requests sent to either thread and not answered yet. */
  inFlight(): number {
    return this.checker.pending.size + this.writer.pending.size;
  }

  /**
   * Lets the threads finish what they were sent (every request is answered), closes the writer's
   * store and ends both. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.dead === null) await Promise.all([this.checker.close(), this.writer.close()]);
      else await Promise.all([this.checker.worker.terminate(), this.writer.worker.terminate()]);
      this.failAll(new Error('the ingest workers were closed'));
    })();
    return this.closing;
  }

  private usable(): void {
    if (this.dead !== null) throw this.dead;
    if (this.closing !== null) throw new Error('the ingest workers are closing');
  }

  private die(err: Error): void {
    if (this.dead !== null) return;
    this.dead = err;
    this.failAll(err);
    this.opts.onFatal?.(err);
  }

  private failAll(err: Error): void {
    this.checker.failAll(err);
    this.writer.failAll(err);
  }
}

/** A checked message made fit to travel: its body an offset into `bytes`, nothing the writer does not store. */
function slim(c: Checked, bytes: Uint8Array): CheckedItem {
  if (c.t !== 'store') return { c, rawStart: -1, rawEnd: -1 };
  const m = c.m;
  const inBatch = m.raw.buffer === bytes.buffer;
  const rawStart = inBatch ? m.raw.byteOffset - bytes.byteOffset : -1;
  const rawEnd = inBatch ? rawStart + m.raw.length : -1;
  const kind = m.body.kind;
  // The writer stores the raw body and the figures taken from it; an alert message also its CBOR.
  const body = kind === 'summary' || kind === 'revision' ? { ...m.body, body: { ...m.body.body, profile: EMPTY, drift: null } } : m.body;
  return { c: { t: 'store', m: { ...m, body, raw: inBatch ? EMPTY : m.raw, plain: kind === 'alert' ? m.plain : EMPTY } }, rawStart, rawEnd };
}

/** A worker thread's side: the checker checks each batch; the writer opens the store and commits each. */
export function runIngestWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('runIngestWorker runs on a worker thread');
  const settings = (workerData as { settings: WorkerSettings }).settings;
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let store: CollectorStore | null = null;
  if (settings.stage === 'write') {
    try {
      store = CollectorStore.open(settings.dataDir);
    } catch (err) {
      post({ t: 'open_failed', error: `cannot open the store in ${settings.dataDir}: ${err instanceof Error ? err.message : String(err)}` });
      return;
    }
  }
  // Levels are applied by the main thread's logger; the limits per (device, reason) here.
  const log = createCollectorLogger({
    level: 'debug',
    forward: (level, msg, fields) => {
      try {
        post({ t: 'log', level, msg, fields });
      } catch {
        post({ t: 'log', level, msg, fields: { fields: String(fields) } });
      }
    },
  });
  const ingest = new Ingest(store, { maxMessageBytes: settings.maxMessageBytes, log, profileCheck: settings.profileCheck });
  const link = settings.link;
  // The writer: batches from the checker wait here for the main thread's word to commit them; the
  // two come over different channels, so either may come first.
  const checked = new Map<number, CheckedForWriter>();
  const told = new Map<number, number[]>();
  const write = (b: CheckedForWriter, skipped: number[]) => {
    checked.delete(b.id);
    told.delete(b.id);
    const skip = new Set(skipped);
    try {
      const results = (store as CollectorStore).transaction(() =>
        b.items.map((item, i) => {
          if (skip.has(i)) return null;
          const c = item.c;
          if (c.t === 'store' && item.rawStart >= 0) c.m.raw = b.bytes.subarray(item.rawStart, item.rawEnd);
          return ingest.store(c, b.receivedAt[i]!);
        }),
      );
      post({ t: 'done', id: b.id, results });
    } catch (err) {
      // The store failed (disk full, a lock held too long): nothing of the batch was committed.
      post({ t: 'failed', id: b.id, error: err instanceof Error ? err.message : String(err) });
    }
  };
  if (settings.stage === 'write') {
    link.on('message', (b: CheckedForWriter) => {
      const skip = told.get(b.id);
      if (skip === undefined) checked.set(b.id, b);
      else write(b, skip);
    });
  }
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'close':
        store?.close();
        post({ t: 'closed' });
        link.close();
        port.close();
        return;
      case 'check': {
        const items = m.topics.map((topic, i) => {
          const payload = m.bytes.subarray(i === 0 ? 0 : m.ends[i - 1], m.ends[i]);
          return slim(ingest.checkMqtt(topic, payload, m.receivedAt[i]!), m.bytes);
        });
        const forWriter: CheckedForWriter = { id: m.id, bytes: m.bytes, items, receivedAt: m.receivedAt };
        link.postMessage(forWriter, [m.bytes.buffer as ArrayBuffer]);
        post({ t: 'checked', id: m.id });
        return;
      }
      case 'write': {
        const b = checked.get(m.id);
        if (b === undefined) told.set(m.id, m.skip);
        else write(b, m.skip);
        return;
      }
    }
  });
  post({ t: 'ready' });
}
