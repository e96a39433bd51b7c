// The API's answers as the page reads them (docs/api.md, docs/web.md). Where the server has the
// type, the page takes it from there (type-only imports: nothing of the server is bundled).
import type { SegmentJson } from '../../agent/profile/index.js';
import type { DeviceRow, GapRow } from '../store/types.js';

export interface Counts {
  online: number;
  offline: number;
  unknown: number;
  total: number;
  matched: number;
}

export type FleetDevice = Omit<DeviceRow, 'sync' | 'last_seq' | 'status_at'> & { models: { model: string; versions: string[] }[] };

export interface FleetDevicesAnswer {
  counts: Counts;
  offset: number;
  limit: number;
  devices: FleetDevice[];
}

export type Gap = Omit<GapRow, 'device'>;

export interface DeviceDetail extends Omit<DeviceRow, 'models'> {
  models: { model: string; versions: string[]; windows: number; last_window_end: number | null }[];
  gaps: Gap[];
}

export interface WindowRow {
  model: string;
  model_version: string;
  start_ms: number;
  end_ms: number;
  count: number;
  rejected: number;
  late: number;
  errors: number;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  drift_share: number | null;
  drifted: string[];
}

export interface DriftCell {
  drift: boolean;
  psi: number;
  p_value: number | null;
}

export interface DriftAnswer {
  device: string;
  model: string | null;
  windows: { start: number; end: number; version: string; drift_share: number | null; report: boolean; features: Record<string, DriftCell> }[];
}

export interface ModelsAnswer {
  models: { model: string; versions: { version: string; windows: number; records: number; first_day: number; last_day: number; sites: string[]; tags: string[] }[] }[];
}

export interface HeatmapAnswer {
  resolution: 'window' | 'hour' | 'day';
  from: number;
  to: number;
  buckets: { start: number; windows: number; share: number; features: Record<string, { psi: number; drift: boolean }> }[];
}

export interface TopDevicesAnswer {
  devices: { device: string; site: string; windows: number; mean_drift_share: number; drifted_windows: number }[];
}

export interface FleetFeature {
  type: 'numeric' | 'categorical';
  count: number;
  missing?: number;
  mean?: number | null;
  quantiles?: Record<string, number | null> | null;
  /** Categorical: counts per value. */
  values?: Record<string, number>;
}

export interface FleetAnswer {
  resolution: string;
  buckets: number;
  windows: number;
  records: number;
  /** `segments`: per segment path (e.g. features.region), per value, its records, errors, latency and quality. */
  profile: { count: number; features: Record<string, FleetFeature>; segments: Record<string, Record<string, SegmentJson>> } | null;
  baseline: { version: string } | null;
  drift: { dataset: { drift: boolean; share: number; drifted: string[] }; features: Record<string, { psi: number; drift: boolean }> } | null;
}

export interface Alert {
  id: string;
  name: string;
  /** Null for alerts of no one model (offline devices, gaps). */
  model: string | null;
  model_version: string | null;
  severity: string;
  state: 'pending' | 'firing' | 'resolved';
  summary: string;
  devices: { device: string; site: string; state: string }[];
  firing: number;
  resolved: number;
  started_at: number;
  updated_at: number;
  silenced: boolean;
  acknowledged: { by: string; at: number } | null;
}

/** GET /api/models/:model/compare: the model's versions side by side. */
export interface CompareAnswer {
  model: string;
  from: number;
  to: number;
  resolution: 'window' | 'hour' | 'day';
  versions: {
    version: string;
    devices: number;
    windows: number;
    records: number;
    errors: number | null;
    latency_ms: Record<string, number> | null;
    /** Classification: labelled, accuracy; regression: labelled, mae. */
    quality: { labelled: number; accuracy?: number | null; mae?: number | null } | null;
    drift: { drift: boolean; share: number; drifted: string[] } | null;
    baseline: { version: string } | null;
  }[];
}
