// The `sync:` section: how summaries leave the device (docs/sync.md). Continuous MQTT, MQTT on a
// cron schedule, or manual (no link: summaries wait in the outbox for `edgewatch-agent export`).
import { createRequire } from 'node:module';
import { bool, fsPath, measure, object, oneOf, optional, str, withDefault } from './checkers.js';
import { SECOND_MS } from './errors.js';
import type { SyncConfig } from './types.js';

const MIB = 1024 * 1024;

const brokerUrl = str('a broker URL such as "mqtt://collector.example:1883" or "mqtts://collector.example:8883"', (s) => {
  try {
    const u = new URL(s);
    return ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
});

// node-cron is loaded only to check a cron expression: it pulls in crypto and child_process, which an
// agent that syncs continuously or not at all never needs (docs/footprint.md).
const cron = str('a cron expression of 5 fields (or 6 with seconds first), such as "0 */6 * * *"', (s) => {
  const { validate } = createRequire(import.meta.url)('node-cron') as typeof import('node-cron');
  return validate(s);
});

export const syncSection = object(
  {
    mode: optional(oneOf(['continuous', 'scheduled', 'manual'] as const)),
    url: optional(brokerUrl),
    username: optional(str('a user name')),
    password: optional(str('a password')),
    tls: withDefault(
      object(
        {
          ca: optional(fsPath),
          cert: optional(fsPath),
          key: optional(fsPath),
          servername: optional(str('a host name')),
          reject_unauthorized: withDefault(bool, true),
        },
        (v) => ({ ca: v.ca ?? null, cert: v.cert ?? null, key: v.key ?? null, servername: v.servername ?? null, reject_unauthorized: v.reject_unauthorized }),
      ),
      {},
    ),
    cron: optional(cron),
    max_duration: withDefault(measure('duration', { min: SECOND_MS }), '10m'),
    keepalive: withDefault(measure('duration', { min: SECOND_MS, max: 18 * 3600 * SECOND_MS }), '30s'),
    max_message_bytes: withDefault(measure('size', { min: 16 * 1024, max: 256 * MIB }), '256KiB'),
    outbox_max_bytes: withDefault(measure('size', { min: 64 * 1024 }), '256MiB'),
    hmac_key: optional(str('a key of at least 16 characters', (s) => s.length >= 16)),
  },
  (v, report): SyncConfig => {
    const mode = v.mode ?? (v.url !== undefined ? 'continuous' : 'manual');
    if (mode !== 'manual' && v.url === undefined) report(['url'], `mode ${mode} needs the broker's url`);
    if (mode === 'scheduled' && v.cron === undefined) report(['cron'], 'mode scheduled needs a cron expression, such as "0 */6 * * *"');
    if (mode !== 'scheduled' && v.cron !== undefined) report(['cron'], `a cron expression is only used with mode scheduled (mode is ${mode})`);
    if ((v.tls.cert === null) !== (v.tls.key === null)) report(['tls'], 'give both cert and key (a client certificate and its key), or neither');
    return {
      mode,
      url: v.url ?? null,
      username: v.username ?? null,
      password: v.password ?? null,
      tls: v.tls,
      cron: v.cron ?? null,
      max_duration_ms: v.max_duration,
      keepalive_ms: v.keepalive,
      max_message_bytes: v.max_message_bytes,
      outbox_max_bytes: v.outbox_max_bytes,
      hmac_key: v.hmac_key ?? null,
    };
  },
);
