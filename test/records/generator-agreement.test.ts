// The log generator names, for every malformed line, the reason the parser must give; this holds the
// two to the same contract, in both formats and both tasks.

import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../agent/config/types.js';
import { FeatureTypes, createLineParser } from '../../agent/records/index.js';
import { generateLines, resolveOptions, type GenOptions } from '../../scripts/gen-logs.js';
import { testModel } from '../helpers/config.js';

const CASES: GenOptions[] = [
  { records: 3000, malformedRate: 0.1, seed: 11 },
  { records: 3000, task: 'regression', malformedRate: 0.1, seed: 12 },
  { records: 3000, format: 'csv', malformedRate: 0.1, seed: 13 },
  { records: 3000, format: 'csv', task: 'regression', malformedRate: 0.1, seed: 14 },
  { records: 3000, classes: 7, missingRate: 0.2, seed: 15 },
];

function modelFor(opts: GenOptions): ModelConfig {
  const o = resolveOptions(opts);
  return testModel({
    name: o.model,
    task: o.task,
    logs: [],
    format: o.format,
    allowed_lateness_ms: 0,
    max_line_bytes: 1 << 22,
    segments: ['features.region'],
  });
}

describe('agreement with the log generator', () => {
  for (const opts of CASES) {
    it(`gives every line the generator's verdict: ${JSON.stringify(opts)}`, () => {
      const types = new FeatureTypes({}, true);
      const parser = createLineParser(modelFor(opts), types);
      let good = 0;
      for (const line of generateLines(opts)) {
        if (line.kind === 'header') {
          parser.setHeader(line.text);
          continue;
        }
        if (line.kind === 'blank') continue;
        const result = parser.parse(line.text, 0);
        const verdict = result.ok ? 'good' : result.rejection.reason;
        expect(verdict, line.text.slice(0, 200)).toBe(line.kind === 'good' ? 'good' : line.reason);
        if (result.ok) {
          good++;
          expect(result.record?.ts).toBe(line.ts);
          expect(result.record?.segments['features.region']).toBeTypeOf('string');
        }
      }
      expect(good).toBe(3000);
      const snapshot = types.snapshot();
      expect(snapshot.f0).toBe('numeric');
      expect(snapshot.region).toBe('categorical');
    });
  }
});
