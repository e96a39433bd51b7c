import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldMapping, ModelConfig } from '../../agent/config/types.js';
import { REJECT_REASONS, type InferenceRecord, type Rejection } from '../../agent/records/index.js';
import { DEFAULT_FIELDS, testModel } from '../helpers/config.js';
import { READ_MS, acceptLine, parserFor, refuseLine, type LineParser } from './helpers.js';

function setup(over: Partial<ModelConfig> = {}, known?: Record<string, 'numeric' | 'categorical'>) {
  return parserFor(testModel({ name: 'churn', logs: ['/var/log/churn/*.jsonl'], allowed_lateness_ms: 30_000, ...over }), known);
}

function line(obj: unknown): string {
  return typeof obj === 'string' ? obj : JSON.stringify(obj);
}

function accept(parser: LineParser, obj: unknown): InferenceRecord {
  return acceptLine(parser, line(obj));
}

function refuse(parser: LineParser, obj: unknown): Rejection {
  return refuseLine(parser, line(obj));
}

describe('JSONL record', () => {
  it('maps every field of a full line', () => {
    const { parser } = setup({ segments: ['features.region'] });
    const r = accept(parser, {
      ts: '2024-03-01T12:00:00.250Z',
      model: 'churn',
      model_version: 'v2',
      request_id: 'req-1',
      features: { age: 41, region: 'eu', plan: 'pro' },
      prediction: 'stay',
      confidence: 0.8,
      probabilities: { stay: 0.8, leave: 0.2 },
      label: 'leave',
      latency_ms: 12.5,
      status: 200,
      error: 'timeout upstream',
      extra: { ignored: true },
    });
    expect(r).toEqual({
      ts: Date.UTC(2024, 2, 1, 12, 0, 0, 250),
      model: 'churn',
      modelVersion: 'v2',
      requestId: 'req-1',
      features: { age: 41, region: 'eu', plan: 'pro' },
      prediction: 'stay',
      confidence: 0.8,
      probabilities: { stay: 0.8, leave: 0.2 },
      label: 'leave',
      latencyMs: 12.5,
      status: '200',
      error: 'timeout upstream',
      segments: { 'features.region': 'eu' },
    });
  });

  it('fills the defaults of a minimal line', () => {
    const { parser } = setup();
    expect(accept(parser, { prediction: 'a' })).toEqual({
      ts: READ_MS,
      model: 'churn',
      modelVersion: 'unknown',
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
    });
  });

  it('rejects text that is not JSON as unparseable, with no event time', () => {
    const { parser } = setup();
    for (const bad of ['{"prediction": "a"', 'hello', '{"a":1}}', "{'prediction': 'a'}"]) {
      const rej = refuse(parser, bad);
      expect(rej.reason).toBe('unparseable');
      expect(rej.detail).toMatch(/^not valid JSON: /);
      expect(rej.ts).toBeNull();
      expect(rej.example).toBe(bad);
    }
  });

  it('reads Python bare NaN / Infinity / -Infinity tokens and leaves them alone inside strings', () => {
    const { parser } = setup({ task: 'regression' });
    const r = accept(
      parser,
      '{"prediction": 1.5, "features": {"a": NaN, "b": Infinity, "c": -Infinity, "d": "NaN and -Infinity \\" NaN"}, "latency_ms": NaN}',
    );
    expect(r.features.a).toBeNaN();
    expect(r.features.b).toBe(Infinity);
    expect(r.features.c).toBe(-Infinity);
    expect(r.features.d).toBe('NaN and -Infinity " NaN');
    expect(r.latencyMs).toBeNaN();
    expect(refuse(parser, '{"prediction": NaN}').reason).toBe('non_finite');
    expect(refuse(parser, '{"prediction": 1, "x": NaN').reason).toBe('unparseable');
    expect(refuse(parser, '{"prediction": 1, "x": Nope}').reason).toBe('unparseable');
  });

  it('skips a byte-order mark at the start of a line', () => {
    const { parser } = setup();
    expect(accept(parser, '\ufeff{"prediction": "a"}').prediction).toBe('a');
  });

  it('rejects a top level that is not an object', () => {
    const { parser } = setup();
    for (const [text, got] of [
      ['[1,2]', 'an array'],
      ['5', '5'],
      ['"x"', '"x"'],
      ['null', 'null'],
      ['true', 'true'],
    ] as const) {
      const rej = refuse(parser, text);
      expect(rej.reason).toBe('not_object');
      expect(rej.detail).toBe(`line: expected a JSON object, got ${got}`);
    }
  });

  it('rejects another model by name and accepts a missing or null model', () => {
    const { parser } = setup();
    const rej = refuse(parser, { model: 'fraud', prediction: 'a', ts: 1_709_294_400_000 });
    expect(rej.reason).toBe('unknown_model');
    expect(rej.detail).toBe('model: expected "churn", got "fraud"');
    expect(rej.ts).toBe(1_709_294_400_000);
    expect(accept(parser, { model: null, prediction: 'a' }).model).toBe('churn');
    expect(accept(parser, { prediction: 'a' }).model).toBe('churn');
    const { parser: numbered } = setup({ name: '7' });
    expect(accept(numbered, { model: 7, prediction: 'a' }).model).toBe('7');
  });

  it('reads a classification prediction as a class label', () => {
    const { parser } = setup();
    expect(refuse(parser, { features: {} }).reason).toBe('missing_field');
    expect(refuse(parser, { prediction: null }).detail).toBe('prediction: required field is missing');
    expect(accept(parser, { prediction: 1 }).prediction).toBe('1');
    expect(accept(parser, { prediction: true }).prediction).toBe('true');
    expect(accept(parser, { prediction: 'cat' }).prediction).toBe('cat');
    const rej = refuse(parser, { prediction: { cls: 1 } });
    expect(rej.reason).toBe('wrong_type');
    expect(rej.detail).toBe('prediction: expected a class label (string, number or boolean), got an object');
    expect(refuse(parser, { prediction: [1] }).reason).toBe('wrong_type');
  });

  it('reads a regression prediction as a finite number', () => {
    const { parser } = setup({ task: 'regression' });
    expect(accept(parser, { prediction: 3.25 }).prediction).toBe(3.25);
    expect(accept(parser, { prediction: ' -1.5e2 ' }).prediction).toBe(-150);
    expect(refuse(parser, { prediction: 'big' })).toMatchObject({
      reason: 'wrong_type',
      detail: 'prediction: expected a number, got "big"',
    });
    expect(refuse(parser, { prediction: true }).reason).toBe('wrong_type');
    expect(refuse(parser, { prediction: '0x10' }).reason).toBe('wrong_type');
    expect(refuse(parser, { prediction: 'Infinity' }).reason).toBe('non_finite');
    expect(refuse(parser, { prediction: 'nan' }).reason).toBe('non_finite');
  });

  it('reads model_version, request_id and status as text', () => {
    const { parser } = setup();
    const r = accept(parser, { prediction: 'a', model_version: 3, request_id: 991, status: 'ok' });
    expect([r.modelVersion, r.requestId, r.status]).toEqual(['3', '991', 'ok']);
    expect(accept(parser, { prediction: 'a', model_version: null }).modelVersion).toBe('unknown');
    expect(accept(parser, { prediction: 'a', request_id: null }).requestId).toBeNull();
    expect(refuse(parser, { prediction: 'a', model_version: { v: 1 } })).toMatchObject({
      reason: 'wrong_type',
      detail: 'model_version: expected a string or number, got an object',
    });
    expect(refuse(parser, { prediction: 'a', request_id: [1] }).reason).toBe('wrong_type');
    expect(refuse(parser, { prediction: 'a', status: false }).reason).toBe('wrong_type');
  });

  it('reads error as text, objects as JSON, empty as null, cut at 200 characters', () => {
    const { parser } = setup();
    expect(accept(parser, { prediction: 'a', error: '' }).error).toBeNull();
    expect(accept(parser, { prediction: 'a', error: { code: 'E1', msg: 'x' } }).error).toBe('{"code":"E1","msg":"x"}');
    expect(accept(parser, { prediction: 'a', error: ['a', 1] }).error).toBe('["a",1]');
    const long = accept(parser, { prediction: 'a', error: 'e'.repeat(300) }).error;
    expect(long).toBe('e'.repeat(200) + '…');
  });

  it('derives confidence from probabilities when it is missing', () => {
    const { parser } = setup();
    const probabilities = { a: 0.1, b: 0.6, c: 0.3 };
    expect(accept(parser, { prediction: 'c', probabilities }).confidence).toBe(0.3);
    expect(accept(parser, { prediction: 'z', probabilities }).confidence).toBe(0.6);
    expect(accept(parser, { prediction: 'c', probabilities, confidence: 0.99 }).confidence).toBe(0.99);
    expect(accept(parser, { prediction: 'c', confidence: '0.75' }).confidence).toBe(0.75);
    expect(accept(parser, { prediction: 'c', probabilities: {} }).confidence).toBeNull();
    expect(refuse(parser, { prediction: 'c', confidence: 'high' })).toMatchObject({
      reason: 'wrong_type',
      detail: 'confidence: expected a number, got "high"',
    });
  });

  it('requires probabilities to be an object of numbers', () => {
    const { parser } = setup();
    expect(accept(parser, { prediction: 'a', probabilities: { a: 1 } }).probabilities).toEqual({ a: 1 });
    expect(refuse(parser, { prediction: 'a', probabilities: [0.1, 0.9] })).toMatchObject({
      reason: 'wrong_type',
      detail: 'probabilities: expected an object of numbers, got an array',
    });
    expect(refuse(parser, { prediction: 'a', probabilities: { a: '0.5' } })).toMatchObject({
      reason: 'wrong_type',
      detail: 'probabilities.a: expected a number, got "0.5"',
    });
  });

  it('reads label like the prediction, but optional', () => {
    const { parser } = setup();
    expect(accept(parser, { prediction: 'a', label: 0 }).label).toBe('0');
    expect(accept(parser, { prediction: 'a', label: null }).label).toBeNull();
    expect(refuse(parser, { prediction: 'a', label: {} }).detail).toBe(
      'label: expected a class label (string, number or boolean), got an object',
    );
    const { parser: reg } = setup({ task: 'regression' });
    expect(accept(reg, { prediction: 1, label: '2.5' }).label).toBe(2.5);
    expect(refuse(reg, { prediction: 1, label: 'two' }).reason).toBe('wrong_type');
    expect(refuse(reg, '{"prediction": 1, "label": -Infinity}').reason).toBe('non_finite');
  });

  it('reads latency_ms as a number, keeping non-finite values', () => {
    const { parser } = setup();
    expect(accept(parser, { prediction: 'a', latency_ms: '12.5' }).latencyMs).toBe(12.5);
    expect(accept(parser, { prediction: 'a', latency_ms: 'Infinity' }).latencyMs).toBe(Infinity);
    expect(refuse(parser, { prediction: 'a', latency_ms: 'fast' })).toMatchObject({
      reason: 'wrong_type',
      detail: 'latency_ms: expected a number, got "fast"',
    });
  });

  it('reads segments as strings and leaves missing, null and empty ones out', () => {
    const { parser } = setup({ segments: ['features.region', 'meta.site', 'meta.gpu', 'meta.shadow'] });
    const r = accept(parser, {
      prediction: 'a',
      features: { region: 'eu' },
      meta: { site: 12, gpu: true, shadow: '' },
    });
    expect(r.segments).toEqual({ 'features.region': 'eu', 'meta.site': '12', 'meta.gpu': 'true' });
    expect(accept(parser, { prediction: 'a', meta: { site: null } }).segments).toEqual({});
    expect(refuse(parser, { prediction: 'a', meta: { site: { id: 1 } } })).toMatchObject({
      reason: 'wrong_type',
      detail: 'meta.site: expected a string, number or boolean, got an object',
    });
  });

  it('keeps a truncated example and the event time in a rejection', () => {
    const { parser } = setup();
    const text = JSON.stringify({ ts: '2024-03-01T00:00:00Z', prediction: 'a', latency_ms: 'slow', pad: 'x'.repeat(600) });
    const rej = refuse(parser, text);
    expect(rej.example).toBe(text.slice(0, 512) + '…');
    expect(rej.ts).toBe(Date.UTC(2024, 2, 1));
    expect(refuse(parser, { latency_ms: 'slow' }).ts).toBeNull();
    // Cutting at 512 would split the surrogate pair that starts at index 511.
    const emoji = '{"x": "' + '😀'.repeat(300) + '"';
    expect(refuse(parser, emoji).example).toBe(emoji.slice(0, 511) + '…');
  });

  it('applies a custom field mapping', () => {
    const fields: FieldMapping = {
      ...DEFAULT_FIELDS,
      prediction: 'output.class',
      confidence: 'output.score',
      features: 'input',
      ts: 'meta.time',
      model_version: 'meta.version',
      latency_ms: 'timing.total_ms',
    };
    const { parser } = setup({ fields });
    const r = accept(parser, {
      meta: { time: 1_709_294_400, version: 'v9' },
      input: { age: 30, city: 'Oslo' },
      output: { class: 'buy', score: 0.7 },
      timing: { total_ms: 8 },
      prediction: 'ignored',
    });
    expect(r).toMatchObject({
      ts: 1_709_294_400_000,
      modelVersion: 'v9',
      features: { age: 30, city: 'Oslo' },
      prediction: 'buy',
      confidence: 0.7,
      latencyMs: 8,
    });
    expect(refuse(parser, { output: { score: 1 } }).detail).toBe('output.class: required field is missing');
    expect(refuse(parser, { output: { class: 'a' }, input: { age: [1] } }).detail).toBe(
      'input.age: expected a number, got an array',
    );
    expect(refuse(parser, { output: { class: 'a' }, input: { shoe: {} } }).detail).toBe(
      'input.shoe: expected a number, string or boolean, got an object',
    );
  });

  it('refuses a "__proto__" field path when the parser is created', () => {
    expect(() => setup({ segments: ['meta.__proto__'] })).toThrow(/__proto__/);
  });

  it('never throws, whatever the line', () => {
    const { parser } = setup({ segments: ['features.region'] });
    const value = fc.anything({ maxDepth: 3, withNullPrototype: true });
    const record = fc.record(
      { prediction: value, ts: value, features: fc.dictionary(fc.string(), value), confidence: value, error: value },
      { requiredKeys: [] },
    );
    const text = fc.oneof(fc.string(), value.map((v) => JSON.stringify(v) ?? 'undefined'), record.map((r) => JSON.stringify(r)));
    fc.assert(
      fc.property(text, (t) => {
        const r = parser.parse(t, READ_MS);
        if (!r.ok) {
          expect(REJECT_REASONS).toContain(r.rejection.reason);
          expect(r.rejection.detail.length).toBeGreaterThan(0);
        }
      }),
      { seed: 99, numRuns: 3000 },
    );
  });
});

