// `edgewatch-collector run`: the store, ingest, the embedded broker (or a subscriber to mqtt.url)
// and the HTTP API in one process, until SIGTERM or SIGINT.
//
// Shutdown goes from the edge inwards: the MQTT side first (nothing new reaches ingest, and nothing
// is acknowledged that is not committed), then HTTP, then the store. Every message a device saw
// acknowledged is in SQLite before the process exits.

import { parseArgs } from 'node:util';
import { startEmbeddedBroker, type BrokerStats, type EmbeddedBroker } from '../broker/index.js';
import { CollectorConfigError, defaultCollectorConfig, loadCollectorConfig, type CollectorConfig } from '../config/index.js';
import { buildApi, listenHttp, type HttpServer } from '../http/index.js';
import { FleetWorker } from '../fleet/index.js';
import { Ingest, IngestWorker } from '../ingest/index.js';
import { createCollectorLogger, type Level, type Logger } from '../log.js';
import { CollectorStore, type CollectorCounters } from '../store/index.js';
import { startSubscriber, type Backoff, type Subscriber } from '../subscriber/index.js';

export interface RunIo {
  out(s: string): void;
  err(s: string): void;
}

export interface StartOptions {
  log: Logger;
  /** Subscriber reconnect delays (tests shorten them). */
  backoff?: Backoff;
  /** Collector clock for ingest and uptime; Date.now unless a test injects one. */
  now?: () => number;
}

/** A collector running in this process: what `run` starts, and what tests and the demo start. */
export interface RunningCollector {
  /** The embedded broker's mqtt://host:port, or mqtt.url (without its password) when subscribing. */
  readonly mqttUrl: string;
  /** http://host:port, or null when http.listen is null. */
  readonly httpUrl: string | null;
  /** The main thread's connection: reads (HTTP) and bundle imports. */
  readonly store: CollectorStore;
  /** Ingest on the main thread's connection, for bundle imports; MQTT goes through the worker. */
  readonly ingest: Ingest;
  /** Commits what MQTT brings, on its own threads. */
  readonly worker: IngestWorker;
  /** Folds stored summaries into the fleet rollups, on its own thread. */
  readonly fleet: FleetWorker;
  /** Resolves with the error if the ingest worker dies: the collector cannot ingest any more. */
  readonly fatal: Promise<Error>;
  /** Set when the embedded broker runs. */
  readonly broker: EmbeddedBroker | null;
  /** Set when subscribing to mqtt.url. */
  readonly subscriber: Subscriber | null;
  /** The lines `run` prints, one per endpoint. */
  readonly endpoints: string[];
  /** MQTT side, then HTTP, then the store; resolves when all are closed. Safe to call twice. */
  close(): Promise<void>;
}

export async function startCollector(config: CollectorConfig, opts: StartOptions): Promise<RunningCollector> {
  const { log } = opts;
  const store = CollectorStore.open(config.data_dir);
  const now = opts.now === undefined ? {} : { now: opts.now };
  const ingest = new Ingest(store, { maxMessageBytes: config.mqtt.max_message_bytes, log, ...now });
  let reportFatal!: (err: Error) => void;
  const fatal = new Promise<Error>((resolve) => (reportFatal = resolve));
  let worker: IngestWorker;
  try {
    worker = await IngestWorker.start({
      dataDir: config.data_dir,
      maxMessageBytes: config.mqtt.max_message_bytes,
      log,
      ...now,
      onFatal: (err) => {
        log.log('error', 'ingest worker failed; the collector cannot store messages and stops', { error: err.message });
        reportFatal(err);
      },
    });
  } catch (err) {
    store.close();
    throw err;
  }
  let fleet: FleetWorker;
  try {
    fleet = await FleetWorker.start({
      dataDir: config.data_dir,
      log,
      alerts: config.alerts,
      retention: config.retention,
      onFatal: (err) => log.log('error', 'fleet worker failed; the fleet view stops moving, ingest goes on', { error: err.message }),
    });
  } catch (err) {
    await worker.close();
    store.close();
    throw err;
  }
  let broker: EmbeddedBroker | null = null;
  let subscriber: Subscriber | null = null;
  let http: HttpServer | null = null;
  const closeAll = async (): Promise<void> => {
    await broker?.close();
    await subscriber?.close();
    await http?.close();
    await worker.close();
    await fleet.close();
    store.close();
  };
  const endpoints: string[] = [];
  try {
    if (config.mqtt.url === null) {
      broker = await startEmbeddedBroker(config, { sink: worker, log, ...now });
      endpoints.push(`mqtt broker listening on ${broker.url}`);
    } else {
      subscriber = startSubscriber(config, { sink: worker, log, ...(opts.backoff === undefined ? {} : { backoff: opts.backoff }) });
      endpoints.push(`mqtt subscriber for ${subscriber.url} as ${subscriber.clientId}, topic ${subscriber.topic}`);
    }
    if (config.http.listen !== null) {
      const counters = (): CollectorCounters => {
        const b = broker?.stats();
        return {
          ...worker.counters(),
          broker: b === undefined ? ({} as Record<string, number>) : { connection: b.connections_refused, acl: b.acl_refused, subscribe: b.subscribes_refused, commit_failed: b.ingest_failed },
        };
      };
      const app = buildApi(store, { log, tokens: config.http.tokens, counters, ...(opts.now === undefined ? {} : { now: opts.now }) });
      http = await listenHttp(app, config.http.listen, config.source);
      endpoints.push(`http api on ${http.url}/api/devices`);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  log.log('info', 'collector started', { data_dir: config.data_dir, mqtt: broker?.url ?? subscriber?.url, http: http?.url ?? null });

  let closed: Promise<void> | null = null;
  return {
    mqttUrl: broker?.url ?? (subscriber as Subscriber).url,
    httpUrl: http?.url ?? null,
    store,
    ingest,
    worker,
    fleet,
    fatal,
    broker,
    subscriber,
    endpoints,
    close: () => (closed ??= closeAll()),
  };
}

const USAGE = 'usage: edgewatch-collector run [--config FILE] [--log-level debug|info|warn|error]';

/**
 * `run` with the arguments after the command name. Exit codes: 0 after a signal and a clean close,
 * 2 for a bad command line or configuration, 1 when the collector cannot start (a port taken).
 */
export async function runCommand(argv: string[], io: RunIo): Promise<number> {
  const args = argv[0] === 'run' ? argv.slice(1) : argv;
  let values: { config?: string | undefined; 'log-level'?: string | undefined };
  try {
    values = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.err(`edgewatch-collector run: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const level = values['log-level'] ?? 'info';
  if (!isLevel(level)) {
    io.err(`edgewatch-collector run: --log-level: got ${JSON.stringify(level)}, expected debug, info, warn or error`);
    return 2;
  }

  let config: CollectorConfig;
  try {
    config = values.config === undefined ? defaultCollectorConfig() : loadCollectorConfig(values.config);
  } catch (err) {
    if (err instanceof CollectorConfigError) {
      io.err(`edgewatch-collector: invalid configuration (${err.code})\n${err.message}`);
      return 2;
    }
    throw err;
  }

  const log = createCollectorLogger({ level });
  let collector: RunningCollector;
  try {
    collector = await startCollector(config, { log });
  } catch (err) {
    io.err(`edgewatch-collector: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  for (const line of collector.endpoints) io.out(line);

  let onSignal!: (sig: NodeJS.Signals) => void;
  const stop = await Promise.race([
    new Promise<{ signal: NodeJS.Signals }>((resolve) => {
      onSignal = (signal) => resolve({ signal });
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    }),
    collector.fatal.then((error) => ({ error })),
  ]);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  if ('error' in stop) {
    await collector.close();
    io.err(`edgewatch-collector: ${stop.error.message}`);
    return 1;
  }
  log.log('info', 'stopping', { signal: stop.signal });
  await collector.close();
  const stats: BrokerStats | null = collector.broker?.stats() ?? null;
  log.log('info', 'collector stopped', stats === null ? {} : { broker: stats });
  return 0;
}

function isLevel(v: string): v is Level {
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error';
}
