// The publisher drains the outbox to the broker (docs/sync.md): QoS 1, in seq order, a persistent
// session, and a message leaves the outbox only when its PUBACK has come. Whatever was in flight
// when a link dropped (or the agent died) is sent again from the outbox on the next connection;
// the collector drops the repeat by (device, seq). So delivery is at least once on the wire and
// exactly once in the collector's store.
import fs from 'node:fs';
import type { MqttClient, IClientOptions } from 'mqtt';
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { OutboxStore } from '../store/outbox.js';
import { VERSION } from '../version.js';
import { encodeEnvelope, encodeStatus, topicFor, WIRE_VERSION, type StatusMessage } from '../wire/envelope.js';

/** Messages published and not yet acknowledged, at most: enough to fill a slow link, bounded memory. */
const MAX_IN_FLIGHT = 64;
/** Acknowledged seqs are removed from the outbox in one transaction at most this often. */
const ACK_FLUSH_MS = 200;
/** Reconnect back-off: doubles from the first delay up to the cap, each draw jittered to 50-100%. */
const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_CAP_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface PublisherStats {
  connected: boolean;
  /** Connections made since start. */
  connections: number;
  lastConnectedAt: number | null;
  lastAckAt: number | null;
  /** Publishes sent, including repeats after a reconnect. */
  published: number;
  acknowledged: number;
  inFlight: number;
  lastError: string | null;
  /** Scheduled mode: when the next sync session starts. */
  nextSessionAt: number | null;
}

export interface PublisherOptions {
  config: Pick<AgentConfig, 'device' | 'sync'>;
  outbox: OutboxStore;
  log: Logger;
  now?: () => number;
  /** For tests: the random source of the back-off jitter. */
  random?: () => number;
  /** For tests: a shorter back-off than the 1 s to 60 s a device uses. */
  backoff?: { firstMs: number; capMs: number };
}

/** Capped exponential back-off with jitter: attempt 0 waits about 1 s, later ones up to 60 s. */
export function backoffDelay(attempt: number, random: () => number = Math.random, firstMs = BACKOFF_FIRST_MS, capMs = BACKOFF_CAP_MS): number {
  const ceiling = Math.min(capMs, firstMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}

export class Publisher {
  private client: MqttClient | null = null;
  private readonly inFlight = new Set<number>();
  private acked: number[] = [];
  private ackTimer: NodeJS.Timeout | null = null;
  /** Highest seq handed to the current connection; reset to "none" on every new connection. */
  private cursor = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** Scheduled mode: the session's end, and what to call when the outbox is drained. */
  private sessionEnd: number | null = null;
  private drained: (() => void) | null = null;
  private cronTask: { stop(): void | Promise<void>; destroy(): void | Promise<void>; getNextRun(): Date | null } | null = null;
  private readonly now: () => number;
  private readonly random: () => number;
  readonly stats: PublisherStats = {
    connected: false,
    connections: 0,
    lastConnectedAt: null,
    lastAckAt: null,
    published: 0,
    acknowledged: 0,
    inFlight: 0,
    lastError: null,
    nextSessionAt: null,
  };

  constructor(private readonly opts: PublisherOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  private get sync(): AgentConfig['sync'] {
    return this.opts.config.sync;
  }

  /** Continuous: connect and stay. Scheduled: a session on each cron tick. Manual: nothing. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.sync.mode === 'continuous') {
      this.connect();
    } else if (this.sync.mode === 'scheduled') {
      const cron = await import('node-cron');
      const task = cron.schedule(this.sync.cron as string, () => void this.session(), { noOverlap: true, name: 'edgewatch-sync' });
      this.cronTask = task;
      this.stats.nextSessionAt = task.getNextRun()?.getTime() ?? null;
    }
  }

  /** New messages were committed: send them now if connected. */
  kick(): void {
    if (this.client !== null && this.stats.connected) this.pump();
  }

  /**
   * One sync session: connect, send until the outbox is empty or `maxDurationMs` has passed,
   * disconnect. Resolves with the messages acknowledged in it. Used by the schedule, and by tests.
   */
  async session(maxDurationMs = this.sync.max_duration_ms): Promise<number> {
    if (this.sessionEnd !== null) return 0;
    const ackedBefore = this.stats.acknowledged;
    this.stopped = false;
    this.sessionEnd = this.now() + maxDurationMs;
    this.opts.log.log('info', 'sync session started', { messages: this.opts.outbox.messages, max_duration_ms: maxDurationMs });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, maxDurationMs);
      this.drained = finish;
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.connect();
    });
    this.drained = null;
    this.sessionEnd = null;
    // A reconnect still waiting from this session must not open a connection after it.
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.disconnect(true);
    if (this.cronTask !== null) this.stats.nextSessionAt = this.cronTask.getNextRun()?.getTime() ?? null;
    else if (this.sync.mode !== 'continuous') this.stopped = true;
    const acked = this.stats.acknowledged - ackedBefore;
    this.opts.log.log('info', 'sync session ended', { acknowledged: acked, left: this.opts.outbox.messages });
    return acked;
  }

  /** Stops sending; acknowledged messages are removed before this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.cronTask !== null) {
      await this.cronTask.destroy();
      this.cronTask = null;
    }
    this.drained?.();
    await this.disconnect(true);
  }

  private statusMessage(state: 'online' | 'offline'): Buffer {
    const { device, sync } = this.opts.config;
    const s: StatusMessage = {
      v: WIRE_VERSION,
      device: device.id,
      site: device.site,
      state,
      at: this.now(),
      agent_version: VERSION,
      sync: { mode: sync.mode === 'scheduled' ? 'scheduled' : 'continuous', cron: sync.cron },
      ...(device.tags !== undefined && device.tags.length > 0 ? { tags: device.tags } : {}),
    };
    return Buffer.from(encodeStatus(s));
  }

  private clientOptions(): IClientOptions {
    const { device, sync } = this.opts.config;
    const tls = sync.tls;
    const o: IClientOptions = {
      clientId: `edgewatch-agent-${device.id}`,
      // A persistent session: the broker keeps this device's session between connections.
      clean: false,
      protocolVersion: 4,
      keepalive: Math.round(sync.keepalive_ms / 1000),
      // Reconnects are ours (capped, jittered back-off, a fresh client each time), not mqtt.js'.
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      username: sync.username ?? device.id,
      will: { topic: topicFor(device.site, device.id, 'status'), payload: this.statusMessage('offline'), qos: 1, retain: true },
      rejectUnauthorized: tls.reject_unauthorized,
    };
    if (sync.password !== null) o.password = sync.password;
    if (tls.ca !== null) o.ca = fs.readFileSync(tls.ca);
    if (tls.cert !== null) o.cert = fs.readFileSync(tls.cert);
    if (tls.key !== null) o.key = fs.readFileSync(tls.key);
    if (tls.servername !== null) o.servername = tls.servername;
    return o;
  }

  /** Outside continuous mode a connection belongs to a session, and only while it lasts. */
  private mayConnect(): boolean {
    return !this.stopped && (this.sync.mode === 'continuous' || this.sessionEnd !== null);
  }

  private connect(): void {
    if (!this.mayConnect() || this.client !== null) return;
    void this.open().catch((err: unknown) => this.failed(err as Error));
  }

  private async open(): Promise<void> {
    const { connect } = await import('mqtt');
    if (!this.mayConnect() || this.client !== null) return;
    const client = connect(this.sync.url as string, this.clientOptions());
    this.client = client;
    client.on('connect', () => {
      this.attempt = 0;
      this.stats.connected = true;
      this.stats.connections++;
      this.stats.lastConnectedAt = this.now();
      this.stats.lastError = null;
      this.opts.log.log('info', 'connected to the broker', { url: this.sync.url, outbox: this.opts.outbox.messages });
      client.publish(topicFor(this.opts.config.device.site, this.opts.config.device.id, 'status'), this.statusMessage('online'), { qos: 1, retain: true });
      this.cursor = 0;
      this.inFlight.clear();
      this.pump();
    });
    client.on('error', (err) => {
      this.stats.lastError = err.message;
      this.opts.log.once(`sync:${err.message}`, 'warn', 'broker connection failed', { code: 'EW_ERR_SYNC', url: this.sync.url, detail: err.message });
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.dropClient(client);
      this.retry();
    });
  }

  private failed(err: Error): void {
    this.stats.lastError = err.message;
    this.opts.log.once(`sync:${err.message}`, 'warn', 'broker connection failed', { code: 'EW_ERR_SYNC', url: this.sync.url, detail: err.message });
    const c = this.client;
    if (c !== null) this.dropClient(c);
    this.retry();
  }

  /** Forgets a closed connection: what it had in flight stays in the outbox and goes again. */
  private dropClient(client: MqttClient): void {
    this.client = null;
    this.stats.connected = false;
    this.inFlight.clear();
    this.stats.inFlight = 0;
    this.cursor = 0;
    client.removeAllListeners('close');
    client.on('error', () => {});
    client.end(true);
  }

  private retry(): void {
    if (this.stopped || this.reconnectTimer !== null) return;
    if (this.sessionEnd !== null && this.now() >= this.sessionEnd) return;
    const b = this.opts.backoff;
    const delay = backoffDelay(this.attempt++, this.random, b?.firstMs, b?.capMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  /** Publishes the next messages in seq order, keeping at most MAX_IN_FLIGHT unacknowledged. */
  private pump(): void {
    const client = this.client;
    if (client === null || !this.stats.connected) return;
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0) return;
    const batch = this.opts.outbox.next(this.cursor, room);
    if (batch.length === 0 && this.inFlight.size === 0) {
      this.flushAcks();
      this.drained?.();
      return;
    }
    const { device, sync } = this.opts.config;
    for (const m of batch) {
      this.cursor = m.seq;
      const bytes = encodeEnvelope({ v: WIRE_VERSION, device: device.id, site: device.site, seq: m.seq, kind: m.kind, sent_at: this.now(), body: m.body, ...(m.enc === null ? {} : { enc: m.enc }) });
      if (bytes.length > sync.max_message_bytes) {
        // Bodies are cut to fit when they are made (agent/sync/summary.ts); this is the last guard.
        this.opts.log.once(`sync:oversized`, 'error', 'message over sync.max_message_bytes not sent', { code: 'EW_ERR_SYNC', seq: m.seq, bytes: bytes.length });
        continue;
      }
      this.inFlight.add(m.seq);
      this.stats.published++;
      client.publish(topicFor(device.site, device.id, m.kind), Buffer.from(bytes), { qos: 1 }, (err) => {
        if (this.client !== client) return;
        if (err) {
          this.stats.lastError = err.message;
          return;
        }
        this.onAck(m.seq);
      });
    }
    this.stats.inFlight = this.inFlight.size;
  }

  private onAck(seq: number): void {
    if (!this.inFlight.delete(seq)) return;
    this.stats.inFlight = this.inFlight.size;
    this.stats.acknowledged++;
    this.stats.lastAckAt = this.now();
    this.acked.push(seq);
    this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
    this.pump();
  }

  private flushAcks(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const seqs = this.acked;
    this.acked = [];
    this.opts.outbox.remove(seqs);
  }

  /** Ends the connection; `graceful`: says offline on the status topic first (a last will is for crashes). */
  private async disconnect(graceful: boolean): Promise<void> {
    const client = this.client;
    this.flushAcks();
    if (client === null) return;
    this.client = null;
    client.removeAllListeners('close');
    if (graceful && this.stats.connected) {
      const { device } = this.opts.config;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(topicFor(device.site, device.id, 'status'), this.statusMessage('offline'), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const wasConnected = this.stats.connected;
    this.stats.connected = false;
    this.inFlight.clear();
    this.stats.inFlight = 0;
    this.flushAcks();
    client.on('error', () => {});
    // A graceful end waits for what is in flight; a link that is gone would make it wait forever.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, 2000);
      client.end(!(graceful && wasConnected), {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
