// Real sync messages for the collector tests: window profiles built by adding records as the agent
// does, wrapped in bodies and envelopes by agent/wire. Every kind has a maker; defaults give a valid
// message of device d1 at site s1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ingest, type ProfileCheckMode } from '../../collector/ingest/index.js';
import { createCollectorLogger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import {
  baselineId,
  encodeBody,
  encodeEnvelope,
  encodeStatus,
  topicFor,
  WIRE_VERSION,
  type AlertBody,
  type BaselineBody,
  type GapBody,
  type MessageKind,
  type StatusMessage,
  type WindowBody,
  type WireAlert,
} from '../../agent/wire/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { testRecord } from '../helpers/records.js';
import { mulberry32, normal } from '../drift/prng.js';

export const MIN = 60_000;
export const T0 = Date.parse('2026-03-01T00:00:00Z');

export interface ProfileShape {
  /** Window index: start = T0 + index minutes. */
  index?: number;
  model?: string;
  version?: string;
  features?: number;
  records?: number;
  seed?: number;
  /** Added to every value of these features (drift). */
  shift?: Record<string, number>;
}

/** A classification window profile with `features` numeric features x0, x1, ... */
export function profile(shape: ProfileShape = {}): WindowProfile {
  const start = T0 + (shape.index ?? 0) * MIN;
  const model = shape.model ?? 'm';
  const version = shape.version ?? 'v1';
  const p = new WindowProfile(
    { model, modelVersion: version, start, end: start + MIN },
    { task: 'classification', categoricalCap: 256, segmentCap: 64, segmentPaths: [] },
  );
  const rng = mulberry32(shape.seed ?? 1);
  const names = Array.from({ length: shape.features ?? 3 }, (_, i) => `x${i}`);
  const n = shape.records ?? 200;
  for (let i = 0; i < n; i++) {
    const features: Record<string, number> = {};
    for (const name of names) features[name] = normal(rng) + (shape.shift?.[name] ?? 0);
    p.add(
      testRecord({
        ts: start + i,
        model,
        modelVersion: version,
        features,
        prediction: rng() < 0.5 ? 'a' : 'b',
        confidence: 0.8 + rng() * 0.2,
        latencyMs: 5 + rng() * 10,
        status: '200',
      }),
    );
  }
  return p;
}

export function wireAlert(over: Partial<WireAlert> = {}): WireAlert {
  return {
    id: 1,
    rule: 'latency_p99',
    model: 'm',
    model_version: 'v1',
    state: 'firing',
    severity: 'warning',
    labels: {},
    metric: 'latency_ms.p99',
    op: '>',
    threshold: 100,
    value: 150,
    last_value: 150,
    pending_at: T0,
    firing_at: T0 + MIN,
    resolved_at: null,
    updated_at: T0 + MIN,
    reason: null,
    ...over,
  };
}

/** A window body around a profile; stats follow the profile unless overridden. */
export function windowBody(p: WindowProfile = profile(), over: Partial<WindowBody> = {}): WindowBody {
  return {
    model: p.model,
    model_version: p.modelVersion,
    start: p.start,
    end: p.end,
    closed_at: p.end + 5_000,
    revision: 0,
    profile: p.encode(),
    drift: null,
    stats: {
      count: p.count,
      rejected: p.rejected,
      late: p.late,
      errors: p.errors,
      latency_p50: 10,
      latency_p95: 14,
      latency_p99: 15,
      confidence_mean: 0.9,
      drift_share: null,
      drifted: [],
      quality: null,
    },
    alerts: [],
    ...over,
  };
}

export function gapBody(over: Partial<GapBody> = {}): GapBody {
  return { from_seq: 3, to_seq: 5, messages: 3, records: 600, windows_from: T0, windows_to: T0 + 3 * MIN, reason: 'outbox_full', ...over };
}

/** A baseline body as an agent sends it, around a profile (its key is the profile's version). */
export function baselineBody(p: WindowProfile = profile({ records: 1_000 }), over: Partial<BaselineBody> = {}): BaselineBody {
  const bytes = p.encode();
  return { model: p.model, model_version: p.modelVersion, id: baselineId(bytes), source: 'learned', created_at: T0, records: p.count, profile: bytes, ...over };
}

export function alertBody(alerts: WireAlert[] = [wireAlert()]): AlertBody {
  return { alerts };
}

export interface Message {
  topic: string;
  bytes: Uint8Array;
  seq: number;
}

export interface EnvelopeOptions {
  device?: string;
  site?: string;
  seq: number;
  sentAt?: number;
}

/** An envelope of any kind with its body, and the topic it goes out on. */
export function envelope(kind: MessageKind, body: WindowBody | AlertBody | GapBody | BaselineBody, o: EnvelopeOptions): Message {
  const device = o.device ?? 'd1';
  const site = o.site ?? 's1';
  const encoded = encodeBody({ kind, body } as Parameters<typeof encodeBody>[0]);
  const bytes = encodeEnvelope({ v: WIRE_VERSION, device, site, seq: o.seq, kind, sent_at: o.sentAt ?? T0 + 10 * MIN, body: encoded });
  return { topic: topicFor(site, device, kind), bytes, seq: o.seq };
}

export const summary = (o: EnvelopeOptions, body: WindowBody = windowBody()): Message => envelope('summary', body, o);
export const revision = (o: EnvelopeOptions, body: WindowBody): Message => envelope('revision', body, o);
export const gap = (o: EnvelopeOptions, body: GapBody = gapBody()): Message => envelope('gap', body, o);
export const alert = (o: EnvelopeOptions, body: AlertBody = alertBody()): Message => envelope('alert', body, o);
export const baseline = (o: EnvelopeOptions, body: BaselineBody = baselineBody()): Message => envelope('baseline', body, o);

export function status(over: Partial<StatusMessage> = {}): Message {
  const s: StatusMessage = {
    v: WIRE_VERSION,
    device: 'd1',
    site: 's1',
    state: 'online',
    at: T0,
    agent_version: '0.1.0',
    sync: { mode: 'continuous', cron: null },
    ...over,
  };
  return { topic: topicFor(s.site, s.device, 'status'), bytes: encodeStatus(s), seq: 0 };
}

/** One valid message of every kind for device `device`, seqs 1..4. */
export function oneOfEach(device = 'd1', site = 's1'): Message[] {
  const o = { device, site };
  const p = profile();
  return [
    summary({ ...o, seq: 1 }, windowBody(p)),
    alert({ ...o, seq: 2 }),
    gap({ ...o, seq: 3 }, gapBody({ from_seq: 100, to_seq: 101, messages: 2 })),
    revision({ ...o, seq: 4 }, windowBody(p, { revision: 1 })),
  ];
}

export interface Harness {
  dir: string;
  store: CollectorStore;
  ingest: Ingest;
  /** Log lines written, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The collector clock; tests move it. */
  clock: { now: number };
  close(): void;
}

/** A store in a fresh temporary folder and an ingest over it with a test clock and captured log. */
export function harness(opts: { maxMessageBytes?: number; profileCheck?: ProfileCheckMode } = {}): Harness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ewc-'));
  const store = CollectorStore.open(dir);
  const clock = { now: T0 + 20 * MIN };
  const logs: Array<Record<string, unknown>> = [];
  const log = createCollectorLogger({ write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>), now: () => clock.now });
  const ingest = new Ingest(store, {
    maxMessageBytes: opts.maxMessageBytes ?? 1024 * 1024,
    log,
    now: () => clock.now,
    ...(opts.profileCheck === undefined ? {} : { profileCheck: opts.profileCheck }),
  });
  return {
    dir,
    store,
    ingest,
    logs,
    clock,
    close() {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
