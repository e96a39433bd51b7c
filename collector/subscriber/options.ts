// The mqtt.js options the subscriber connects with, built from the collector's config once at
// start: a TLS file that cannot be read or a URL of the wrong kind fails here, naming the setting,
// rather than as a reconnect loop that logs the same error forever.

import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { CollectorConfig } from '../config/types.js';

export class SubscriberConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubscriberConfigError';
  }
}

export const TOPIC_FILTER = 'edgewatch/v1/+/+/+';

/**
 * A session the broker keeps this long after the collector goes (MQTT 5 Session Expiry Interval,
 * seconds; 0xFFFFFFFF means never expires): a collector down for a week still finds every
 * message the agents sent meanwhile, up to the broker's own queue limit.
 */
export const SESSION_EXPIRY_S = 0xffffffff;

const SCHEMES = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']);

/** What the subscriber subscribes to: the whole tree, or its share of it in a shared group. */
export function subscriptionTopic(shareGroup: string | null): string {
  return shareGroup === null ? TOPIC_FILTER : `$share/${shareGroup}/${TOPIC_FILTER}`;
}

/**
 * MQTT 5 always: one session model (clean: false with a Session Expiry Interval, so messages
 * queue at the broker while the collector is down) and shared subscriptions when mqtt.share_group
 * is set. Mosquitto (1.6 and later), EMQX and HiveMQ all speak it. Reconnects are the subscriber's
 * own (capped back-off), so mqtt.js's fixed-period reconnect is off.
 */
export function clientOptions(config: CollectorConfig): { url: string; options: IClientOptions } {
  const m = config.mqtt;
  if (m.url === null) throw new SubscriberConfigError('mqtt.url is not set: the embedded broker runs instead of a subscriber');
  let parsed: URL;
  try {
    parsed = new URL(m.url);
  } catch {
    throw new SubscriberConfigError(`mqtt.url: got ${JSON.stringify(m.url)}, expected a URL such as mqtt://broker:1883 or mqtts://broker:8883`);
  }
  if (!SCHEMES.has(parsed.protocol)) {
    throw new SubscriberConfigError(`mqtt.url: scheme ${JSON.stringify(parsed.protocol)} is not one of mqtt:, mqtts:, ws:, wss: (got ${JSON.stringify(m.url)})`);
  }
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: m.client_id,
    clean: false,
    properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 30,
    manualConnect: true,
    // The subscription lives in the broker's session; the subscriber renews it when a CONNACK says
    // the session is new, so mqtt.js need not remember it.
    resubscribe: false,
  };
  if (m.username !== null) options.username = m.username;
  if (m.password !== null) options.password = m.password;
  const tls = m.tls;
  if (tls.ca !== null) options.ca = readPem(tls.ca, 'mqtt.tls.ca');
  if (tls.cert !== null) options.cert = readPem(tls.cert, 'mqtt.tls.cert');
  if (tls.key !== null) options.key = readPem(tls.key, 'mqtt.tls.key');
  if (tls.servername !== null) options.servername = tls.servername;
  options.rejectUnauthorized = tls.reject_unauthorized;
  return { url: m.url, options };
}

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new SubscriberConfigError(`${setting}: cannot read ${JSON.stringify(path)}: ${why}`);
  }
}
