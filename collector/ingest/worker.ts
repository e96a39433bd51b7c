// The ingest worker: decoding, checking and the SQLite commit of MQTT messages on a thread of their
// own, so the broker's event loop (sockets, MQTT packets, PUBACKs) and the store's work run on two
// cores at once. The worker owns the only connection that writes messages; the main thread keeps
// its own connection for reads (the HTTP API) and for bundle imports, which SQLite serialises.
//
// One batch at a time: the broker side sends a batch, and the next only after this one's answer,
// so batches commit in the order the messages arrived and a failed batch is known before anything
// behind it is sent. Each batch's payloads travel in one transferred buffer (no copy across the
// thread boundary beyond the one that packs them). The worker's log lines are handed to the main
// thread's logger, already limited per (device, reason).
//
// If the worker dies (an exception outside ingest's guards, the thread killed), every batch in
// flight is rejected, so nothing is acknowledged that was not committed, and `onFatal` is told:
// the collector cannot ingest any more and stops with an error.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createCollectorLogger, type CollectorLogger, type Level } from '../log.js';
import { CollectorStore } from '../store/index.js';
import { Ingest, type IngestResult, type MqttMessage } from './ingest.js';
import type { ProfileCheckMode } from './profile-check.js';
import type { MqttSink } from './sink.js';

/** Set by scripts/build-collector.mjs: the bundle starts the worker from its own file. */
declare const __EW_COLLECTOR_BUNDLE__: boolean | undefined;

/** workerData.ewRole of an ingest worker; the bundle's entry (cli/bin.ts) dispatches on it. */
export const INGEST_WORKER_ROLE = 'ingest-worker';

export interface IngestWorkerOptions {
  dataDir: string;
  maxMessageBytes: number;
  log: CollectorLogger;
  /** Stamps each message's receivedAt as it is handed over; Date.now unless a test injects one. */
  now?: () => number;
  profileCheck?: ProfileCheckMode;
  /** Told once when the worker dies or fails; the sink refuses every batch after that. */
  onFatal?: (err: Error) => void;
}

interface WorkerSettings {
  dataDir: string;
  maxMessageBytes: number;
  profileCheck: ProfileCheckMode;
}

/** A batch on its way to the worker: payloads packed end to end in `bytes`. */
interface BatchRequest {
  t: 'batch';
  id: number;
  bytes: Uint8Array;
  topics: string[];
  /** End offset of each payload in `bytes`. */
  ends: number[];
  receivedAt: number[];
}

type ToWorker = BatchRequest | { t: 'close' };

type FromWorker =
  | { t: 'ready' }
  | { t: 'open_failed'; error: string }
  | { t: 'done'; id: number; results: IngestResult[] }
  | { t: 'failed'; id: number; error: string }
  | { t: 'log'; level: Level; msg: string; fields: Record<string, unknown> | undefined }
  | { t: 'closed' };

interface Pending {
  resolve: (r: IngestResult[]) => void;
  reject: (err: Error) => void;
}

/**
 * How to start the worker: from this bundle's own file, or, running from source, from worker-main.ts
 * through tsx, registered inside the thread (Node 20 does not apply `--import` in a worker's execArgv).
 */
function newWorker(workerData: unknown): Worker {
  if (typeof __EW_COLLECTOR_BUNDLE__ === 'boolean') return new Worker(fileURLToPath(import.meta.url), { workerData });
  const tsxApi = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker-main.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export class IngestWorker implements MqttSink {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone or failed: every later batch is refused with it. */
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly now: () => number;

  private constructor(
    private readonly worker: Worker,
    private readonly opts: IngestWorkerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Starts the thread and resolves once it has opened the store (rejects if it cannot). */
  static async start(opts: IngestWorkerOptions): Promise<IngestWorker> {
    const settings: WorkerSettings = { dataDir: opts.dataDir, maxMessageBytes: opts.maxMessageBytes, profileCheck: opts.profileCheck ?? 'structural' };
    const worker = newWorker({ ewRole: INGEST_WORKER_ROLE, settings });
    const w = new IngestWorker(worker, opts);
    await new Promise<void>((resolve, reject) => {
      const early = (err: Error) => {
        worker.off('message', first);
        reject(err);
      };
      const exited = (code: number) => early(new Error(`the ingest worker exited (code ${code}) before it was ready`));
      const first = (m: FromWorker) => {
        if (m.t === 'log') return w.onMessage(m);
        worker.off('message', first);
        worker.off('error', early);
        worker.off('exit', exited);
        if (m.t === 'ready') resolve();
        else if (m.t === 'open_failed') {
          void worker.terminate();
          reject(new Error(m.error));
        } else reject(new Error(`the ingest worker said ${m.t} before it was ready`));
      };
      worker.on('message', first);
      worker.once('error', early);
      worker.once('exit', exited);
    });
    worker.on('message', (m: FromWorker) => w.onMessage(m));
    worker.on('error', (err: Error) => w.die(new Error(`the ingest worker failed: ${err.message}`)));
    worker.on('exit', (code: number) => {
      if (w.closing === null) w.die(new Error(`the ingest worker exited (code ${code})`));
    });
    return w;
  }

  ingest(messages: readonly MqttMessage[]): Promise<IngestResult[]> {
    if (this.dead !== null) return Promise.reject(this.dead);
    if (this.closing !== null) return Promise.reject(new Error('the ingest worker is closing'));
    if (messages.length === 0) return Promise.resolve([]);
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
    const req: ToWorker = { t: 'batch', id, bytes, topics, ends, receivedAt };
    return new Promise<IngestResult[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(req, [bytes.buffer]);
    });
  }

  /** Batches sent and not answered yet. */
  inFlight(): number {
    return this.pending.size;
  }

  /**
   * Lets the worker finish what it was sent (every batch is answered), closes its store and ends
   * the thread. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.dead === null) {
        const closed = new Promise<void>((resolve) => {
          const onMessage = (m: FromWorker) => m.t === 'closed' && resolve();
          this.worker.on('message', onMessage);
          this.worker.once('exit', () => resolve());
        });
        this.worker.postMessage({ t: 'close' } satisfies ToWorker);
        await closed;
      }
      await this.worker.terminate();
      this.fail(new Error('the ingest worker was closed'));
    })();
    return this.closing;
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'done': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m.results);
        break;
      }
      case 'failed': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.reject(new Error(m.error));
        break;
      }
      case 'log':
        this.opts.log.log(m.level, m.msg, m.fields);
        break;
      default:
        break;
    }
  }

  private die(err: Error): void {
    if (this.dead !== null) return;
    this.dead = err;
    this.fail(err);
    this.opts.onFatal?.(err);
  }

  private fail(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** The worker thread's side: opens the store, then commits each batch it is sent, in order. */
export function runIngestWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('runIngestWorker runs on a worker thread');
  const settings = (workerData as { settings: WorkerSettings }).settings;
  const post = (m: FromWorker) => port.postMessage(m);
  let store: CollectorStore;
  try {
    store = CollectorStore.open(settings.dataDir);
  } catch (err) {
    post({ t: 'open_failed', error: `cannot open the store in ${settings.dataDir}: ${err instanceof Error ? err.message : String(err)}` });
    return;
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
  port.on('message', (m: ToWorker) => {
    if (m.t === 'close') {
      store.close();
      post({ t: 'closed' });
      port.close();
      return;
    }
    const messages: MqttMessage[] = m.topics.map((topic, i) => ({
      topic,
      payload: m.bytes.subarray(i === 0 ? 0 : m.ends[i - 1], m.ends[i]),
      receivedAt: m.receivedAt[i]!,
    }));
    try {
      post({ t: 'done', id: m.id, results: ingest.fromMqttBatch(messages) });
    } catch (err) {
      // The store failed (disk full, a lock held too long): nothing of the batch was committed.
      post({ t: 'failed', id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  post({ t: 'ready' });
}
