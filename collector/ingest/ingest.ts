// From bytes on a topic (or in a bundle) to rows in the store. Everything a message carries is
// checked before one transaction stores it; when a call returns, the message is committed, so the
// broker side acknowledges only then. An agent resends whatever was not acknowledged, and the
// (device, seq) dedupe absorbs the copy: delivery is exactly once.
//
// No input makes these methods throw: a bad message is refused, counted per device and reason, and
// logged at most once per minute per (device, reason). Only a failing store throws (disk full, a
// lock held too long); then nothing was committed and the message must not be acknowledged.
import {
  decodeBody,
  decodeEnvelope,
  unpackBody,
  decodeStatus,
  parseTopic,
  readBundle,
  TOPIC_ROOT,
  type Body,
  type Envelope,
  type MessageKind,
  type RefusalReason,
  type StatusMessage,
} from '../../agent/wire/index.js';
import type { CollectorLogger } from '../log.js';
import { DETAIL_CAP, type CollectorStore, type IncomingMessage } from '../store/index.js';
import { checkBaselineProfile, checkProfile, type ProfileCheckMode } from './profile-check.js';

export type IngestResult =
  | { status: 'stored' }
  | { status: 'duplicate' }
  | { status: 'refused'; reason: RefusalReason; detail: string }
  /** A status message was applied. */
  | { status: 'status' }
  /** An empty payload on a status topic: a retained message being cleared. */
  | { status: 'ignored' };

/**
 * The checking half of ingest, before anything is stored: what to store, or what to do instead.
 * Plain data, so it can be checked on one thread and stored on another (worker.ts).
 */
export type Checked =
  | { t: 'store'; m: IncomingMessage }
  | { t: 'refuse'; reason: RefusalReason; detail: string; device: string }
  | { t: 'status'; s: StatusMessage }
  | { t: 'ignored' };

export interface IngestOptions {
  /** Larger messages are refused as `oversized`. */
  maxMessageBytes: number;
  log: CollectorLogger;
  /** Collector clock, epoch ms. */
  now?: () => number;
  /** How a summary's profile is checked (profile-check.ts); 'structural' unless set. */
  profileCheck?: ProfileCheckMode;
}

export interface BundleImport {
  /** Messages in the bundle. */
  messages: number;
  stored: number;
  duplicates: number;
  refused: number;
  /** Refusals by reason. */
  refusedBy: Partial<Record<RefusalReason, number>>;
}

export interface MqttMessage {
  topic: string;
  payload: Uint8Array;
  /** When the broker side received it (collector clock, epoch ms); ingest's clock when absent. */
  receivedAt?: number;
}

/** Who a message claims to be from before its envelope is read: the topic, or a bundle's header. */
interface Expected {
  device: string;
  site: string;
  kind: MessageKind | null;
}

/**
 * Why a message is refused. A class, told apart with instanceof: decoded envelopes are the maps
 * the sender wrote, so a key test ('refused' in x) could be answered by the sender.
 */
class Refusal {
  constructor(
    readonly refused: RefusalReason,
    readonly detail: string,
    /** Counted under this device ('' when none could be read). */
    readonly device: string,
  ) {}
}

const STORED: IngestResult = Object.freeze({ status: 'stored' });
const DUPLICATE: IngestResult = Object.freeze({ status: 'duplicate' });
const STATUS: IngestResult = Object.freeze({ status: 'status' });
const IGNORED: IngestResult = Object.freeze({ status: 'ignored' });

export class Ingest {
  private readonly maxBytes: number;
  private readonly log: CollectorLogger;
  private readonly now: () => number;
  private readonly profileCheck: ProfileCheckMode;

  /** Null on a thread that only checks (worker.ts). */
  private readonly storeOrNull: CollectorStore | null;

  constructor(store: CollectorStore | null, opts: IngestOptions) {
    this.storeOrNull = store;
    this.maxBytes = opts.maxMessageBytes;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.profileCheck = opts.profileCheck ?? 'structural';
  }

  private get db(): CollectorStore {
    if (this.storeOrNull === null) throw new Error('this Ingest only checks messages: it has no store');
    return this.storeOrNull;
  }

  /** One message from the broker, committed (or refused and counted) when this returns. */
  fromMqtt(topic: string, payload: Uint8Array, receivedAt?: number): IngestResult {
    const at = receivedAt ?? this.now();
    return this.store(this.checkMqtt(topic, payload, at), at);
  }

  /**
   * Everything ingest checks of a message from the broker, without the store: decoding, the
   * topic against the envelope, inflating and checking the body. Never throws.
   */
  checkMqtt(topic: string, payload: Uint8Array, at: number): Checked {
    const t = typeof topic === 'string' ? parseTopic(topic) : null;
    if (t === null) return refusal(new Refusal('topic_mismatch', `topic ${show(topic)} is not ${TOPIC_ROOT}/<site>/<device>/<kind>`, ''));
    if (t.kind === 'status') return this.checkStatus(t.device, t.site, payload);
    return this.checkEnvelope(payload, at, { device: t.device, site: t.site, kind: t.kind });
  }

  /** Stores what checkMqtt (or checkEnvelope) said: the message, its refusal, or a status. */
  store(c: Checked, at: number): IngestResult {
    switch (c.t) {
      case 'ignored':
        return IGNORED;
      case 'status':
        this.db.commitStatus(c.s, at);
        return STATUS;
      case 'refuse':
        return this.refuse(new Refusal(c.reason, c.detail, c.device), at);
      case 'store':
        // A copy of a stored message is checked again before the insert finds it a duplicate:
        // copies are rare, and looking first would cost every message a read of its own.
        return this.db.commitMessage(c.m) === 'stored' ? STORED : DUPLICATE;
    }
  }

  /** Many messages in one transaction (one commit instead of one each); results in order. */
  fromMqttBatch(messages: readonly MqttMessage[]): IngestResult[] {
    return this.db.transaction(() => messages.map((m) => this.fromMqtt(m.topic, m.payload, m.receivedAt)));
  }

  /** One envelope from a bundle, with no topic or header to hold it against. */
  fromBundle(payload: Uint8Array): IngestResult {
    return this.envelope(payload, this.now(), null);
  }

  /**
   * A bundle file, checked whole by readBundle (a BundleError propagates and nothing is stored),
   * then every message in one transaction. Each envelope must be of the header's device and site.
   */
  importBundle(buf: Uint8Array, opts: { hmacKey: string | null; requireHmac: boolean }): BundleImport {
    const { header, messages } = readBundle(buf, opts);
    const expected: Expected = { device: header.device, site: header.site, kind: null };
    return this.db.transaction(() => {
      const r: BundleImport = { messages: messages.length, stored: 0, duplicates: 0, refused: 0, refusedBy: {} };
      for (const m of messages) {
        const res = this.envelope(m, this.now(), expected);
        if (res.status === 'stored') r.stored++;
        else if (res.status === 'duplicate') r.duplicates++;
        else if (res.status === 'refused') {
          r.refused++;
          r.refusedBy[res.reason] = (r.refusedBy[res.reason] ?? 0) + 1;
        }
      }
      return r;
    });
  }

  private envelope(payload: Uint8Array, at: number, expected: Expected | null): IngestResult {
    return this.store(this.checkEnvelope(payload, at, expected), at);
  }

  private checkEnvelope(payload: Uint8Array, at: number, expected: Expected | null): Checked {
    const env = this.guard(() => this.readEnvelope(payload, expected), 'bad_envelope', expected?.device ?? '');
    if (env instanceof Refusal) return refusal(env);
    const read = this.guard(() => this.readBody(env), 'bad_body', env.device);
    if (read instanceof Refusal) return refusal(read);
    return {
      t: 'store',
      m: {
        device: env.device,
        site: env.site,
        seq: env.seq,
        sent_at: env.sent_at,
        received_at: at,
        bytes: payload.length,
        body: read.body,
        raw: env.body,
        enc: env.enc ?? null,
        plain: read.plain,
      },
    };
  }

  private readEnvelope(payload: Uint8Array, expected: Expected | null): Envelope | Refusal {
    const device = expected?.device ?? '';
    const d = decodeEnvelope(payload, this.maxBytes);
    if (!d.ok) return new Refusal(d.reason, d.detail, device);
    const env = d.value;
    if (expected !== null && (env.device !== expected.device || env.site !== expected.site || (expected.kind !== null && env.kind !== expected.kind))) {
      const bundle = expected.kind === null;
      const claimed = bundle ? `${expected.site}/${expected.device}` : `${expected.site}/${expected.device}/${expected.kind}`;
      const actual = bundle ? `${env.site}/${env.device}` : `${env.site}/${env.device}/${env.kind}`;
      return new Refusal('topic_mismatch', `${bundle ? 'the bundle header' : 'the topic'} says ${claimed}, the envelope ${actual}`, device);
    }
    return env;
  }

  private readBody(env: Envelope): { body: Body; plain: Uint8Array } | Refusal {
    const plain = unpackBody(env);
    if (!plain.ok) return new Refusal(plain.reason, plain.detail, env.device);
    const d = decodeBody(env.kind, plain.value);
    if (!d.ok) return new Refusal(d.reason, d.detail, env.device);
    const b = d.value;
    if (b.kind === 'summary' || b.kind === 'revision') {
      const problem = checkProfile(b.body, this.profileCheck);
      if (problem !== null) return new Refusal('bad_body', `${b.kind} body: ${problem}`, env.device);
    }
    if (b.kind === 'baseline') {
      const problem = checkBaselineProfile(b.body);
      if (problem !== null) return new Refusal('bad_body', `baseline body: ${problem}`, env.device);
    }
    return { body: b, plain: plain.value };
  }

  private checkStatus(device: string, site: string, payload: Uint8Array): Checked {
    if (payload.length === 0) return { t: 'ignored' };
    const s = this.guard((): StatusMessage | Refusal => {
      const d = decodeStatus(payload, this.maxBytes);
      if (!d.ok) return new Refusal(d.reason, d.detail, device);
      if (d.value.device !== device || d.value.site !== site) {
        return new Refusal('topic_mismatch', `the topic says ${site}/${device}, the status ${d.value.site}/${d.value.device}`, device);
      }
      return d.value;
    }, 'bad_envelope', device);
    return s instanceof Refusal ? refusal(s) : { t: 'status', s };
  }

  /**
   * Runs a check that must not throw; if it does anyway (a decoder bug on input nobody foresaw),
   * the message is refused rather than left unacknowledged forever, and the bug is logged once.
   */
  private guard<T extends object>(check: () => T | Refusal, reason: RefusalReason, device: string): T | Refusal {
    try {
      return check();
    } catch (err) {
      const detail = `check failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`;
      this.log.once(`ingest.unexpected.${reason}`, 'error', 'ingest: a message check threw; the message is refused', { reason, detail });
      return new Refusal(reason, detail, device);
    }
  }

  private refuse(r: Refusal, at: number): IngestResult {
    const detail = r.detail.length > DETAIL_CAP ? `${r.detail.slice(0, DETAIL_CAP - 3)}...` : r.detail;
    this.db.commitRefusal(r.device, r.refused, detail, at);
    this.log.limited(r.device, r.refused, 'warn', 'ingest: message refused', { detail });
    return { status: 'refused', reason: r.refused, detail };
  }
}

function refusal(r: Refusal): Checked {
  return { t: 'refuse', reason: r.refused, detail: r.detail, device: r.device };
}

function show(topic: unknown): string {
  const s = String(topic);
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 117)}...` : s);
}
