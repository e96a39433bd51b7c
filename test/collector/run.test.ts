// The whole collector: in-process (startCollector) with the embedded broker and with Mosquitto,
// and `run` as a child process that prints its endpoints and leaves cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, startCollector, type RunningCollector } from '../../collector/cli/run.js';
import { defaultCollectorConfig, type CollectorConfig } from '../../collector/config/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { alert, alertBody, profile, status, summary, windowBody, wireAlert } from './messages.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const log = createCollectorLogger({ write: () => {} });
const RUN = randomUUID().slice(0, 8);

function testConfig(dataDir: string, over: Partial<CollectorConfig['mqtt']> = {}): CollectorConfig {
  const base = defaultCollectorConfig(dataDir);
  return {
    ...base,
    mqtt: { ...base.mqtt, listen: { host: '127.0.0.1', port: 0 }, devices: [{ id: 'd1', password: 'pw-one' }], ...over },
    http: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'tests', token: TOKEN, role: 'read' }] },
  };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-run-'));
  dirs.push(d);
  return d;
}

const TOKEN = 'run-test-token-0123456789';
const AUTH = { headers: { authorization: `Bearer ${TOKEN}` } };
const running: RunningCollector[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('startCollector', () => {
  it('runs the embedded broker and the API: a device publishes, the API shows it', async () => {
    const dir = tmp();
    const c = await startCollector(testConfig(dir), { log });
    running.push(c);
    expect(c.broker).not.toBeNull();
    expect(c.endpoints).toEqual([`mqtt broker listening on ${c.mqttUrl}`, `http api on ${c.httpUrl}/api/devices`]);

    const d1 = await connectAsync(c.mqttUrl, { clientId: 'edgewatch-agent-d1', username: 'd1', password: 'pw-one', clean: false, reconnectPeriod: 0 });
    const st = status({ state: 'online', at: Date.now() });
    await d1.publishAsync(st.topic, Buffer.from(st.bytes), { qos: 1, retain: true });
    const m = summary({ seq: 1 }, windowBody(profile({ records: 20 })));
    await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    await d1.endAsync();

    const res = await fetch(`${c.httpUrl}/api/devices`, AUTH);
    expect((await fetch(`${c.httpUrl}/api/devices`)).status).toBe(401);
    const body = (await res.json()) as { devices: Array<Record<string, unknown>> };
    expect(body.devices).toEqual([expect.objectContaining({ id: 'd1', site: 's1', online: true, last_seq: 1, summaries: 1 })]);
    const health = (await (await fetch(`${c.httpUrl}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, devices: 1 });
    // /metrics counts what ingest committed since start.
    const metrics = await (await fetch(`${c.httpUrl}/metrics`, AUTH)).text();
    expect(metrics).toContain('edgewatch_collector_messages_total{result="stored"} 1\n');
    expect(metrics).toContain('edgewatch_collector_messages_total{result="status"} 1\n');
    expect(metrics).toContain('edgewatch_collector_devices{state="online"} 1\n');
    // The fleet worker evaluates the fleet alerts: d1's agent alert becomes a fleet alert.
    const a = alert({ seq: 2 }, alertBody([wireAlert({ id: 5, rule: 'latency_p99', state: 'firing' })]));
    const d1b = await connectAsync(c.mqttUrl, { clientId: 'edgewatch-agent-d1', username: 'd1', password: 'pw-one', clean: false, reconnectPeriod: 0 });
    await d1b.publishAsync(a.topic, Buffer.from(a.bytes), { qos: 1 });
    await d1b.endAsync();
    expect(await c.fleet.evaluateAlerts()).toBeGreaterThanOrEqual(1);
    const fleetAlerts = (await (await fetch(`${c.httpUrl}/api/alerts`, AUTH)).json()) as { alerts: { name: string; state: string; devices: { device: string }[] }[] };
    expect(fleetAlerts.alerts.find((x) => x.name === 'latency_p99')).toMatchObject({ state: 'firing', devices: [{ device: 'd1' }] });
    // The fleet worker folds the summary into the fleet's and the site's window, hour and day.
    await c.fleet.catchUp();
    const buckets = c.store.db.prepare('SELECT resolution, scope, windows, records FROM fleet_buckets ORDER BY resolution, scope').all();
    expect(buckets).toEqual(
      ['day', 'hour', 'window'].flatMap((resolution) => ['', 'site:s1'].map((scope) => ({ resolution, scope, windows: 1, records: 20 }))),
    );
  });

  it('subscribes to mqtt.url instead when it is set (Mosquitto)', async () => {
    const dir = tmp();
    const clientId = `ew-test-run-${RUN}`;
    const c = await startCollector(testConfig(dir, { url: 'mqtt://127.0.0.1:1883', client_id: clientId }), {
      log,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    running.push(c);
    try {
      expect(c.broker).toBeNull();
      expect(c.endpoints[0]).toBe(`mqtt subscriber for mqtt://127.0.0.1:1883 as ${clientId}, topic edgewatch/v1/+/+/+`);
      await c.subscriber?.ready();
      const device = `dev-${RUN}-run`;
      const pub = await connectAsync('mqtt://127.0.0.1:1883', { clientId: `ew-test-runpub-${RUN}`, reconnectPeriod: 0 });
      const m = summary({ device, seq: 1 }, windowBody(profile({ records: 20 })));
      await pub.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
      await pub.endAsync();
      await until('the summary over the API', async () => (await fetch(`${c.httpUrl}/api/devices/${device}`, AUTH)).status === 200);
    } finally {
      await c.close();
      const cleanup = await connectAsync('mqtt://127.0.0.1:1883', { clientId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
      await cleanup.endAsync();
    }
  });

  it('fails when the HTTP port is taken, naming http.listen, and leaves nothing open', async () => {
    const dir = tmp();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const base = testConfig(dir);
    const config: CollectorConfig = { ...base, source: path.join(dir, 'collector.yaml'), http: { listen: { host: '127.0.0.1', port }, tokens: [] } };
    try {
      await expect(startCollector(config, { log })).rejects.toThrow(`port ${port} is in use (http.listen in collector.yaml)`);
    } finally {
      holder.close();
    }
    // The store was closed: it opens again.
    CollectorStore.open(dir).close();
  });
});

describe('edgewatch-collector run', () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
  }

  it('exits 1 naming mqtt.listen when Mosquitto holds port 1883', async () => {
    const dir = tmp();
    const file = path.join(dir, 'collector.yaml');
    fs.writeFileSync(file, ['data_dir: ./data', 'mqtt:', '  listen: 127.0.0.1:1883', 'http:', '  listen: 127.0.0.1:0'].join('\n'));
    const { io, out, err } = capture();
    expect(await runCommand(['--config', file], io)).toBe(1);
    expect(out).toEqual([]);
    expect(err.join('\n')).toBe(
      'edgewatch-collector: port 1883 is in use (mqtt.listen in collector.yaml); another broker such as Mosquitto may hold it: set mqtt.listen to a free port, or set mqtt.url to use that broker',
    );
  });

  it('exits 2 for a bad command line or configuration', async () => {
    const dir = tmp();
    const bad = capture();
    expect(await runCommand(['--confg', 'x.yaml'], bad.io)).toBe(2);
    expect(bad.err.join('\n')).toMatch(/--confg/);
    const level = capture();
    expect(await runCommand(['--log-level', 'loud'], level.io)).toBe(2);
    expect(level.err.join('\n')).toContain('--log-level: got "loud", expected debug, info, warn or error');
    const file = path.join(dir, 'collector.yaml');
    fs.writeFileSync(file, 'mqtt:\n  lisen: 127.0.0.1:0\n');
    const config = capture();
    expect(await runCommand(['--config', file], config.io)).toBe(2);
    expect(config.err.join('\n')).toMatch(/mqtt\.lisen/);
  });

  it('as a process: prints one line per endpoint, serves, and exits 0 on SIGTERM with everything committed', async () => {
    const dir = tmp();
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const file = path.join(dir, 'collector.yaml');
    fs.writeFileSync(
      file,
      [
        'data_dir: ./data',
        'mqtt:',
        `  listen: 127.0.0.1:${mqttPort}`,
        '  devices:',
        '    - {id: d1, password: pw-one}',
        'http:',
        `  listen: 127.0.0.1:${httpPort}`,
        '  tokens:',
        `    - {name: tests, token: ${TOKEN}, role: read}`,
      ].join('\n'),
    );
    const script = [
      `import { runCommand } from ${JSON.stringify(path.join(ROOT, 'collector/cli/run.ts'))};`,
      'const io = { out: (s) => process.stdout.write(s + "\\n"), err: (s) => process.stderr.write(s + "\\n") };',
      'process.exitCode = await runCommand(process.argv.slice(1), io);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', '--config', file, '--log-level', 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until('the endpoint lines', () => stdout.split('\n').length >= 3 || child.exitCode !== null, 30_000);
      expect(stdout.trim().split('\n')).toEqual([
        `mqtt broker listening on mqtt://127.0.0.1:${mqttPort}`,
        `http api on http://127.0.0.1:${httpPort}/api/devices`,
      ]);
      const d1 = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'edgewatch-agent-d1', username: 'd1', password: 'pw-one', reconnectPeriod: 0 });
      for (let seq = 1; seq <= 3; seq++) {
        const m = summary({ seq }, windowBody(profile({ index: seq, records: 20 })));
        await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
      }
      await d1.endAsync();
      const api = (await (await fetch(`http://127.0.0.1:${httpPort}/api/devices/d1`, AUTH)).json()) as Record<string, unknown>;
      expect(api).toMatchObject({ id: 'd1', summaries: 3 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    // Closed cleanly: the ports are free and the store opens with all three summaries.
    const store = CollectorStore.open(path.join(dir, 'data'));
    try {
      expect(store.device('d1')).toMatchObject({ summaries: 3, last_seq: 3 });
    } finally {
      store.close();
    }
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(mqttPort, '127.0.0.1', resolve);
    });
    again.close();
  });
});
