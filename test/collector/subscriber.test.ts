// The subscriber against the real Mosquitto on 127.0.0.1:1883 (these tests fail, not skip, when it
// is not there: `mosquitto -d` starts it). Each test uses its own client ids, device ids and share
// group, so other runs and other tests on the same broker do not disturb the counts, and deletes
// its persistent sessions at the end.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultCollectorConfig, type CollectorConfig } from '../../collector/config/index.js';
import { Ingest, inlineSink, type InlineBatch } from '../../collector/ingest/index.js';
import { createCollectorLogger, type Logger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { clientOptions, startSubscriber, subscriptionTopic, withoutPassword, type MqttSink, type Subscriber } from '../../collector/subscriber/index.js';
import { profile, summary, windowBody, type Message } from './messages.js';

const MOSQUITTO = 'mqtt://127.0.0.1:1883';
const FAST = { initialMs: 50, maxMs: 400 };
const RUN = randomUUID().slice(0, 8);

function testConfig(dataDir: string, clientId: string, over: Partial<CollectorConfig['mqtt']> = {}): CollectorConfig {
  const base = defaultCollectorConfig(dataDir);
  return { ...base, mqtt: { ...base.mqtt, url: MOSQUITTO, client_id: clientId, ...over }, http: { listen: null, tokens: [] } };
}

function windowMessage(device: string, seq: number): Message {
  return summary({ device, seq }, windowBody(profile({ index: seq, records: 10, features: 1 })));
}

/** A collector's insides: a store in its own tmp dir and ingest over it. */
class Side {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-sub-'));
  readonly lines: Array<Record<string, unknown>> = [];
  readonly log: Logger = createCollectorLogger({ level: 'debug', write: (l) => this.lines.push(JSON.parse(l) as Record<string, unknown>) });
  readonly store = CollectorStore.open(this.dir);
  readonly ingest = new Ingest(this.store, { maxMessageBytes: 1024 * 1024, log: this.log });

  /** Seqs of `device` stored, ascending. */
  seqs(device: string): number[] {
    return this.store
      .windows(device, { limit: 10_000 })
      .map((w) => w.seq)
      .sort((a, b) => a - b);
  }

  dispose(): void {
    this.store.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('subscriber on Mosquitto', () => {
  let publisher: MqttClient;
  const sides: Side[] = [];
  const subscribers: Subscriber[] = [];
  const sessions = new Set<string>();

  beforeAll(async () => {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(1883, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!up) throw new Error(`Mosquitto is not reachable at ${MOSQUITTO}; start it with \`mosquitto -d\``);
    publisher = await connectAsync(MOSQUITTO, { clientId: `ew-test-pub-${RUN}`, clean: true, reconnectPeriod: 0 });
  });

  afterEach(async () => {
    for (const s of subscribers.splice(0)) await s.close();
    for (const s of sides.splice(0)) s.dispose();
  });

  afterAll(async () => {
    await publisher?.endAsync();
    // Leave no persistent session (and its queue) behind on the shared broker.
    for (const clientId of sessions) {
      const c = await connectAsync(MOSQUITTO, { clientId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
      await c.endAsync();
    }
  });

  function side(): Side {
    const s = new Side();
    sides.push(s);
    return s;
  }

  function subscribe(s: Side, clientId: string, over: Partial<CollectorConfig['mqtt']> = {}, sink: MqttSink = inlineSink(s.ingest)): Subscriber {
    sessions.add(clientId);
    const sub = startSubscriber(testConfig(s.dir, clientId, over), { sink, log: s.log, backoff: FAST });
    subscribers.push(sub);
    return sub;
  }

  async function publish(messages: Message[]): Promise<void> {
    for (const m of messages) await publisher.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
  }

  it('stores what devices publish, in order, once', async () => {
    const s = side();
    const sub = subscribe(s, `ew-test-col-${RUN}-a`);
    await sub.ready();
    expect(sub.connected()).toBe(true);
    const device = `dev-${RUN}-a`;
    await publish(range(10).map((seq) => windowMessage(device, seq)));
    await until('10 summaries', () => s.seqs(device).length === 10);
    expect(s.seqs(device)).toEqual(range(10));
    expect(s.store.device(device)).toMatchObject({ last_seq: 10, summaries: 10 });
  });

  it('does not acknowledge a message whose commit failed: Mosquitto sends it again and it is stored once', async () => {
    const s = side();
    const device = `dev-${RUN}-b`;
    let failed = 0;
    const inline = inlineSink(s.ingest);
    const flaky: MqttSink = {
      check: (messages) => inline.check(messages),
      commit(batch, skip) {
        if ((batch as InlineBatch).messages.some((m) => m.topic.includes(device)) && failed === 0 && s.seqs(device).length === 3) {
          failed++;
          return Promise.reject(new Error('disk full'));
        }
        return inline.commit(batch, skip);
      },
    };
    const sub = subscribe(s, `ew-test-col-${RUN}-b`, {}, flaky);
    await sub.ready();
    await publish(range(8).map((seq) => windowMessage(device, seq)));
    await until('8 summaries', () => s.seqs(device).length === 8);
    expect(failed).toBe(1);
    expect(sub.stats().ingest_failed).toBe(1);
    expect(sub.stats().connects).toBeGreaterThanOrEqual(2);
    expect(s.seqs(device)).toEqual(range(8));
    expect(s.store.status().duplicates).toBe(0);
  });

  it('gets what was published while it was down, after it comes back (persistent session)', async () => {
    const s = side();
    const clientId = `ew-test-col-${RUN}-c`;
    const device = `dev-${RUN}-c`;
    const first = subscribe(s, clientId);
    await first.ready();
    await publish(range(3).map((seq) => windowMessage(device, seq)));
    await until('3 summaries', () => s.seqs(device).length === 3);
    await first.close();

    // The collector is down: these queue at the broker.
    await publish(range(12).slice(3).map((seq) => windowMessage(device, seq)));
    await sleep(200);
    expect(s.seqs(device)).toEqual([1, 2, 3]);

    const second = subscribe(s, clientId);
    await second.ready();
    await until('12 summaries', () => s.seqs(device).length === 12);
    expect(s.seqs(device)).toEqual(range(12));
    expect(s.store.status().duplicates).toBe(0);
    expect(s.lines.some((l) => l['msg'] === 'mqtt subscriber connected' && l['session_present'] === true)).toBe(true);
  });

  it('splits one stream between two collectors of a share group, nothing stored twice', async () => {
    const group = `ew-test-${RUN}`;
    const a = side();
    const b = side();
    const subA = subscribe(a, `ew-test-col-${RUN}-d1`, { share_group: group });
    const subB = subscribe(b, `ew-test-col-${RUN}-d2`, { share_group: group });
    expect(subA.topic).toBe(`$share/${group}/edgewatch/v1/+/+/+`);
    await Promise.all([subA.ready(), subB.ready()]);
    const device = `dev-${RUN}-d`;
    const n = 40;
    await publish(range(n).map((seq) => windowMessage(device, seq)));
    await until(`${n} summaries between the two`, () => a.seqs(device).length + b.seqs(device).length >= n);
    await sleep(200);
    const seqsA = a.seqs(device);
    const seqsB = b.seqs(device);
    expect(seqsA.length + seqsB.length).toBe(n);
    expect(seqsA.filter((q) => seqsB.includes(q))).toEqual([]);
    expect([...seqsA, ...seqsB].sort((x, y) => x - y)).toEqual(range(n));
    expect(seqsA.length).toBeGreaterThan(0);
    expect(seqsB.length).toBeGreaterThan(0);
  });

  it('keeps retrying a broker that is down, with a capped back-off, logging the error once', async () => {
    const s = side();
    const holder = net.createServer((sock) => sock.destroy());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    const sub = subscribe(s, `ew-test-col-${RUN}-e`, { url: `mqtt://127.0.0.1:${port}` });
    await sleep(1_000);
    expect(sub.connected()).toBe(false);
    const errors = s.lines.filter((l) => l['msg'] === 'mqtt subscriber: connection error');
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.['error'])).toContain('ECONNREFUSED');
    sessions.delete(`ew-test-col-${RUN}-e`);
    const ready = sub.ready().then(
      () => 'ready',
      (e: Error) => e.message,
    );
    await sub.close();
    expect(await ready).toBe('the subscriber was closed before it subscribed');
  });
});

describe('subscriber options', () => {
  const dir = os.tmpdir();

  it('is MQTT 5, persistent, QoS 1 on the whole tree or a share of it', () => {
    const { options } = clientOptions(testConfig(dir, 'col-1'));
    expect(options).toMatchObject({ protocolVersion: 5, clean: false, clientId: 'col-1', properties: { sessionExpiryInterval: 0xffffffff }, reconnectPeriod: 0 });
    expect(subscriptionTopic(null)).toBe('edgewatch/v1/+/+/+');
    expect(subscriptionTopic('g1')).toBe('$share/g1/edgewatch/v1/+/+/+');
  });

  it('reads the TLS files at start and names the setting when one cannot be read', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-tls-'));
    try {
      fs.writeFileSync(path.join(tmp, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
      const tls = { ca: path.join(tmp, 'ca.pem'), cert: null, key: null, servername: 'broker.example', reject_unauthorized: true };
      const { options } = clientOptions(testConfig(dir, 'c', { url: 'mqtts://broker:8883', tls, username: 'col', password: 'secret' }));
      expect(options).toMatchObject({ servername: 'broker.example', rejectUnauthorized: true, username: 'col', password: 'secret' });
      expect(String(options.ca)).toContain('BEGIN CERTIFICATE');
      expect(() => clientOptions(testConfig(dir, 'c', { url: 'mqtts://broker:8883', tls: { ...tls, key: path.join(tmp, 'missing.pem') } }))).toThrow(
        `mqtt.tls.key: cannot read "${path.join(tmp, 'missing.pem')}": no such file`,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses a URL that is not MQTT, naming mqtt.url', () => {
    expect(() => clientOptions(testConfig(dir, 'c', { url: 'http://broker:1883' }))).toThrow(/^mqtt\.url: scheme "http:"/);
  });

  it('keeps passwords out of the URL it shows', () => {
    expect(withoutPassword('mqtt://col:s3cret@broker:1883')).toBe('mqtt://col:***@broker:1883');
    expect(withoutPassword('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});
