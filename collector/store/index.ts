// The collector store: one SQLite file (collector.db, WAL) holding devices, the (device, seq) log
// that makes delivery exactly once, summaries, alerts, gaps and refusals. Each message is written in
// one transaction; queries answer the HTTP API and the command line.
export { CollectorStore, DB_FILE, DETAIL_CAP, type StoredBaselineRow, type WriteOutcome } from './store.js';
export { DEFAULT_WINDOW_LIMIT, MAX_WINDOW_LIMIT } from './queries.js';
export type { CollectorCounters, MetricsInput } from './metrics.js';
export type {
  AlertRef,
  CollectorStatus,
  DeviceDetail,
  DeviceRow,
  GapRow,
  IncomingMessage,
  ModelRow,
  RejectionRow,
  SummaryBody,
  SyncSchedule,
  WindowQuery,
  WindowRow,
} from './types.js';
