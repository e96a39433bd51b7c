// Builds inference records in code for tests and benchmarks: every field empty unless given.
import type { InferenceRecord } from '../../agent/records/types.js';

export function testRecord(over: Partial<InferenceRecord> = {}): InferenceRecord {
  return {
    ts: 0,
    model: 'm',
    modelVersion: 'v1',
    requestId: null,
    features: {},
    prediction: 'a',
    confidence: null,
    probabilities: null,
    label: null,
    latencyMs: null,
    status: null,
    error: null,
    segments: {},
    ...over,
  };
}
