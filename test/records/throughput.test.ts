// A quick look at parse speed, printed and not asserted: timings on a shared test machine vary too
// much to gate on. What is asserted is that every generated line comes through as a record.

import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../agent/config/types.js';
import { FeatureTypes, createLineParser } from '../../agent/records/index.js';
import { testModel } from '../helpers/config.js';
import { READ_MS } from './helpers.js';

const LINES = 100_000;
const NUMERIC = 16;
const CATEGORICAL = 4;

function modelConfig(format: 'jsonl' | 'csv'): ModelConfig {
  return testModel({ name: 'ranker', logs: ['/logs/*'], format, allowed_lateness_ms: 0, segments: ['features.c0'] });
}

/** Deterministic pseudo-random numbers, so every run parses the same lines. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 4_294_967_296;
  };
}

function generate(): { jsonl: string[]; csvHeader: string; csv: string[] } {
  const rand = lcg(7);
  const regions = ['eu', 'us', 'apac', 'latam'];
  const jsonl: string[] = [];
  const csv: string[] = [];
  const names = [...Array.from({ length: NUMERIC }, (_, i) => `n${i}`), ...Array.from({ length: CATEGORICAL }, (_, i) => `c${i}`)];
  const csvHeader = ['ts', 'model', 'model_version', 'request_id', 'prediction', 'confidence', 'latency_ms', 'status']
    .concat(names.map((n) => `features.${n}`))
    .join(',');
  for (let i = 0; i < LINES; i++) {
    const features: Record<string, number | string> = {};
    for (let f = 0; f < NUMERIC; f++) features[`n${f}`] = Math.round(rand() * 1e6) / 1e3;
    for (let f = 0; f < CATEGORICAL; f++) features[`c${f}`] = regions[Math.floor(rand() * regions.length)]!;
    const ts = new Date(READ_MS + i * 10).toISOString();
    const prediction = rand() < 0.5 ? 'click' : 'skip';
    const confidence = Math.round(rand() * 1000) / 1000;
    const latency = Math.round(rand() * 5000) / 100;
    jsonl.push(
      JSON.stringify({ ts, model: 'ranker', model_version: 'v3', request_id: `r${i}`, features, prediction, confidence, latency_ms: latency, status: 200 }),
    );
    csv.push([ts, 'ranker', 'v3', `r${i}`, prediction, confidence, latency, 200, ...names.map((n) => features[n])].join(','));
  }
  return { jsonl, csvHeader, csv };
}

function measure(label: string, lines: readonly string[], parse: (line: string) => boolean): number {
  // One warm-up pass so the timing shows the optimised code, not the interpreter.
  for (let i = 0; i < 5_000; i++) parse(lines[i]!);
  const start = process.hrtime.bigint();
  let ok = 0;
  for (const line of lines) if (parse(line)) ok++;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label}: ${lines.length} lines in ${(seconds * 1000).toFixed(0)} ms = ${Math.round(lines.length / seconds)} lines/s`);
  return ok;
}

describe('throughput (printed, not asserted)', () => {
  const data = generate();

  it('parses 100,000 JSONL lines with 16 numeric and 4 categorical features', () => {
    const types = new FeatureTypes({}, true);
    const parser = createLineParser(modelConfig('jsonl'), types);
    measure('JSON.parse alone (reference)', data.jsonl, (line) => JSON.parse(line) !== null);
    const ok = measure('JSONL parse', data.jsonl, (line) => parser.parse(line, READ_MS).ok);
    expect(ok).toBe(LINES);
    expect(Object.keys(types.snapshot())).toHaveLength(NUMERIC + CATEGORICAL);
  });

  it('parses 100,000 CSV rows with the same fields', () => {
    const types = new FeatureTypes({}, true);
    const parser = createLineParser(modelConfig('csv'), types);
    parser.setHeader(data.csvHeader);
    const ok = measure('CSV parse', data.csv, (line) => parser.parse(line, READ_MS).ok);
    expect(ok).toBe(LINES);
    expect(types.get('n0')).toBe('numeric');
    expect(types.get('c0')).toBe('categorical');
  });
});
