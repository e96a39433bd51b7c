import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FeatureType } from '../../agent/config/types.js';
import { FeatureTypes, parseNumber, type InferenceRecord } from '../../agent/records/index.js';
import { testModel } from '../helpers/config.js';
import { READ_MS, acceptLine, parserFor, refuseLine } from './helpers.js';

function setup(declared: Record<string, FeatureType> = {}, infer = true) {
  const { types, parser } = parserFor(
    testModel({ name: 'm', logs: ['/logs/*.jsonl'], features: declared, infer_features: infer, allowed_lateness_ms: 0 }),
  );
  const line = (features: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ prediction: 'p', features, ...extra });
  const accept = (features: unknown, extra?: Record<string, unknown>): InferenceRecord['features'] =>
    acceptLine(parser, line(features, extra)).features;
  const refuse = (features: unknown, extra?: Record<string, unknown>) => refuseLine(parser, line(features, extra));
  return { types, parser, accept, refuse };
}

describe('features', () => {
  it('is an empty object when the features path is missing or null', () => {
    const { accept } = setup();
    expect(accept(undefined)).toEqual({});
    expect(accept(null)).toEqual({});
  });

  it('rejects a features value that is not an object', () => {
    const { refuse } = setup();
    expect(refuse([1, 2])).toMatchObject({ reason: 'wrong_type', detail: 'features: expected an object, got an array' });
    expect(refuse('a=1').detail).toBe('features: expected an object, got "a=1"');
  });

  it('infers numeric from a number and categorical from anything else, on first non-null sight', () => {
    const { accept, types } = setup();
    expect(accept({ n: 1.5, s: 'x', b: true, z: null })).toEqual({ n: 1.5, s: 'x', b: 'true' });
    expect(types.snapshot()).toEqual({ n: 'numeric', s: 'categorical', b: 'categorical' });
    expect(types.changed).toBe(true);
    types.markSaved();
    expect(types.changed).toBe(false);
    // Later values are read against the learned type.
    expect(accept({ n: '2.5', s: 7, b: false, z: 3 })).toEqual({ n: 2.5, s: '7', b: 'false', z: 3 });
    expect(types.get('z')).toBe('numeric');
    expect(types.changed).toBe(true);
    expect(accept({ n: null, z: null })).toEqual({ n: null, z: null });
  });

  it('reads numeric strings for a numeric feature and rejects other strings', () => {
    const { accept, refuse } = setup({ temp: 'numeric' });
    expect(accept({ temp: '3.5' })).toEqual({ temp: 3.5 });
    expect(accept({ temp: 'NaN' }).temp).toBeNaN();
    expect(accept({ temp: 'Infinity' }).temp).toBe(Infinity);
    expect(accept({ temp: '-inf' }).temp).toBe(-Infinity);
    expect(refuse({ temp: 'warm' })).toMatchObject({ reason: 'wrong_type', detail: 'features.temp: expected a number, got "warm"' });
    expect(refuse({ temp: '' }).reason).toBe('wrong_type');
    expect(refuse({ temp: true }).detail).toBe('features.temp: expected a number, got true');
    expect(refuse({ temp: { c: 1 } }).reason).toBe('wrong_type');
  });

  it('keeps non-finite numeric values and accepts the record', () => {
    const { parser } = setup();
    const r = parser.parse('{"prediction": "p", "features": {"x": NaN, "y": -Infinity}}', READ_MS);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.record?.features.x).toBeNaN();
      expect(r.record?.features.y).toBe(-Infinity);
    }
  });

  it('gives a categorical feature the string form of a number', () => {
    const { accept, refuse } = setup({ zip: 'categorical' });
    expect(accept({ zip: 94107 })).toEqual({ zip: '94107' });
    expect(accept({ zip: '02134' })).toEqual({ zip: '02134' });
    expect(refuse({ zip: ['a'] }).detail).toBe('features.zip: expected a string, number or boolean, got an array');
  });

  it('lets a declared type win over what a value suggests', () => {
    const { accept, types } = setup({ code: 'categorical', score: 'numeric' });
    expect(accept({ code: 12, score: '0.25' })).toEqual({ code: '12', score: 0.25 });
    expect(types.snapshot()).toEqual({ code: 'categorical', score: 'numeric' });
  });

  it('ignores undeclared features when inference is off', () => {
    const { accept, types } = setup({ a: 'numeric' }, false);
    expect(accept({ a: 1, b: 2, c: [1] })).toEqual({ a: 1 });
    expect(types.get('b')).toBeUndefined();
    expect(types.changed).toBe(true);
    types.markSaved();
    accept({ d: 'x' });
    expect(types.changed).toBe(false);
  });

  it('learns nothing from a rejected line', () => {
    const { refuse, accept, types } = setup();
    types.markSaved();
    expect(refuse({ fresh: 1 }, { latency_ms: 'slow' }).reason).toBe('wrong_type');
    expect(refuse({ fresh: 1, bad: {} }).reason).toBe('wrong_type');
    expect(refuse({ fresh: 1 }, { model: 'other' }).reason).toBe('unknown_model');
    expect(types.get('fresh')).toBeUndefined();
    expect(types.changed).toBe(false);
    // The type a rejected line would have set is still open: this line decides it.
    expect(accept({ fresh: 'one' })).toEqual({ fresh: 'one' });
    expect(types.get('fresh')).toBe('categorical');
    // And a line without features after a rejection commits nothing stale.
    refuse({ other: 1 }, { latency_ms: 'slow' });
    accept(undefined);
    expect(types.get('other')).toBeUndefined();
  });

  it('ignores a "__proto__" feature key instead of replacing the prototype', () => {
    const { parser } = setup();
    const r = parser.parse('{"prediction": "p", "features": {"__proto__": null, "a": 1}}', READ_MS);
    expect(r.ok && Object.getPrototypeOf(r.record?.features)).toBe(Object.prototype);
    expect(r.ok && Object.keys(r.record?.features ?? {})).toEqual(['a']);
  });
});

describe('FeatureTypes', () => {
  it('starts from known types, declared ones winning, and says whether the store must save', () => {
    const same = new FeatureTypes({ a: 'numeric' }, true, { a: 'numeric', b: 'categorical' });
    expect(same.snapshot()).toEqual({ a: 'numeric', b: 'categorical' });
    expect(same.changed).toBe(false);

    const redeclared = new FeatureTypes({ a: 'categorical' }, true, { a: 'numeric', b: 'categorical' });
    expect(redeclared.get('a')).toBe('categorical');
    expect(redeclared.changed).toBe(true);

    const fresh = new FeatureTypes({ a: 'numeric' }, true);
    expect(fresh.changed).toBe(true);
    expect(new FeatureTypes({}, true).changed).toBe(false);
  });

  it('forgets learned types when inference is off and drops stored values that are not types', () => {
    const off = new FeatureTypes({ a: 'numeric' }, false, { a: 'numeric', b: 'categorical' });
    expect(off.snapshot()).toEqual({ a: 'numeric' });
    const junk = new FeatureTypes({}, true, { a: 'numeric', b: 'text' as FeatureType });
    expect(junk.snapshot()).toEqual({ a: 'numeric' });
  });

  it('keeps the first learned type', () => {
    const types = new FeatureTypes({}, true);
    types.learn('x', 'numeric');
    types.learn('x', 'categorical');
    expect(types.get('x')).toBe('numeric');
  });
});

describe('parseNumber', () => {
  it('reads decimal text and the non-finite words, nothing else', () => {
    const cases: Array<[string, number | undefined]> = [
      ['0', 0],
      ['-12', -12],
      ['+3.5', 3.5],
      ['.5', 0.5],
      ['5.', 5],
      ['1e3', 1000],
      ['-2.5E-2', -0.025],
      [' 7 ', 7],
      ['Infinity', Infinity],
      ['-infinity', -Infinity],
      ['inf', Infinity],
      ['', undefined],
      ['  ', undefined],
      ['-', undefined],
      ['.', undefined],
      ['1e', undefined],
      ['0x10', undefined],
      ['1_000', undefined],
      ['12abc', undefined],
      ['nano', undefined],
      ['1 2', undefined],
    ];
    for (const [text, expected] of cases) expect([text, parseNumber(text)]).toEqual([text, expected]);
    expect(parseNumber('NaN')).toBeNaN();
    expect(parseNumber('-nan')).toBeNaN();
  });

  it('agrees with Number() on decimal text, fast path and slow path alike', () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.stringMatching(/^[0-9]{1,20}$/), fc.option(fc.stringMatching(/^[0-9]{0,20}$/)))
      .map(([neg, int, frac]) => `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}`);
    const printed = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => String(d));
    fc.assert(
      fc.property(fc.oneof(decimal, printed), (text) => {
        expect(parseNumber(text)).toBe(Number(text));
      }),
      { seed: 1234, numRuns: 3000 },
    );
  });
});
