// The subscriber: when mqtt.url names a broker (Mosquitto, EMQX, HiveMQ), the collector is one of
// its clients, subscribed at QoS 1 to every device's topics in a persistent session, so messages
// wait at the broker while the collector is down.
//
// Exactly once hinges on one order: the PUBACK for a message goes to the broker only after ingest
// has committed it. mqtt.js 5 (node_modules/mqtt/build/lib/handlers/publish.js, `case 1:`) emits
// the 'message' event and then calls `client.handleMessage(packet, cb)`; only inside that callback
// does it send `{cmd: 'puback'}`, and a callback given an error sends none. The 'message' event has
// no say in the PUBACK, so ingest runs in handleMessage (default: `handleMessage(packet, callback)
// { callback() }` in build/lib/client.js), which this subscriber replaces. mqtt.js handles one
// incoming packet at a time (the `work` / `nextTickWork` loop in client.js `connect()`), and ingest
// is synchronous, so messages are committed in the order the broker sent them.
//
// With mqtt.share_group, several collectors subscribe as one group and the broker hands each
// message to one of them. The broker sends no retained messages to a shared subscription (MQTT 5,
// 4.8.2), so a grouped collector learns a device's status from its next status message.

import { connect, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { CollectorConfig } from '../config/types.js';
import { ingestNow, type MqttSink } from '../ingest/index.js';
import type { Logger } from '../log.js';
import { clientOptions, subscriptionTopic } from './options.js';

export type { MqttSink } from '../ingest/index.js';

export interface Backoff {
  /** Delay before the first reconnect; doubles after each failed try. */
  initialMs: number;
  /** The delay never grows past this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000 };

export interface SubscriberOptions {
  sink: MqttSink;
  log: Logger;
  backoff?: Backoff;
}

export interface SubscriberStats {
  /** Messages committed by ingest and acknowledged to the broker (ingest's result not judged). */
  acknowledged: number;
  /** Messages left unacknowledged because ingest threw (the broker sends them again). */
  ingest_failed: number;
  /** Connections made, the first one included. */
  connects: number;
}

export interface Subscriber {
  /** mqtt.url without any password in it, for log lines. */
  readonly url: string;
  readonly clientId: string;
  /** The topic filter subscribed to, with its $share prefix when grouped. */
  readonly topic: string;
  connected(): boolean;
  /**
   * Resolves once the broker has confirmed the subscription (or a CONNACK says the session still
   * holds it). Rejects if the subscriber is closed first.
   */
  ready(): Promise<void>;
  stats(): Readonly<SubscriberStats>;
  /**
   * Stops reconnecting and disconnects cleanly (DISCONNECT, so the session and its queue stay at
   * the broker). Nothing reaches ingest after it resolves.
   */
  close(): Promise<void>;
}

/** Connects in the background and returns at once: a broker that is down at start is retried. */
export function startSubscriber(config: CollectorConfig, opts: SubscriberOptions): Subscriber {
  const { sink, log } = opts;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const { url, options } = clientOptions(config);
  const shownUrl = withoutPassword(url);
  const topic = subscriptionTopic(config.mqtt.share_group);
  const clientId = config.mqtt.client_id;
  const stats: SubscriberStats = { acknowledged: 0, ingest_failed: 0, connects: 0 };

  let closing = false;
  let delay = backoff.initialMs;
  let retry: NodeJS.Timeout | null = null;
  /** The last connection error logged, so a broker that stays down is logged once, not per try. */
  let lastError: string | null = null;
  let wasConnected = false;
  /**
   * Set when a commit failed: the rest of that connection's messages are left unacknowledged too,
   * so the broker sends them again after the failed one, in their order, instead of behind it.
   */
  let broken = false;

  let markReady!: () => void;
  let failReady!: (err: Error) => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // ready() may never be awaited (the runner does not wait for a broker that is down).
  readyPromise.catch(() => {});

  const client: MqttClient = connect(url, options);

  client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void): void => {
    if (closing) return done(new Error('collector is shutting down'));
    if (broken) return done(new Error('an earlier message on this connection was not committed'));
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // mqtt.js hands over the next message only after `done`: one message at a time, in order.
    ingestNow(sink, [{ topic: packet.topic, payload }]).then(
      () => {
        stats.acknowledged++;
        done();
      },
      (err: unknown) => {
        stats.ingest_failed++;
        log.log('error', 'mqtt subscriber: ingest failed; the message is not acknowledged, reconnecting so the broker sends it again', {
          topic: packet.topic,
          error: err instanceof Error ? err.message : String(err),
        });
        done(err instanceof Error ? err : new Error(String(err)));
        // An unacknowledged message is sent again only on a new connection.
        broken = true;
        client.stream.destroy();
      },
    );
  };

  client.on('connect', (connack: IConnackPacket) => {
    stats.connects++;
    broken = false;
    delay = backoff.initialMs;
    lastError = null;
    wasConnected = true;
    log.log('info', 'mqtt subscriber connected', { url: shownUrl, client_id: clientId, session_present: connack.sessionPresent });
    if (connack.sessionPresent) {
      markReady();
      return;
    }
    client.subscribe(topic, { qos: 1 }, (err, granted) => {
      if (closing) return;
      if (err) {
        // mqtt.js turns a SUBACK failure code (0x80 and up) into an error carrying the packet; a
        // connection lost before the SUBACK is an error without one and is retried on reconnect.
        const fields = { topic, username: config.mqtt.username, error: err.message };
        if ('packet' in err) log.log('error', 'mqtt subscriber: the broker refused the subscription; check its ACL for mqtt.username', fields);
        else log.log('warn', 'mqtt subscriber: subscribe failed; retried on the next connection', fields);
        return;
      }
      log.log('info', 'mqtt subscriber subscribed', { topic, qos: granted?.[0]?.qos ?? null });
      markReady();
    });
  });

  client.on('error', (err: Error) => {
    if (closing || err.message === lastError) return;
    lastError = err.message;
    log.log('warn', 'mqtt subscriber: connection error', { url: shownUrl, error: err.message });
  });

  client.on('close', () => {
    if (closing) return;
    if (wasConnected) {
      wasConnected = false;
      log.log('warn', 'mqtt subscriber: connection lost; reconnecting', { url: shownUrl, in_ms: delay });
    }
    if (retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      if (!closing) client.reconnect();
    }, delay);
    delay = Math.min(delay * 2, backoff.maxMs);
  });

  client.connect();

  let closed: Promise<void> | null = null;
  return {
    url: shownUrl,
    clientId,
    topic,
    connected: () => client.connected,
    ready: () => readyPromise,
    stats: () => ({ ...stats }),
    close() {
      closed ??= (async () => {
        closing = true;
        if (retry !== null) clearTimeout(retry);
        retry = null;
        failReady(new Error('the subscriber was closed before it subscribed'));
        // A connected client sends DISCONNECT (the session stays); one still trying is dropped.
        await client.endAsync(!client.connected);
      })();
      return closed;
    },
  };
}

/** The URL with any password replaced, fit for logs and the startup line. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
