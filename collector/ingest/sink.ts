// What the MQTT side (embedded broker, subscriber) hands messages to: a sink that commits a batch
// and resolves when every message of it is durable (stored, counted as a duplicate, or refused and
// counted), so an acknowledgement sent after it never covers a message that could still be lost.
// It rejects when the batch was not committed at all; then nothing of it may be acknowledged.
//
// Two sinks: `inlineSink` commits on the calling thread (tests, tools); the collector's `run` uses
// the IngestWorker (worker.ts), which commits on a thread of its own so the broker's event loop
// keeps reading sockets while SQLite writes.
import type { Ingest, IngestResult, MqttMessage } from './ingest.js';

export interface MqttSink {
  /** Results in the order of `messages`. */
  ingest(messages: readonly MqttMessage[]): Promise<IngestResult[]>;
}

/** Commits on this thread, in one transaction per batch. */
export function inlineSink(ingest: Ingest): MqttSink {
  return {
    ingest: (messages) => {
      try {
        return Promise.resolve(ingest.fromMqttBatch(messages));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}
