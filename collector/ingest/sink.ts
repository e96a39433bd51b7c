// What the MQTT side (embedded broker, subscriber) hands messages to. Ingest has two halves, and a
// sink exposes both so they can overlap: `check` (decode, inflate, check) may run on one batch
// while `commit` stores the batch before it. Batches are committed one at a time, in the order
// they were checked; `commit` resolves when every message of the batch is durable (stored, counted
// as a duplicate, or refused and counted), so an acknowledgement sent after it never covers a
// message that could still be lost. It rejects when the batch was not committed at all; then
// nothing of it may be acknowledged.
//
// Two sinks: `inlineSink` does both halves on the calling thread, at commit (tests, tools); the
// collector's `run` uses the IngestWorker (worker.ts), which checks on one thread and commits on
// another while the broker's event loop keeps reading sockets.
import type { Ingest, IngestResult, MqttMessage } from './ingest.js';

/** A batch that `check` has seen; only the sink that made it reads it. */
export interface CheckedBatch {
  readonly size: number;
}

export interface MqttSink {
  check(messages: readonly MqttMessage[]): Promise<CheckedBatch>;
  /**
   * Commits the batch in one transaction, leaving out the messages at the indexes in `skip` (their
   * results are null: the caller answers them). Results in the order of the batch.
   */
  commit(batch: CheckedBatch, skip: ReadonlySet<number>): Promise<(IngestResult | null)[]>;
}

/** Both halves, one after the other, for a caller that needs no overlap (the subscriber). */
export async function ingestNow(sink: MqttSink, messages: readonly MqttMessage[]): Promise<IngestResult[]> {
  const results = await sink.commit(await sink.check(messages), new Set());
  return results.map((r) => {
    if (r === null) throw new Error('a message left out that was not asked to be');
    return r;
  });
}

/** The batch of an inline sink: the messages themselves, checked when they are committed. */
export interface InlineBatch extends CheckedBatch {
  readonly messages: readonly MqttMessage[];
}

/** Checks and commits on this thread, in one transaction per batch. */
export function inlineSink(ingest: Ingest): MqttSink {
  return {
    check: (messages) => Promise.resolve<InlineBatch>({ size: messages.length, messages }),
    commit: (batch, skip) => {
      const { messages } = batch as InlineBatch;
      try {
        const kept = messages.filter((_, i) => !skip.has(i));
        const stored = ingest.fromMqttBatch(kept);
        let k = 0;
        return Promise.resolve(messages.map((_, i) => (skip.has(i) ? null : stored[k++]!)));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}
