import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldMapping, ModelConfig } from '../../agent/config/types.js';
import { csvCellValue, splitCsvLine } from '../../agent/records/csv.js';
import { FeatureTypes, createLineParser, type InferenceRecord, type Rejection } from '../../agent/records/index.js';
import { DEFAULT_FIELDS, testModel } from '../helpers/config.js';
import { READ_MS, acceptLine, parserFor, refuseLine } from './helpers.js';

const SEED = 4180;

function setup(header: string, over: Partial<ModelConfig> = {}) {
  const model = testModel({ name: 'churn', logs: ['/logs/*.csv'], format: 'csv', allowed_lateness_ms: 0, ...over });
  const { types, parser } = parserFor(model);
  expect(parser.needsHeader).toBe(true);
  parser.setHeader(header);
  const accept = (row: string): InferenceRecord => acceptLine(parser, row);
  const refuse = (row: string): Rejection => refuseLine(parser, row);
  return { parser, types, accept, refuse };
}

describe('CSV rows', () => {
  it('expands dotted header names and maps them like JSONL', () => {
    const { accept } = setup(
      'ts,model_version,request_id,features.age,features.city,prediction,probabilities.stay,probabilities.leave,latency_ms,status',
    );
    expect(accept('2024-03-01T00:00:00Z,v1,r-1,41,Oslo,stay,0.7,0.3,12.5,200')).toEqual({
      ts: Date.UTC(2024, 2, 1),
      model: 'churn',
      modelVersion: 'v1',
      requestId: 'r-1',
      features: { age: 41, city: 'Oslo' },
      prediction: 'stay',
      confidence: 0.7,
      probabilities: { stay: 0.7, leave: 0.3 },
      label: null,
      latencyMs: 12.5,
      status: '200',
      error: null,
      segments: {},
    });
  });

  it('reads quoted cells with escaped quotes and delimiters inside', () => {
    const { accept } = setup('prediction,features.note,error');
    const r = accept('"a ""big"" one","x, y",""');
    expect(r.prediction).toBe('a "big" one');
    expect(r.features).toEqual({ note: 'x, y' });
    expect(r.error).toBeNull();
  });

  it('uses the configured delimiter', () => {
    const semi = setup('prediction;features.price;features.tag', { csv: { delimiter: ';' } });
    expect(semi.accept('yes;3,5;"a;b"').features).toEqual({ price: '3,5', tag: 'a;b' });
    const tab = setup('prediction\tfeatures.n', { csv: { delimiter: '\t' } });
    expect(tab.accept('no\t-4').features).toEqual({ n: -4 });
  });

  it('turns empty cells into null and numeric-looking cells into numbers', () => {
    const { accept, types } = setup('prediction,features.a,features.b,features.c,features.zip,request_id', {
      features: { zip: 'categorical' },
    });
    const r = accept('1,,2.5e1,abc,02134,12345678901234567890');
    expect(r.prediction).toBe('1');
    expect(r.features).toEqual({ b: 25, c: 'abc', zip: '02134' });
    expect(r.requestId).toBe('12345678901234567890');
    expect(types.snapshot()).toEqual({ zip: 'categorical', b: 'numeric', c: 'categorical' });
    expect(accept('1,7,,,,').features).toEqual({ a: 7, b: null, c: null, zip: null });
  });

  it('rejects a row with a different column count', () => {
    const { refuse } = setup('prediction,features.a');
    for (const row of ['x', 'x,1,2', 'x,1,']) {
      const rej = refuse(row);
      expect(rej.reason).toBe('csv_columns');
      expect(rej.example).toBe(row);
      expect(rej.ts).toBeNull();
    }
    expect(refuse('x').detail).toBe('row: expected 2 columns as in the header, got 1');
  });

  it('rejects an unterminated quote or text after a closing quote as unparseable', () => {
    const { refuse } = setup('prediction,features.a');
    expect(refuse('"x,1')).toMatchObject({ reason: 'unparseable', detail: 'row: a quoted cell is not closed' });
    expect(refuse('"x"y,1')).toMatchObject({ reason: 'unparseable', detail: 'row: text after a closing quote' });
  });

  it('makes every unused column a feature when no column is under the features path', () => {
    const { accept } = setup('ts,prediction,probabilities.a,probabilities.b,age,region,device.kind,label', {
      segments: ['region'],
    });
    const r = accept('1709294400,a,0.9,0.1,33,eu,phone,b');
    expect(r.features).toEqual({ age: 33, 'device.kind': 'phone' });
    expect(r.segments).toEqual({ region: 'eu' });
    expect(r.probabilities).toEqual({ a: 0.9, b: 0.1 });
    expect(r.label).toBe('b');
    expect(r.ts).toBe(1_709_294_400_000);
  });

  it('keeps a segment under the features path when the features are flat columns', () => {
    const { accept } = setup('prediction,region,age', { segments: ['features.region'] });
    const r = accept('a,eu,30');
    expect(r.features).toEqual({ region: 'eu', age: 30 });
    expect(r.segments).toEqual({ 'features.region': 'eu' });
  });

  it('applies the same rules as JSONL to the values', () => {
    const { refuse, accept } = setup('prediction,latency_ms,model,features.x', { features: { x: 'numeric' } });
    expect(refuse('a,fast,,1')).toMatchObject({ reason: 'wrong_type', detail: 'latency_ms: expected a number, got "fast"' });
    expect(refuse('a,1,fraud,1').reason).toBe('unknown_model');
    expect(refuse(',1,,1').reason).toBe('missing_field');
    expect(refuse('a,1,,warm').detail).toBe('features.x: expected a number, got "warm"');
    expect(accept('a,1,churn,NaN').features.x).toBeNaN();
  });

  it('applies a custom field mapping to the header paths', () => {
    const fields: FieldMapping = { ...DEFAULT_FIELDS, prediction: 'output.class', features: 'input', ts: 'time' };
    const { accept } = setup('time,output.class,input.temp,input.site,prediction', { fields });
    const r = accept('2024-03-01T00:00:00+01:00,hot,31.5,north,ignored');
    expect(r.prediction).toBe('hot');
    expect(r.features).toEqual({ temp: 31.5, site: 'north' });
    expect(r.ts).toBe(Date.UTC(2024, 1, 29, 23));
  });

  it('handles odd headers: a byte-order mark, blank and duplicate names, a name that is also a parent', () => {
    const { accept } = setup('\ufeffprediction,,features.a,features.a,meta,meta.site', { segments: ['meta.site'] });
    const r = accept('p,skip,1,2,flat,s1');
    expect(r.prediction).toBe('p');
    expect(r.features).toEqual({ a: 2 });
    expect(r.segments).toEqual({ 'meta.site': 's1' });
  });

  it('rejects rows until a header is read, and rows after a broken header', () => {
    const model = testModel({ name: 'm', logs: [], format: 'csv', allowed_lateness_ms: 0, max_line_bytes: 1024 });
    const parser = createLineParser(model, new FeatureTypes({}, true));
    const before = parser.parse('a,b', READ_MS);
    expect(!before.ok && before.rejection.reason).toBe('unparseable');
    parser.setHeader('"prediction,x');
    const after = parser.parse('a,b', READ_MS);
    expect(!after.ok && after.rejection.detail).toBe('CSV header: the header has an unterminated quote');
    parser.setHeader('prediction,x');
    expect(parser.parse('a,b', READ_MS).ok).toBe(true);
    expect(() => createLineParser({ ...model, csv: { delimiter: '' } }, new FeatureTypes({}, true))).toThrow(/delimiter/);
  });
});

describe('CSV cells', () => {
  it('reads back any cells written with RFC 4180 quoting', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', ' ', ';', '1', 'é') });
    fc.assert(
      fc.property(fc.array(cell, { minLength: 1, maxLength: 8 }), fc.boolean(), (cells, quoteAll) => {
        const row = cells
          .map((c) => (quoteAll || c.includes(',') || c.includes('"') ? `"${c.replaceAll('"', '""')}"` : c))
          .join(',');
        const out: string[] = [];
        expect(splitCsvLine(row, ',', out)).toBe(cells.length);
        expect(out).toEqual(cells);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('never throws on a row, whatever its text', () => {
    const { parser } = setup('ts,prediction,features.a,features.b', { segments: ['features.b'] });
    const text = fc.string({ unit: fc.constantFrom('a', ',', '"', '1', '.', '-', 'N', 'e', ' ', '\ufffd') });
    fc.assert(
      fc.property(text, (row) => {
        const r = parser.parse(row, READ_MS);
        expect(r.ok || r.rejection.detail.length > 0).toBe(true);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('splits on a delimiter longer than one character', () => {
    const out: string[] = [];
    expect(splitCsvLine('a||"b||c"||', '||', out)).toBe(3);
    expect(out).toEqual(['a', 'b||c', '']);
  });

  it('keeps leading zeros and unsafe integers as text', () => {
    expect(csvCellValue('')).toBeNull();
    expect(csvCellValue('0')).toBe(0);
    expect(csvCellValue('0.25')).toBe(0.25);
    expect(csvCellValue('-0.5')).toBe(-0.5);
    expect(csvCellValue('007')).toBe('007');
    expect(csvCellValue('-01')).toBe('-01');
    expect(csvCellValue('9007199254740993')).toBe('9007199254740993');
    expect(csvCellValue('1e300')).toBe(1e300);
    expect(csvCellValue('inf')).toBe(Infinity);
    expect(csvCellValue('true')).toBe('true');
  });
});
