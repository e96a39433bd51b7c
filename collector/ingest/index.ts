// Ingest: MQTT messages and bundle files in, checked and committed to the collector store one
// transaction per message (or per batch, per bundle). A call returns only after the commit, so an
// acknowledgement sent after it never covers a message that could still be lost.
export { Ingest, type BundleImport, type Checked, type IngestOptions, type IngestResult, type MqttMessage } from './ingest.js';
export { checkProfile, type ProfileCheckMode } from './profile-check.js';
export { inlineSink, ingestNow, type CheckedBatch, type InlineBatch, type MqttSink } from './sink.js';
export { IngestWorker, runIngestWorker, type IngestWorkerOptions } from './worker.js';
