// What the metrics endpoint renders: a plain-data picture of the agent at one moment, filled by the
// agent on each scrape. Only numbers, strings and the drift report's JSON shape, so the exposition
// depends on no live agent object and a test can write one by hand.
import type { DriftReport } from '../drift/index.js';

export interface MetricsSnapshot {
  device: { id: string; site: string };
  /** The agent's version. */
  version: string;
  models: ModelSnapshot[];
  /**
   * Latest sampling round: metric name (e.g. 'cpu.total', 'gpu.0.temperature', 'memory.available',
   * 'process.triton.up', 'agent.rss', 'agent.cpu') -> value in the unit agent/system states, and
   * when (wall ms). null before the first round or with system sampling off.
   */
  system: { at: number; readings: ReadonlyMap<string, number> } | null;
  /** Sampler failures since start: '<source>:<cause>' -> rounds. */
  samplerFailures: ReadonlyMap<string, number>;
  alerts: AlertSnapshot[];
}

export interface AlertSnapshot {
  rule: string;
  model: string;
  model_version: string;
  state: 'pending' | 'firing';
  severity: string;
  /** The rule's metric value that made it pending or firing. */
  value: number;
}

export interface LabelJoinSnapshot {
  joined: number;
  pending_predictions: number;
  pending_labels: number;
  expired_predictions: number;
  expired_labels: number;
  overflow: number;
}

export interface WindowSnapshot {
  version: string;
  /** Window bounds, epoch ms. */
  start: number;
  end: number;
  count: number;
  rejected: number;
  errors: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  confidenceMean: number | null;
  /** The window against its baseline; null without a baseline. */
  drift: DriftReport | null;
}

export interface ModelSnapshot {
  model: string;
  /** Totals since the store was created. */
  accepted: number;
  rejected: number;
  late: number;
  rejectedByReason: Record<string, number>;
  /** Event-time watermark, epoch ms. */
  watermark: number | null;
  /** Wall time the latest record was read, ms. */
  lastRecordAt: number | null;
  windowsOpen: number;
  /** Ground-truth join counters; null when the model takes no labels. */
  labels: LabelJoinSnapshot | null;
  /** The newest closed window per version, with its drift report. */
  lastWindows: WindowSnapshot[];
}
