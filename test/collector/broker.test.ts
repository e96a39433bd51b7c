// The embedded broker with real parts: aedes on port 0, devices as real mqtt.js clients, ingest
// and store on a real SQLite file. The hinge under test: a QoS 1 PUBLISH is committed before its
// PUBACK, so a message whose commit fails is never acknowledged and comes again.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authorizeTopic, DeviceGate, startEmbeddedBroker, type EmbeddedBroker, type MqttSink } from '../../collector/broker/index.js';
import { defaultCollectorConfig, type CollectorConfig, type DeviceCredential } from '../../collector/config/index.js';
import { Ingest, inlineSink, type InlineBatch } from '../../collector/ingest/index.js';
import { decodeEnvelope } from '../../agent/wire/index.js';
import { createCollectorLogger, type Logger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { profile, status, summary, windowBody, type Message } from './messages.js';

const DEVICES: DeviceCredential[] = [
  { id: 'd1', password: 'pw-one' },
  { id: 'd2', password: 'pw-two' },
];

function testConfig(dataDir: string, over: Partial<CollectorConfig['mqtt']> = {}): CollectorConfig {
  const base = defaultCollectorConfig(dataDir);
  return { ...base, mqtt: { ...base.mqtt, listen: { host: '127.0.0.1', port: 0 }, devices: DEVICES, ...over }, http: { listen: null, tokens: [] } };
}

/** A window summary of device `device`, window `index`, seq `seq`. */
function windowMessage(device: string, seq: number, index = seq): Message {
  return summary({ device, seq }, windowBody(profile({ index, records: 20, features: 1 })));
}

describe('DeviceGate', () => {
  const gate = new DeviceGate(DEVICES, false);
  const open = new DeviceGate(DEVICES, true);
  const pw = (s: string) => Buffer.from(s);

  it('admits a device with its password and its own client id', () => {
    expect(gate.admit('edgewatch-agent-d1', 'd1', pw('pw-one'))).toEqual({ ok: true, device: 'd1', anonymous: false });
  });

  it('refuses a wrong, missing or other device password with CONNACK 4', () => {
    for (const p of [pw('pw-two'), pw(''), pw('pw-one '), undefined]) {
      const a = gate.admit('edgewatch-agent-d1', 'd1', p);
      expect(a).toMatchObject({ ok: false, returnCode: 4 });
    }
    expect(gate.admit('edgewatch-agent-d9', 'd9', pw('x'))).toMatchObject({ ok: false, returnCode: 4 });
    // allow_anonymous does not excuse a wrong password for a device that has one
    expect(open.admit('edgewatch-agent-d1', 'd1', pw('nope'))).toMatchObject({ ok: false, returnCode: 4 });
  });

  it("refuses a client id that is not edgewatch-agent-<username>, so no device can knock another off", () => {
    const a = gate.admit('edgewatch-agent-d2', 'd1', pw('pw-one'));
    expect(a).toMatchObject({ ok: false, returnCode: 5 });
    if (!a.ok) expect(a.why).toContain('edgewatch-agent-d1');
  });

  it('admits anonymous clients only with allow_anonymous, bound by their client id', () => {
    expect(gate.admit('edgewatch-agent-d7', undefined, undefined)).toMatchObject({ ok: false, returnCode: 5 });
    expect(open.admit('edgewatch-agent-d7', undefined, undefined)).toEqual({ ok: true, device: 'd7', anonymous: true });
    expect(open.admit('edgewatch-agent-d7', 'd7', undefined)).toEqual({ ok: true, device: 'd7', anonymous: true });
    expect(open.admit('edgewatch-agent-d7', 'd8', undefined)).toMatchObject({ ok: false, returnCode: 5 });
    expect(open.admit('some-client', undefined, undefined)).toMatchObject({ ok: false, returnCode: 5 });
    expect(open.admit('edgewatch-agent-bad/id', undefined, undefined)).toMatchObject({ ok: false });
  });
});

describe('authorizeTopic', () => {
  it("lets a device publish every kind under its own id, at any site", () => {
    for (const kind of ['summary', 'alert', 'gap', 'revision', 'status']) {
      expect(authorizeTopic('d1', `edgewatch/v1/s1/d1/${kind}`)).toMatchObject({ ok: true, device: 'd1', kind });
    }
    expect(authorizeTopic('d1', 'edgewatch/v1/other-site/d1/summary')).toMatchObject({ ok: true, site: 'other-site' });
  });

  it("refuses another device's topics and anything outside the tree", () => {
    for (const topic of ['edgewatch/v1/s1/d2/summary', 'edgewatch/v1/s1/d1/metrics', 'edgewatch/v1/s1/d1', 'other/topic', '$SYS/x', 'edgewatch/v2/s1/d1/summary']) {
      expect(authorizeTopic('d1', topic).ok, topic).toBe(false);
    }
  });
});

describe('embedded broker', () => {
  let dir: string;
  let store: CollectorStore;
  let ingest: Ingest;
  let lines: Array<Record<string, unknown>>;
  let log: Logger;
  let broker: EmbeddedBroker | null;
  const clients: MqttClient[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-broker-'));
    lines = [];
    log = createCollectorLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    store = CollectorStore.open(dir);
    ingest = new Ingest(store, { maxMessageBytes: 1024 * 1024, log });
    broker = null;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
    await broker?.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(sink: MqttSink = inlineSink(ingest), over: Partial<CollectorConfig['mqtt']> = {}): Promise<EmbeddedBroker> {
    broker = await startEmbeddedBroker(testConfig(dir, over), { sink, log });
    return broker;
  }

  async function device(id: string, password: string | undefined, over: IClientOptions = {}): Promise<MqttClient> {
    const c = await connectAsync((broker as EmbeddedBroker).url, {
      clientId: `edgewatch-agent-${id}`,
      ...(password === undefined ? {} : { username: id, password }),
      clean: false,
      reconnectPeriod: 0,
      ...over,
    });
    clients.push(c);
    return c;
  }

  it('listens on a free port when mqtt.listen asks for port 0, and reports it', async () => {
    const b = await start();
    expect(b.port).toBeGreaterThan(0);
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
  });

  it('has every QoS 1 message committed to SQLite when its PUBACK reaches the device', async () => {
    await start();
    const d1 = await device('d1', 'pw-one');
    const seen: number[] = [];
    for (let seq = 1; seq <= 8; seq++) {
      const m = windowMessage('d1', seq);
      // publishAsync resolves when the PUBACK is handled by the client
      await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
      seen.push(store.status().summaries);
      expect(store.windows('d1', {}).map((w) => w.seq)).toContain(seq);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(store.device('d1')).toMatchObject({ id: 'd1', site: 's1', last_seq: 8, summaries: 8 });
  });

  it('never acknowledges a message whose commit failed; the device sends it again and it is stored once', async () => {
    let failNext = true;
    const calls: string[] = [];
    const inline = inlineSink(ingest);
    const flaky: MqttSink = {
      check: (messages) => inline.check(messages),
      commit(batch, skip) {
        if (failNext) {
          failNext = false;
          calls.push('throw');
          return Promise.reject(new Error('disk full'));
        }
        calls.push('commit');
        return inline.commit(batch, skip);
      },
    };
    const b = await start(flaky);
    // mqtt.js keeps an unacknowledged QoS 1 message and sends it again (DUP) after reconnecting
    const d1 = await device('d1', 'pw-one', { reconnectPeriod: 50 });
    const pubacks: number[] = [];
    d1.on('packetreceive', (p) => {
      if (p.cmd === 'puback') pubacks.push(p.messageId as number);
    });
    const m = windowMessage('d1', 1);
    await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    // The first attempt threw: no PUBACK for it, the connection was closed, the resend committed.
    expect(calls).toEqual(['throw', 'commit']);
    expect(pubacks).toHaveLength(1);
    expect(store.status()).toMatchObject({ summaries: 1, duplicates: 0 });
    expect(b.stats().ingest_failed).toBe(1);
  });

  it('after a failed commit, commits nothing more from that connection, so the resend keeps the order', async () => {
    const order: number[] = [];
    let failed = false;
    let committed = 0;
    const inline = inlineSink(ingest);
    // The batch that holds the second message fails as a whole; whatever was behind it on the
    // connection must not be committed before the device has sent it again.
    const flaky: MqttSink = {
      check: (messages) => inline.check(messages),
      async commit(batch, skip) {
        const { messages } = batch as InlineBatch;
        const kept = messages.length - skip.size;
        if (!failed && committed + kept >= 2) {
          failed = true;
          throw new Error('disk full');
        }
        committed += kept;
        const results = await inline.commit(batch, skip);
        results.forEach((r, i) => {
          const env = decodeEnvelope(messages[i]!.payload, 1 << 20);
          if (r?.status === 'stored' && env.ok) order.push(env.value.seq);
        });
        return results;
      },
    };
    await start(flaky);
    const d1 = await device('d1', 'pw-one', { reconnectPeriod: 50 });
    // Not awaited one by one: the six PUBLISHes go out together and arrive in one read.
    await Promise.all([1, 2, 3, 4, 5, 6].map((seq) => {
      const m = windowMessage('d1', seq);
      return d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    }));
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
    // Stored once each. The PUBACK of seq 1 may die with the connection aedes closes: the agent
    // then sends seq 1 again, and it is counted as a duplicate, not stored twice.
    expect(store.status().summaries).toBe(6);
    expect(store.status().duplicates).toBeLessThanOrEqual(1);
  });

  it('a batch checked while the batch before it fails to commit leaves out that connection, so the resend keeps the order', async () => {
    // Checks take 40 ms and the first commit fails after 40 ms: seq 1 goes alone, seqs 2 and 3 are
    // checked while it fails, and must then be left out of the next commit, not stored ahead of it.
    const inline = inlineSink(ingest);
    const skips: number[][] = [];
    const order: number[] = [];
    let commits = 0;
    const slow: MqttSink = {
      check: async (messages) => {
        await sleep(40);
        return inline.check(messages);
      },
      async commit(batch, skip) {
        skips.push([...skip]);
        if (commits++ === 0) {
          await sleep(40);
          throw new Error('disk full');
        }
        const results = await inline.commit(batch, skip);
        results.forEach((r, i) => {
          const env = decodeEnvelope((batch as InlineBatch).messages[i]!.payload, 1 << 20);
          if (r?.status === 'stored' && env.ok) order.push(env.value.seq);
        });
        return results;
      },
    };
    await start(slow);
    const d1 = await device('d1', 'pw-one', { reconnectPeriod: 50 });
    const sent = [windowMessage('d1', 1)].map((m) => d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 }));
    await sleep(10);
    sent.push(...[2, 3].map((seq) => windowMessage('d1', seq)).map((m) => d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 })));
    await Promise.all(sent);
    expect(skips[1]).toEqual([0, 1]);
    expect(order).toEqual([1, 2, 3]);
    expect(store.status().summaries).toBe(3);
  });

  it('stores a message sent twice once (exactly once by device and seq)', async () => {
    await start();
    const d1 = await device('d1', 'pw-one');
    const m = windowMessage('d1', 1);
    await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    expect(store.status()).toMatchObject({ summaries: 1, duplicates: 1 });
  });

  it('acknowledges a malformed message (so the agent does not resend it forever) and counts it', async () => {
    const b = await start();
    const d1 = await device('d1', 'pw-one');
    await d1.publishAsync('edgewatch/v1/s1/d1/summary', Buffer.from('not cbor at all \xff'), { qos: 1 });
    expect(d1.connected).toBe(true);
    const rejected = store.status().rejected;
    expect(Object.values(rejected).reduce((a, n) => a + n, 0)).toBe(1);
    expect(b.stats().acl_refused).toBe(0);
    // and the connection carries on
    const m = windowMessage('d1', 1);
    await d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    expect(store.status().summaries).toBe(1);
  });

  it("refuses a publish to another device's topic: no PUBACK, connection closed, counted, logged once a minute", async () => {
    const b = await start();
    for (let i = 0; i < 2; i++) {
      const d1 = await device('d1', 'pw-one');
      const closed = new Promise<void>((resolve) => d1.once('close', () => resolve()));
      const m = windowMessage('d2', 1);
      const acked = d1.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 }).then(() => true, () => false);
      await closed;
      expect(await Promise.race([acked, sleep(100).then(() => 'no puback')])).toBe('no puback');
    }
    expect(b.stats().acl_refused).toBe(2);
    expect(store.status().summaries).toBe(0);
    expect(store.device('d2')).toBeNull();
    const acl = lines.filter((l) => l['reason'] === 'acl_refused');
    expect(acl).toHaveLength(1);
    expect(acl[0]).toMatchObject({ level: 'warn', device: 'd1', topic: 'edgewatch/v1/s1/d2/summary' });
  });

  it('refuses wrong credentials and anonymous devices unless allow_anonymous', async () => {
    const b = await start();
    await expect(device('d1', 'wrong')).rejects.toMatchObject({ code: 4 });
    await expect(device('d9', 'whatever')).rejects.toMatchObject({ code: 4 });
    await expect(device('d1', undefined)).rejects.toMatchObject({ code: 5 });
    expect(b.stats().connections_refused).toBe(3);
  });

  it('admits an anonymous device bound to its client id when allow_anonymous is on', async () => {
    await start(inlineSink(ingest), { allow_anonymous: true });
    const d7 = await device('d7', undefined);
    const m = windowMessage('d7', 1);
    await d7.publishAsync(m.topic, Buffer.from(m.bytes), { qos: 1 });
    expect(store.device('d7')).toMatchObject({ summaries: 1 });
  });

  it('refuses subscriptions: devices have nothing to read', async () => {
    const b = await start();
    const d1 = await device('d1', 'pw-one');
    // mqtt.js reports a SUBACK of 0x80 as an error carrying the packet
    const refused = await d1.subscribeAsync('edgewatch/v1/#', { qos: 1 }).then(
      () => null,
      (e: { packet?: { granted?: number[] } }) => e.packet?.granted,
    );
    expect(refused).toEqual([128]);
    expect(d1.connected).toBe(true);
    expect(b.stats().subscribes_refused).toBe(1);
  });

  it('hands retained status messages and the last will (offline) to ingest', async () => {
    await start();
    const offline = status({ device: 'd2', state: 'offline', at: Date.now() });
    const d2 = await device('d2', 'pw-two', { will: { topic: offline.topic, payload: Buffer.from(offline.bytes), qos: 1, retain: true } });
    const online = status({ device: 'd2', state: 'online', at: Date.now() - 1000, sync: { mode: 'scheduled', cron: '0 */6 * * *' } });
    await d2.publishAsync(online.topic, Buffer.from(online.bytes), { qos: 1, retain: true });
    expect(store.device('d2')).toMatchObject({ online: true, agent_version: '0.1.0', sync: { mode: 'scheduled', cron: '0 */6 * * *' } });
    // The link drops without a DISCONNECT: the broker publishes the will.
    d2.stream.destroy();
    for (let i = 0; i < 100 && store.device('d2')?.online !== false; i++) await sleep(10);
    expect(store.device('d2')).toMatchObject({ online: false });
  });

  it('closes: the port is free again and nothing reaches ingest afterwards', async () => {
    const b = await start();
    await device('d1', 'pw-one');
    await b.close();
    await b.close();
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(b.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});

describe('embedded broker on a taken port', () => {
  beforeAll(async () => {
    // Mosquitto holds 127.0.0.1:1883 on the test machines (`mosquitto -d` starts it).
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(1883, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!up) throw new Error('nothing listens on 127.0.0.1:1883; start Mosquitto (mosquitto -d) for this test');
  });

  it('fails at start naming mqtt.listen, the config file and the way out', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-broker-'));
    const base = testConfig(dir);
    const config: CollectorConfig = { ...base, source: path.join(dir, 'collector.yaml'), mqtt: { ...base.mqtt, listen: { host: '127.0.0.1', port: 1883 } } };
    const err = await startEmbeddedBroker(config, { sink: inlineSink(new Ingest(null, { maxMessageBytes: 1024, log: createCollectorLogger({ write: () => {} }) })), log: createCollectorLogger({ write: () => {} }) }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('BrokerListenError');
    expect(err?.message).toBe(
      'port 1883 is in use (mqtt.listen in collector.yaml); another broker such as Mosquitto may hold it: set mqtt.listen to a free port, or set mqtt.url to use that broker',
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
