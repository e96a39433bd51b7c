// The fleet worker: folds stored summaries into the fleet rollups (aggregate.ts) on a thread of its
// own, with its own connection, so the merging never holds up the broker or ingest. It steps while
// a backlog remains and then every `intervalMs`; a step that fails (a lock held too long) is
// logged once and tried again at the next tick. Its log lines go to the main thread's logger.
import os from 'node:os';
import { parentPort, workerData, type Worker } from 'node:worker_threads';
import { createCollectorLogger, type CollectorLogger, type Level } from '../log.js';
import { CollectorStore } from '../store/index.js';
import { closeWorker, FLEET_WORKER_ROLE, startWorker } from '../threads.js';
import { AlertEngine } from '../alerts/engine.js';
import { Notifier } from '../alerts/notify.js';
import type { AlertsConfig, CollectorConfig } from '../config/types.js';
import { FleetAggregator, type StepResult } from './aggregate.js';
import { Pruner } from './retention.js';

/** How often the worker looks for new summaries once it has caught up. */
export const DEFAULT_FOLD_INTERVAL_MS = 2_000;
/**
 * Summaries arriving faster than this (per second, over the last tick) are a burst (a fleet
 * draining its outboxes after an outage): folding waits for it to pass, so ingest keeps both cores,
 * but never longer than MAX_DEFER_MS at a time. A steady fleet of 10,000 devices sends 167/s.
 */
const BURST_PER_S = 1_000;
/** How often what is past its retention is deleted. */
const PRUNE_EVERY_MS = 10 * 60_000;
/** An hour or day is merged again from its parts this long after they first changed. */
const ROLLUP_AFTER_MS = 60_000;
const MAX_DEFER_MS = 60_000;

export interface FleetWorkerOptions {
  dataDir: string;
  log: CollectorLogger;
  /** Fleet alert rules and notification targets, evaluated on this thread. */
  alerts: AlertsConfig;
  /** What is kept how long; pruned on this thread. */
  retention: CollectorConfig['retention'];
  intervalMs?: number;
  /** Told when the thread dies; the fleet view then stops moving (ingest goes on). */
  onFatal?: (err: Error) => void;
}

interface Settings {
  dataDir: string;
  intervalMs: number;
  alerts: AlertsConfig;
  retention: CollectorConfig['retention'];
}

type ToWorker = { t: 'catch_up'; id: number } | { t: 'evaluate'; id: number } | { t: 'close' };
type FromWorker =
  | { t: 'ready' }
  | { t: 'open_failed'; error: string }
  | { t: 'caught_up'; id: number; result: StepResult }
  | { t: 'evaluated'; id: number; changes: number }
  | { t: 'log'; level: Level; msg: string; fields: Record<string, unknown> | undefined }
  | { t: 'closed' };

export class FleetWorker {
  private nextId = 1;
  private readonly pending = new Map<number, (r: StepResult) => void>();
  private readonly evaluations = new Map<number, (changes: number) => void>();
  private closing: Promise<void> | null = null;

  private constructor(private readonly worker: Worker) {}

  static async start(opts: FleetWorkerOptions): Promise<FleetWorker> {
    const settings: Settings = { dataDir: opts.dataDir, intervalMs: opts.intervalMs ?? DEFAULT_FOLD_INTERVAL_MS, alerts: opts.alerts, retention: opts.retention };
    const worker = startWorker(FLEET_WORKER_ROLE, new URL('./worker-main.ts', import.meta.url), { settings });
    const w = new FleetWorker(worker);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the fleet worker exited (code ${code}) before it was ready`)));
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'log') opts.log.log(m.level, m.msg, m.fields);
        else if (m.t === 'ready') resolve();
        else if (m.t === 'open_failed') reject(new Error(m.error));
        else if (m.t === 'caught_up') {
          w.pending.get(m.id)?.(m.result);
          w.pending.delete(m.id);
        } else if (m.t === 'evaluated') {
          w.evaluations.get(m.id)?.(m.changes);
          w.evaluations.delete(m.id);
        }
      });
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.on('error', (err: Error) => opts.onFatal?.(new Error(`the fleet worker failed: ${err.message}`)));
    worker.on('exit', (code: number) => {
      if (w.closing === null) opts.onFatal?.(new Error(`the fleet worker exited (code ${code})`));
    });
    return w;
  }

  /** Folds everything stored so far, now; resolves with what was folded. */
  catchUp(): Promise<StepResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ t: 'catch_up', id } satisfies ToWorker);
    });
  }

  /** Evaluates the fleet alerts now (and notifies); resolves with the number of state changes. */
  evaluateAlerts(): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.evaluations.set(id, resolve);
      this.worker.postMessage({ t: 'evaluate', id } satisfies ToWorker);
    });
  }

  /** Stops after the step under way; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= closeWorker(this.worker);
    return this.closing;
  }
}

/** The worker thread's side. */
export function runFleetWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('runFleetWorker runs on a worker thread');
  const settings = (workerData as { settings: Settings }).settings;
  const post = (m: FromWorker) => port.postMessage(m);
  let store: CollectorStore;
  try {
    store = CollectorStore.open(settings.dataDir);
  } catch (err) {
    post({ t: 'open_failed', error: `cannot open the store in ${settings.dataDir}: ${err instanceof Error ? err.message : String(err)}` });
    return;
  }
  const log = createCollectorLogger({ level: 'debug', forward: (level, msg, fields) => post({ t: 'log', level, msg, fields }) });
  // On Linux a nice value belongs to a thread: this one gives way to the broker and ingest, and
  // folds a burst of summaries with the CPU they leave.
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch (err) {
    log.once('fleet.priority', 'debug', 'fleet: could not lower the worker thread priority', { error: err instanceof Error ? err.message : String(err) });
  }
  // Steps of 250 summaries (about 0.4 s here): a burst that starts meanwhile is seen at the next tick.
  const agg = new FleetAggregator(store.db, { log, batch: 250, summariesRetentionMs: settings.retention.summaries });
  const pruner = new Pruner(store.db, settings.retention);
  let prunedAt = Date.now() - PRUNE_EVERY_MS + 60_000; // the first prune a minute after start
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const head = store.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM summaries').pluck();
  let lastHead = head.get() as number;
  let lastAt = Date.now();
  let deferredSince: number | null = null;

  const tick = (): void => {
    timer = null;
    if (closed) return;
    const now = Date.now();
    const h = head.get() as number;
    const perS = ((h - lastHead) * 1000) / Math.max(1, now - lastAt);
    lastHead = h;
    lastAt = now;
    if (perS > BURST_PER_S && (deferredSince === null || now - deferredSince < MAX_DEFER_MS)) {
      deferredSince ??= now;
      timer = setTimeout(tick, settings.intervalMs);
      return;
    }
    deferredSince = null;
    let more = false;
    try {
      more = agg.step().more;
      // Caught up: hours and days whose windows changed at least a minute ago are merged again,
      // and now and then what is past its retention goes.
      if (!more) {
        agg.rollup(ROLLUP_AFTER_MS);
        if (now - prunedAt >= PRUNE_EVERY_MS) {
          prunedAt = now;
          const p = pruner.prune(now);
          if (p.summaries + p.buckets.window + p.buckets.hour + p.buckets.day > 0) log.log('info', 'retention: pruned', { ...p });
        }
      }
    } catch (err) {
      log.once('fleet.step_failed', 'error', 'fleet: folding summaries failed; tried again at the next tick', { error: err instanceof Error ? err.message : String(err) });
    }
    timer = more ? setTimeout(tick, 0) : setTimeout(tick, settings.intervalMs);
  };

  // Fleet alerts: evaluated on their own timer, bursts or not; notifications go from here.
  const engine = new AlertEngine(store.db, settings.alerts, log);
  const notifier = new Notifier(settings.alerts.notify, log, { intervalMs: settings.alerts.interval });
  let alertTimer: NodeJS.Timeout | null = null;
  const evaluate = (): number => {
    try {
      const now = Date.now();
      const changes = engine.evaluate(now);
      notifier.notify(changes, engine.alerts(now), now);
      return changes.length;
    } catch (err) {
      log.once('alerts.evaluate_failed', 'error', 'alerts: evaluating the fleet alerts failed; tried again at the next interval', { error: err instanceof Error ? err.message : String(err) });
      return 0;
    }
  };
  const alertTick = (): void => {
    alertTimer = null;
    if (closed) return;
    evaluate();
    alertTimer = setTimeout(alertTick, settings.alerts.interval);
  };

  port.on('message', (m: ToWorker) => {
    if (m.t === 'close') {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      if (alertTimer !== null) clearTimeout(alertTimer);
      void notifier.close().then(() => {
        store.close();
        post({ t: 'closed' });
        port.close();
      });
      return;
    }
    if (m.t === 'evaluate') {
      post({ t: 'evaluated', id: m.id, changes: evaluate() });
      return;
    }
    const result = agg.catchUp();
    post({ t: 'caught_up', id: m.id, result });
  });
  post({ t: 'ready' });
  tick();
  alertTimer = setTimeout(alertTick, settings.alerts.interval);
}
