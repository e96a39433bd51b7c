// The record stage: one log line in, one InferenceRecord or one Rejection out, never an exception.
// JSONL and CSV lines go through the same field mapping, so a field means the same in both; a
// rejected line changes nothing (in particular no feature type is learned from it).

import type { ModelConfig } from '../config/types.js';
import { CsvLineParser } from './csv.js';
import { FeatureTypes } from './feature-types.js';
import { JsonlLineParser } from './jsonl.js';
import { RecordMapper } from './mapping.js';
import type { ParseResult } from './types.js';

export { FeatureTypes, parseNumber } from './feature-types.js';
export { parseTimestamp } from './mapping.js';
export { REJECT_REASONS } from './types.js';
export type { DelayedLabel, FeatureValue, InferenceRecord, ParseResult, RejectReason, Rejection } from './types.js';

export interface LineParser {
  /**
   * `line` has no newline or trailing \r and is not blank. `readTimeMs` is the record's time when
   * the line carries none.
   */
  parse(line: string, readTimeMs: number): ParseResult;
}

export type FileLineParser = LineParser & {
  /** True for CSV: setHeader must get the file's first line before any parse. */
  readonly needsHeader: boolean;
  setHeader(line: string): void;
};

/**
 * One per (model, file): CSV keeps the file's header. Parsers of one model share its FeatureTypes.
 * Throws at creation for a mapping that cannot work (a "__proto__" path, an empty CSV delimiter).
 */
export function createLineParser(model: ModelConfig, types: FeatureTypes): FileLineParser {
  const mapper = new RecordMapper(model, types);
  if (model.format === 'jsonl') return new JsonlLineParser(mapper);
  const delimiter = model.csv.delimiter;
  if (delimiter.length === 0 || delimiter.includes('"')) {
    throw new Error(`model "${model.name}": csv.delimiter ${JSON.stringify(delimiter)} cannot separate cells`);
  }
  return new CsvLineParser(model, mapper);
}
