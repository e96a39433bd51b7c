// The metrics stage: an optional local Prometheus endpoint (`metrics: {listen: "127.0.0.1:9464"}`)
// rendering a plain-data MetricsSnapshot of the models, drift, system and the agent itself in the
// text exposition format 0.0.4. Promise: each scrape renders the snapshot it is given, nothing more;
// family names, types and labels are the catalogue in families.ts and docs/metrics.md.
export type { AlertSnapshot, LabelJoinSnapshot, MetricsSnapshot, ModelSnapshot, WindowSnapshot } from './snapshot.js';
export { CONTENT_TYPE, escapeLabelValue, formatValue, renderMetrics } from './exposition.js';
export { FAMILIES, type FamilyType, type MetricFamily } from './families.js';
export { mapSystemReading, type MappedReading } from './system-readings.js';
export { parseListen, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './server.js';
