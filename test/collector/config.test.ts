import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CollectorConfigError,
  defaultCollectorConfig,
  loadCollectorConfig,
  parseCollectorConfig,
  readListen,
  readSize,
} from '../../collector/config/index.js';

const SOURCE = '/etc/edgewatch/collector.yaml';
const parse = (text: string) => parseCollectorConfig(text, { source: SOURCE, hostname: 'box' });

function problem(text: string): CollectorConfigError {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorConfigError);
    return err as CollectorConfigError;
  }
  throw new Error('expected a CollectorConfigError');
}

describe('collector config', () => {
  it('an empty file gives every default', () => {
    const c = parse('');
    expect(c).toEqual({
      source: SOURCE,
      data_dir: '/etc/edgewatch/collector-data',
      mqtt: {
        url: null,
        listen: { host: '0.0.0.0', port: 1883 },
        share_group: null,
        username: null,
        password: null,
        client_id: 'edgewatch-collector-box',
        tls: { ca: null, cert: null, key: null, servername: null, reject_unauthorized: true },
        allow_anonymous: false,
        devices: [],
        max_message_bytes: 1024 * 1024,
      },
      http: { listen: { host: '127.0.0.1', port: 8080 }, tokens: [] },
      alerts: {
        interval: 15_000,
        rules: [],
        device_offline: { grace: 600_000, severity: 'warning' },
        sync_overdue: { grace: 1_800_000, severity: 'warning' },
        gap: { hold: 86_400_000, severity: 'warning' },
        notify: { webhooks: [], alertmanagers: [], external_url: null },
      },
      retention: { summaries: 30 * 86_400_000, fleet_windows: 2 * 86_400_000, fleet_hours: 90 * 86_400_000, fleet_days: 730 * 86_400_000 },
      bundles: { hmac_key: null, require_hmac: false },
    });
    expect(Object.isFrozen(c.mqtt.listen)).toBe(true);
  });

  it('embedded defaults match the file defaults, data_dir against the current folder', () => {
    const c = defaultCollectorConfig(undefined, 'box');
    expect(c.source).toBeNull();
    expect(c.data_dir).toBe(path.resolve('collector-data'));
    expect(c.mqtt).toEqual(parse('').mqtt);
    expect(defaultCollectorConfig('/var/lib/ew').data_dir).toBe('/var/lib/ew');
  });

  it('reads every option, sizes, addresses and relative paths', () => {
    const c = parse(`
data_dir: data
mqtt:
  url: mqtts://broker.example:8883
  listen: "[::]:0"
  share_group: collectors
  username: col
  password: secret
  client_id: c1
  tls: { ca: certs/ca.pem, cert: /abs/c.pem, key: null, servername: broker, reject_unauthorized: false }
  allow_anonymous: true
  devices:
    - { id: pump-7, password: p1 }
    - { id: pump.8, password: p2 }
  max_message_bytes: 256KiB
http:
  listen: null
bundles: { hmac_key: k, require_hmac: true }
`);
    expect(c.data_dir).toBe('/etc/edgewatch/data');
    expect(c.mqtt.listen).toEqual({ host: '::', port: 0 });
    expect(c.mqtt.tls.ca).toBe('/etc/edgewatch/certs/ca.pem');
    expect(c.mqtt.tls.cert).toBe('/abs/c.pem');
    expect(c.mqtt.max_message_bytes).toBe(262_144);
    expect(c.mqtt.devices.map((d) => d.id)).toEqual(['pump-7', 'pump.8']);
    expect(c.http.listen).toBeNull();
    expect(c.bundles).toEqual({ hmac_key: 'k', require_hmac: true });
  });

  it('an empty section means its defaults', () => {
    expect(parse('mqtt:\nhttp:\n').mqtt.listen.port).toBe(1883);
  });

  it('the example file config/collector.yaml is valid and documents every option', () => {
    const file = path.resolve('config/collector.yaml');
    const c = loadCollectorConfig(file);
    expect(c.mqtt.max_message_bytes).toBe(1024 * 1024);
    const text = fs.readFileSync(file, 'utf8');
    for (const key of ['data_dir', 'url', 'listen', 'share_group', 'username', 'password', 'client_id', 'ca', 'cert', 'key',
      'servername', 'reject_unauthorized', 'allow_anonymous', 'devices', 'max_message_bytes', 'tokens', 'interval', 'rules', 'device_offline', 'sync_overdue', 'gap', 'notify', 'webhooks', 'alertmanagers',
      'external_url', 'summaries', 'fleet_windows', 'fleet_hours', 'fleet_days', 'hmac_key', 'require_hmac']) {
      expect(text).toMatch(new RegExp(`^\\s*#?\\s*${key}:`, 'm'));
    }
  });

  it('refuses an unknown key with a spelling hint, the field and the line', () => {
    const err = problem('mqtt:\n  lisen: 0.0.0.0:1\n');
    expect(err.field).toBe('mqtt.lisen');
    expect(err.message).toContain('mqtt.lisen: unknown key (value "0.0.0.0:1"); did you mean "listen"?');
    expect(err.message).toContain('(line 2)');
    expect(problem('colour: red').message).toContain('known keys: data_dir, mqtt, http, retention, alerts, bundles');
    expect(problem('mqtt:\n  tls:\n    caa: x\n').message).toContain('mqtt.tls.caa: unknown key (value "x"); did you mean "ca"?');
    expect(problem('mqtt:\n  devices:\n    - { id: a, password: x, pasword: y }\n').message).toContain('did you mean "password"?');
  });

  it('names the field, the value and what was expected', () => {
    expect(problem('mqtt:\n  max_message_bytes: 1 MiBs').message).toMatch(/mqtt\.max_message_bytes: expected a size .*got "1 MiBs"/);
    expect(problem('mqtt:\n  max_message_bytes: 10').message).toMatch(/from 1KiB to 256MiB.*, got 10/);
    expect(problem('mqtt:\n  listen: localhost').message).toMatch(/mqtt\.listen: expected "host:port".*got "localhost"/);
    expect(problem('mqtt:\n  listen: h:70000').field).toBe('mqtt.listen');
    expect(problem('mqtt:\n  url: http://x').message).toMatch(/mqtt\.url: expected a broker URL .*got "http:\/\/x"/);
    expect(problem('mqtt:\n  allow_anonymous: yes please').message).toMatch(/mqtt\.allow_anonymous: expected a boolean, got "yes please"/);
    expect(problem('mqtt:\n  devices: {a: 1}').message).toMatch(/mqtt\.devices: expected a list, got a mapping/);
    expect(problem('mqtt:\n  share_group: a/b').field).toBe('mqtt.share_group');
  });

  it('device ids must be names, unique, with a password', () => {
    const bad = problem('mqtt:\n  devices:\n    - { id: "a b", password: x }\n    - { id: e }\n');
    expect(bad.issues.map((i) => i.field)).toEqual(['mqtt.devices[0].id', 'mqtt.devices[1].password']);
    expect(bad.message).toContain('mqtt.devices[0].id: expected 1-64 characters');
    expect(bad.message).toContain('(line 4)');
    const twice = problem('mqtt:\n  devices:\n    - { id: d, password: x }\n    - { id: d, password: y }\n');
    expect(twice.field).toBe('mqtt.devices[1].id');
    expect(twice.message).toContain('listed twice, got "d" (line 4)');
  });

  it('API tokens: a role of read or admin, long enough, names and tokens unique', () => {
    const ok = parse('http:\n  tokens:\n    - { name: grafana, token: 0123456789abcdef, role: read }\n    - { name: ops, token: fedcba9876543210, role: admin }\n');
    expect(ok.http.tokens).toEqual([
      { name: 'grafana', token: '0123456789abcdef', role: 'read' },
      { name: 'ops', token: 'fedcba9876543210', role: 'admin' },
    ]);
    expect(problem('http:\n  tokens:\n    - { name: a, token: short, role: read }\n').message).toContain(
      'http.tokens[0].token: expected a token of at least 16 characters (openssl rand -hex 24 makes one)',
    );
    expect(problem('http:\n  tokens:\n    - { name: a, token: 0123456789abcdef, role: root }\n').field).toBe('http.tokens[0].role');
    const twice = problem('http:\n  tokens:\n    - { name: a, token: 0123456789abcdef, role: read }\n    - { name: a, token: 0123456789abcdef, role: admin }\n');
    expect(twice.issues.map((i) => i.field)).toEqual(['http.tokens[1].name', 'http.tokens[1].token']);
  });

  it('fleet alert rules: both kinds read with their defaults; a bad one names the field', () => {
    const c = parse(
      [
        'alerts:',
        '  interval: 30s',
        '  rules:',
        '    - {name: amount_drift, kind: device_share, model: fraud, condition: {drifted: amount}, min_share: 0.2, for: 5m}',
        '    - {name: fleet_drift, kind: fleet_drift, model: fraud, version: v3, min_share: 0.3, severity: critical}',
        '  device_offline: {grace: 1h}',
        '  sync_overdue: null',
        '  notify:',
        '    alertmanagers: [{url: "http://am:9093"}]',
        '',
      ].join('\n'),
    );
    expect(c.alerts.interval).toBe(30_000);
    expect(c.alerts.rules).toEqual([
      { name: 'amount_drift', kind: 'device_share', model: 'fraud', version: null, site: null, condition: { drifted: 'amount' }, min_share: 0.2, min_devices: 1, over: 900_000, for: 300_000, severity: 'warning' },
      { name: 'fleet_drift', kind: 'fleet_drift', model: 'fraud', version: 'v3', min_share: 0.3, for: 0, severity: 'critical' },
    ]);
    expect(c.alerts.device_offline).toEqual({ grace: 3_600_000, severity: 'warning' });
    expect(c.alerts.sync_overdue).toBeNull();
    expect(c.alerts.notify.alertmanagers).toEqual([{ url: 'http://am:9093', timeout: 5_000 }]);
    expect(problem('alerts:\n  rules:\n    - {name: x, kind: device_share, model: m, condition: {drifted: a}, min_share: 2}\n').field).toBe('alerts.rules[0].min_share');
    expect(problem('alerts:\n  rules:\n    - {name: x, kind: weekly, model: m}\n').message).toContain('expected kind device_share or fleet_drift');
    expect(problem('alerts:\n  interval: soon\n').message).toContain('alerts.interval: expected a duration such as "30s"');
    expect(problem('alerts:\n  notify:\n    webhooks: [{url: "ftp://x"}]\n').field).toBe('alerts.notify.webhooks[0].url');
  });

  it('cross-field rules', () => {
    expect(problem('bundles: { require_hmac: true }').field).toBe('bundles.require_hmac');
    expect(problem('mqtt: { password: x }').field).toBe('mqtt.username');
  });

  it('lists every problem at once, and YAML errors as syntax errors', () => {
    const err = problem('data_dir: 5\nhttp:\n  listen: nope\n');
    expect(err.issues).toHaveLength(2);
    expect(err.message.split('\n')[0]).toBe(`config ${SOURCE}: 2 problems`);
    const syntax = problem('mqtt: [\n');
    expect(syntax.code).toBe('EW_ERR_CONFIG_SYNTAX');
  });

  it('a missing file is a read error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ewc-config-'));
    try {
      loadCollectorConfig(path.join(dir, 'nope.yaml'));
      expect.unreachable();
    } catch (err) {
      expect((err as CollectorConfigError).code).toBe('EW_ERR_CONFIG_READ');
      expect((err as Error).message).toContain('config file not found');
    }
  });

  it('size and address notations', () => {
    expect(readSize('1MiB')).toBe(1_048_576);
    expect(readSize('1.5KiB')).toBe(1536);
    expect(readSize('1.1KB')).toBe(1100);
    expect(readSize('1.5B')).toMatch(/expected/);
    expect(readSize(2048)).toBe(2048);
    expect(readSize('1.1B')).toMatch(/expected/);
    expect(readSize(-1)).toMatch(/expected/);
    expect(readListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(readListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(readListen(':80')).toMatch(/expected/);
    expect(readListen(8080)).toMatch(/expected/);
  });
});
