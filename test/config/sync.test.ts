// The sync section: modes and their required fields, refused at start with the field named.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseAgentConfig } from '../../agent/config/index.js';
import type { AgentConfig } from '../../agent/config/types.js';
import { DEFAULT_SYNC } from '../helpers/config.js';

const MODEL = 'models:\n  - {name: m, task: classification, logs: ["./x.jsonl"]}\n';

function parse(sync: string): AgentConfig {
  return parseAgentConfig(`${MODEL}sync: ${sync}\n`, { sourcePath: '/etc/edgewatch/agent.yaml', env: {}, hostname: 'h' });
}

function problem(sync: string): { field: string; message: string } {
  try {
    parse(sync);
  } catch (err) {
    if (err instanceof ConfigError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error(`sync: ${sync} was accepted`);
}

describe('sync config', () => {
  it('is manual (export only) by default, with the documented limits', () => {
    const c = parseAgentConfig(MODEL, { sourcePath: '/etc/edgewatch/agent.yaml', env: {}, hostname: 'h' });
    expect(c.sync).toEqual(DEFAULT_SYNC);
  });

  it('is continuous when a url is given, and reads sizes, durations and TLS paths', () => {
    const c = parse('{url: "mqtts://c.example:8883", password: pw, max_message_bytes: 64KiB, outbox_max_bytes: 1GiB, keepalive: 1m, tls: {ca: ./ca.pem, cert: ./c.pem, key: ./c.key}}');
    expect(c.sync).toMatchObject({
      mode: 'continuous',
      url: 'mqtts://c.example:8883',
      password: 'pw',
      max_message_bytes: 64 * 1024,
      outbox_max_bytes: 1024 ** 3,
      keepalive_ms: 60_000,
      tls: { ca: '/etc/edgewatch/ca.pem', cert: '/etc/edgewatch/c.pem', key: '/etc/edgewatch/c.key', servername: null, reject_unauthorized: true },
    });
  });

  it('takes a schedule with 5 or 6 cron fields', () => {
    expect(parse('{mode: scheduled, url: "mqtt://c:1883", cron: "0 */6 * * *", max_duration: 5m}').sync).toMatchObject({ mode: 'scheduled', cron: '0 */6 * * *', max_duration_ms: 300_000 });
    expect(parse('{mode: scheduled, url: "mqtt://c:1883", cron: "*/10 * * * * *"}').sync.cron).toBe('*/10 * * * * *');
  });

  it.each([
    ['{mode: continuous}', 'sync.url', 'mode continuous needs'],
    ['{mode: scheduled, url: "mqtt://c:1883"}', 'sync.cron', 'needs a cron expression'],
    ['{mode: scheduled, url: "mqtt://c:1883", cron: "every six hours"}', 'sync.cron', 'a cron expression of 5 fields'],
    ['{url: "http://c:80"}', 'sync.url', 'a broker URL'],
    ['{url: "mqtt://c:1883", cron: "* * * * *"}', 'sync.cron', 'only used with mode scheduled'],
    ['{url: "mqtt://c:1883", max_message_bytes: 1KiB}', 'sync.max_message_bytes', 'expected at least 16KiB'],
    ['{hmac_key: short}', 'sync.hmac_key', 'at least 16 characters'],
    ['{url: "mqtt://c:1883", tls: {cert: ./c.pem}}', 'sync.tls', 'both cert and key'],
    ['{mode: hourly}', 'sync.mode', 'continuous'],
  ])('refuses %s at %s', (sync, field, message) => {
    const p = problem(sync);
    expect(p.field).toBe(field);
    expect(p.message).toContain(message);
  });
});
