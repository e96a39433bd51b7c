// The embedded MQTT broker (aedes): devices connect to the collector itself, so one command runs
// everything. It is a sink, not a hub: devices publish, nobody subscribes, and every message is
// handed to ingest.
//
// Exactly once hinges on one order: a device's QoS 1 PUBLISH is committed to the store BEFORE the
// broker sends its PUBACK. aedes 1.2 runs, for each PUBLISH, `authorizePublish` and then
// `enqueuePublish`, which writes the PUBACK (node_modules/aedes/lib/handlers/publish.js:
// `publishActions = [authorizePublish, enqueuePublish]`, and for `case 1:` `write(client, new
// PubAck(packet), ...)` before `broker.publish`). The `published` hook and the `publish` event run
// after the PUBACK is written, so they are too late. authorizePublish therefore holds its callback
// until the message is committed. PUBLISHes gather for up to BATCH_WAIT_MS and go to the sink as
// one batch: checked first (decode, inflate, checks), then committed in one SQLite transaction (in
// `run`, on two worker threads: ingest/worker.ts). While one batch commits the next is checked and
// a third gathers, so batches grow with the load; they commit one at a time, in arrival order. Then
// each callback lets aedes go on to its PUBACK. When a commit fails, the callbacks carry an error:
// aedes closes those connections without a PUBACK and the agents send the messages again after
// they reconnect; whatever else those connections sent meanwhile is left out of later commits.
//
// A malformed message is acknowledged all the same (ingest has counted it; sending it again would
// not make it better); an ACL violation is refused here, counted and logged at most once a minute
// per device (log.limited).

import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { parseTopic } from '../../agent/wire/index.js';
import type { CollectorConfig } from '../config/types.js';
import type { CheckedBatch, MqttMessage, MqttSink } from '../ingest/index.js';
import type { Logger } from '../log.js';
import { authorizeTopic, DeviceGate } from './auth.js';

/**
 * PUBLISHes of all connections are committed together, at most this many to a batch: one SQLite
 * commit per batch instead of per message, and every PUBACK still goes only after its message is
 * committed (the authorisations are answered after the commit).
 */
const BATCH_MAX = 256;
/**
 * How long the first PUBLISH of a batch waits for others: a PUBACK up to 2 ms later, for batches
 * of tens of messages instead of the 3 that one event-loop turn gathers under load.
 */
const BATCH_WAIT_MS = 2;

export interface EmbeddedBrokerOptions {
  /** Commits batches; the next batch goes only after the answer to the last (ingest/sink.ts). */
  sink: MqttSink;
  log: Logger;
  /** Collector clock for each message's receivedAt; Date.now unless a test injects one. */
  now?: () => number;
}

/** What the broker refused since it started; each refusal is also logged (throttled per device). */
export interface BrokerStats {
  /** CONNECTs refused: wrong or missing credentials, or a client id that is not the device's. */
  connections_refused: number;
  /** PUBLISHes refused by the ACL (a topic outside the device's own); the connection is closed. */
  acl_refused: number;
  /** SUBSCRIBEs refused: devices have nothing to read here. */
  subscribes_refused: number;
  /** PUBLISHes not acknowledged because ingest failed (the device sends them again). */
  ingest_failed: number;
}

export interface EmbeddedBroker {
  /** mqtt://host:port, with the port the kernel chose when mqtt.listen asked for port 0. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Devices connected now. */
  connected(): number;
  stats(): Readonly<BrokerStats>;
  /**
   * Stops accepting connections, refuses (without PUBACK) whatever arrives meanwhile, closes every
   * device's connection and resolves when the socket is closed. Nothing reaches ingest after it
   * resolves, so the store may be closed next.
   */
  close(): Promise<void>;
}

export class BrokerListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerListenError';
  }
}

export async function startEmbeddedBroker(config: CollectorConfig, opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { sink, log } = opts;
  const now = opts.now ?? Date.now;
  const gate = new DeviceGate(config.mqtt.devices, config.mqtt.allow_anonymous);
  const stats: BrokerStats = { connections_refused: 0, acl_refused: 0, subscribes_refused: 0, ingest_failed: 0 };
  /** The device each admitted connection speaks for. */
  const deviceOf = new WeakMap<Client, string>();
  /**
   * Connections on which a commit failed. aedes hands every PUBLISH of one socket read to the
   * hooks at once, so without this the messages behind a failed one would be committed ahead of
   * it; refused too, they come again after it, in their order, when the device reconnects.
   */
  const broken = new WeakSet<Client>();
  let closing = false;

  const broker = await Aedes.createBroker({
    // Device ids are up to 64 characters after the 16 of the prefix; MQTT 3.1 allowed 23.
    maxClientsIdLength: 128,
    authenticate(client, username, password, done) {
      const a = gate.admit(client.id, username, password);
      if (a.ok) {
        deviceOf.set(client, a.device);
        return done(null, true);
      }
      stats.connections_refused++;
      log.limited(username || client.id, 'connect_refused', 'warn', 'mqtt: connection refused', { client_id: client.id, why: a.why });
      const err = Object.assign(new Error(a.why), { returnCode: a.returnCode }) as AuthenticateError;
      done(err, false);
    },
    authorizeSubscribe(client, sub, done) {
      stats.subscribes_refused++;
      log.limited(deviceOf.get(client) ?? client.id, 'subscribe_refused', 'warn', 'mqtt: subscription refused (devices publish only)', {
        client_id: client.id,
        topic: sub.topic,
      });
      // A negated subscription answers SUBACK 0x80 and keeps the connection.
      done(null, null);
    },
    authorizePublish(client, packet, done) {
      // While closing, nothing is committed and nothing acknowledged, and the wills of the devices
      // whose connections the broker closes are dropped: the collector going away says nothing
      // about whether a device is online.
      if (closing) return done(new Error('collector is shutting down'));
      // A null client is a will aedes kept for a connection already gone; it was checked against
      // its device's topics when the connection closed, and ingest holds the topic to the envelope.
      if (client !== null) {
        if (broken.has(client)) return done(new Error('an earlier message on this connection was not committed'));
        const refusal = aclRefusal(client, packet.topic);
        if (refusal !== null) return done(refusal);
      }
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const message: MqttMessage = { topic: packet.topic, payload, receivedAt: now() };
      enqueue({ client, message, done });
    },
  });

  /** Null when the client's device may publish to `topic`; else the error that closes its connection. */
  function aclRefusal(client: Client, topic: string): Error | null {
    const device = deviceOf.get(client);
    const decision = device === undefined ? { ok: false as const, why: 'connection is not bound to a device' } : authorizeTopic(device, topic);
    if (decision.ok) return null;
    stats.acl_refused++;
    log.limited(device ?? client.id, 'acl_refused', 'warn', 'mqtt: publish refused by the ACL; connection closed', {
      client_id: client.id,
      topic,
      why: decision.why,
    });
    return new Error(decision.why);
  }

  interface Waiting {
    client: Client | null;
    message: MqttMessage;
    done: (err: Error | null) => void;
  }
  // A two-stage pipeline: one batch being checked, one checked and waiting, one being committed;
  // what arrives meanwhile gathers in `waiting` and goes to be checked when the checker is free.
  let waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | null = null;
  let checking: Waiting[] | null = null;
  let ready: { batch: Waiting[]; checked: CheckedBatch } | null = null;
  let committing: Waiting[] | null = null;
  let drained: (() => void) | null = null;

  function enqueue(w: Waiting): void {
    waiting.push(w);
    if (checking !== null || ready !== null) return;
    if (waiting.length >= BATCH_MAX) flush();
    else timer ??= setTimeout(flush, BATCH_WAIT_MS);
  }

  /** Sends what waits (up to BATCH_MAX) to be checked, unless the checker is busy or a checked batch waits. */
  function flush(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (checking !== null || ready !== null || waiting.length === 0) return idle();
    const batch = waiting.length <= BATCH_MAX ? waiting : waiting.slice(0, BATCH_MAX);
    waiting = batch === waiting ? [] : waiting.slice(BATCH_MAX);
    checking = batch;
    sink.check(batch.map((w) => w.message)).then(
      (checked) => {
        checking = null;
        ready = { batch, checked };
        pump();
        flush();
      },
      (err: unknown) => {
        checking = null;
        failBatch(batch, err);
        flush();
      },
    );
  }

  /**
   * Commits the checked batch when no commit is under way, then answers each authorisation: PUBACKs
   * follow, in arrival order. Messages of connections whose earlier message failed are left out
   * (decided now, after the commit before this one), and a failed batch breaks its connections.
   */
  function pump(): void {
    if (committing !== null || ready === null) return idle();
    const { batch, checked } = ready;
    ready = null;
    committing = batch;
    // Shutting down: nothing more is committed (the store may be closing); unacknowledged, the
    // messages are sent again to the next collector.
    const skip = new Set<number>();
    batch.forEach((w, i) => {
      if (closing || (w.client !== null && broken.has(w.client))) skip.add(i);
    });
    const answerSkipped = () => {
      for (const i of skip) batch[i]!.done(new Error(closing ? 'collector is shutting down' : 'an earlier message on this connection was not committed'));
    };
    // Sent even when every message is left out: the sink may hold the checked batch until then.
    const committed = sink.commit(checked, skip);
    committed.then(
      () => {
        answerSkipped();
        batch.forEach((w, i) => skip.has(i) || w.done(null));
      },
      (err: unknown) => {
        answerSkipped();
        failBatch(batch.filter((_, i) => !skip.has(i)), err);
      },
    ).finally(() => {
      committing = null;
      pump();
      flush();
    });
  }

  /** A batch that was not committed: not acknowledged, and its connections take nothing more. */
  function failBatch(batch: Waiting[], err: unknown): void {
    for (const w of batch) {
      stats.ingest_failed++;
      if (w.client !== null) broken.add(w.client);
      log.limited(parseTopic(w.message.topic)?.device ?? '', 'ingest_failed', 'error', 'mqtt: ingest failed; the message is not acknowledged and will be sent again', {
        topic: w.message.topic,
        error: err instanceof Error ? err.message : String(err),
      });
      w.done(new Error('ingest failed; not acknowledged'));
    }
  }

  function idle(): void {
    if (drained !== null && checking === null && ready === null && committing === null) drained();
  }

  broker.on('clientError', (client: Client, err: Error) => {
    log.log('debug', 'mqtt: client error', { client_id: client.id, error: err.message });
  });
  broker.on('connectionError', (client: Client, err: Error) => {
    log.log('debug', 'mqtt: connection error', { client_id: client.id ?? null, error: err.message });
  });

  const server = net.createServer(broker.handle);
  const { host, port } = config.mqtt.listen;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw listenError(config, err as NodeJS.ErrnoException);
  }
  server.on('error', (err: Error) => log.log('error', 'mqtt: listener error', { error: err.message }));

  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const url = `mqtt://${shownHost}:${bound.port}`;
  log.log('info', 'mqtt broker listening', { url, devices: config.mqtt.devices.length, allow_anonymous: config.mqtt.allow_anonymous });

  let closed: Promise<void> | null = null;
  return {
    url,
    host: bound.address,
    port: bound.port,
    connected: () => broker.connectedClients,
    stats: () => ({ ...stats }),
    close() {
      closed ??= (async () => {
        closing = true;
        // What waits is refused; a batch being checked or committed is let finish (a checked one
        // is then refused), so nothing reaches the sink after this resolves.
        if (timer !== null) clearTimeout(timer);
        timer = null;
        const rest = waiting;
        waiting = [];
        for (const w of rest) w.done(new Error('collector is shutting down'));
        if (checking !== null || ready !== null || committing !== null) await new Promise<void>((resolve) => (drained = resolve));
        const socketClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await socketClosed;
      })();
      return closed;
    },
  };
}

/** Where the setting lives, for messages: the file's name, or the defaults when there is none. */
function settingAt(config: CollectorConfig, key: string): string {
  if (config.source === null) return `${key}; no --config given, so the default`;
  const name = config.source.split(/[\\/]/).pop() ?? config.source;
  return `${key} in ${name}`;
}

function listenError(config: CollectorConfig, err: NodeJS.ErrnoException): BrokerListenError {
  const { host, port } = config.mqtt.listen;
  const at = settingAt(config, 'mqtt.listen');
  switch (err.code) {
    case 'EADDRINUSE':
      return new BrokerListenError(
        `port ${port} is in use (${at}); another broker such as Mosquitto may hold it: ` +
          'set mqtt.listen to a free port, or set mqtt.url to use that broker',
      );
    case 'EACCES':
      return new BrokerListenError(`cannot listen on port ${port} (${at}): permission denied; ports below 1024 need privileges, pick another`);
    case 'EADDRNOTAVAIL':
      return new BrokerListenError(`cannot listen on ${host}:${port} (${at}): ${host} is not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new BrokerListenError(`cannot listen on ${host}:${port} (${at}): the host name does not resolve`);
    default:
      return new BrokerListenError(`cannot listen on ${host}:${port} (${at}): ${err.message}`);
  }
}
