// Shared setup for the record parser tests: one read time, a parser built from a model config, and
// parse-or-throw helpers for the lines a test expects to be accepted or refused.
import type { FeatureType, ModelConfig } from '../../agent/config/types.js';
import { FeatureTypes, createLineParser, type InferenceRecord, type Rejection } from '../../agent/records/index.js';

export const READ_MS = 1_700_000_000_000;

export type LineParser = ReturnType<typeof createLineParser>;

/** A parser for `model`, with feature types from its declared features (and any already-known types). */
export function parserFor(model: ModelConfig, known?: Record<string, FeatureType>) {
  const types = new FeatureTypes(model.features, model.infer_features, known);
  return { types, parser: createLineParser(model, types) };
}

/** Parses `text`, read at READ_MS, and returns the record; throws if it is rejected. */
export function acceptLine(parser: LineParser, text: string): InferenceRecord {
  const result = parser.parse(text, READ_MS);
  if (!result.ok) throw new Error(`expected a record, got ${JSON.stringify(result.rejection)}`);
  if (result.record === null) throw new Error(`expected a record, got a delayed label ${JSON.stringify(result.label)}`);
  return result.record;
}

/** Parses `text`, read at READ_MS, and returns the rejection; throws if it becomes a record. */
export function refuseLine(parser: LineParser, text: string): Rejection {
  const result = parser.parse(text, READ_MS);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.record ?? result.label)}`);
  return result.rejection;
}
