// What the collector store holds and answers, as its callers (ingest, the HTTP API, the command
// line) see it. Times are epoch ms.
import type { Body, RefusalReason } from '../../agent/wire/index.js';

/** One message that passed every check, ready to be stored. */
export interface IncomingMessage {
  device: string;
  site: string;
  seq: number;
  sent_at: number;
  /** Collector clock. */
  received_at: number;
  /** The envelope's size. */
  bytes: number;
  /** The decoded body; `raw`, the body as received (CBOR, deflated when `enc` says so), stored as is; `plain`, its CBOR. */
  body: Body;
  raw: Uint8Array;
  enc: 'deflate' | null;
  plain: Uint8Array;
}

export interface SyncSchedule {
  mode: 'continuous' | 'scheduled';
  cron: string | null;
}

export interface DeviceRow {
  id: string;
  site: string;
  first_seen: number;
  last_seen: number;
  agent_version: string | null;
  /** From the retained status topic; null: no status heard yet. */
  online: boolean | null;
  status_at: number | null;
  sync: SyncSchedule | null;
  last_seq: number | null;
  /** Summary rows stored (revisions and parts included). */
  summaries: number;
  /** From the status topic (agent config device.tags); fleet rollups are kept per tag too. */
  tags: string[];
}

export interface GapRow {
  device: string;
  /** The gap message's own seq. */
  seq: number;
  /** Dropped seqs, inclusive. */
  from_seq: number;
  to_seq: number;
  messages: number;
  records: number;
  windows_from: number | null;
  windows_to: number | null;
  received_at: number;
}

export interface ModelRow {
  model: string;
  versions: string[];
  /** Distinct (version, window start) pairs. */
  windows: number;
  last_window_end: number | null;
}

export type DeviceDetail = DeviceRow & { models: ModelRow[]; gaps: GapRow[] };

export interface AlertRef {
  /** The rule's name. */
  name: string;
  state: 'pending' | 'firing' | 'resolved';
  severity: string;
}

export interface WindowQuery {
  model?: string;
  /** Windows starting at or after this time. */
  from?: number;
  /** Windows starting before this time. */
  to?: number;
  /** The newest `limit` windows of the range (default DEFAULT_WINDOW_LIMIT, at most MAX_WINDOW_LIMIT). */
  limit?: number;
}

/** A window's newest revision (its first part, when it came in parts): the summary row without its body. */
export interface WindowRow {
  device: string;
  seq: number;
  kind: 'summary' | 'revision';
  model: string;
  model_version: string;
  start_ms: number;
  end_ms: number;
  closed_at: number;
  revision: number;
  part_index: number;
  part_of: number;
  sent_at: number;
  received_at: number;
  count: number;
  rejected: number;
  late: number;
  errors: number;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  confidence_mean: number | null;
  drift_share: number | null;
  drifted: string[];
  quality: number | null;
  alerts: AlertRef[];
  trimmed_examples: number | null;
  /** Parts of this revision received (part_of when all arrived). */
  parts: number;
}

/** A stored summary's raw CBOR body with what locates it, for fleet merges. */
export interface SummaryBody {
  device: string;
  seq: number;
  model_version: string;
  start_ms: number;
  end_ms: number;
  revision: number;
  part_index: number;
  part_of: number;
  /** The body's CBOR (inflated when it was stored deflated). */
  body: Uint8Array;
}

export interface CollectorStatus {
  devices: number;
  summaries: number;
  duplicates: number;
  /** Refusals by reason, over every device. */
  rejected: Record<string, number>;
  gaps: Array<{ device: string; from_seq: number; to_seq: number; records: number }>;
}

export interface RejectionRow {
  device: string;
  reason: RefusalReason;
  count: number;
  last_detail: string;
  last_at: number;
}
