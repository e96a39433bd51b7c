import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../agent/records/index.js';
import { testModel } from '../helpers/config.js';
import { READ_MS, parserFor } from './helpers.js';

const SEED = 20240301;

describe('parseTimestamp', () => {
  it('reads RFC 3339 with fractions and offsets on the fast path', () => {
    const base = Date.UTC(2024, 2, 1, 12, 34, 56);
    expect(parseTimestamp('2024-03-01T12:34:56Z')).toBe(base);
    expect(parseTimestamp('2024-03-01T12:34:56.5Z')).toBe(base + 500);
    expect(parseTimestamp('2024-03-01T12:34:56.123Z')).toBe(base + 123);
    expect(parseTimestamp('2024-03-01T12:34:56.123999Z')).toBe(base + 123);
    expect(parseTimestamp('2024-03-01T12:34:56,25Z')).toBe(base + 250);
    expect(parseTimestamp('2024-03-01t12:34:56z')).toBe(base);
    expect(parseTimestamp('2024-03-01 12:34:56Z')).toBe(base);
    expect(parseTimestamp('2024-03-01T14:34:56+02:00')).toBe(base);
    expect(parseTimestamp('2024-03-01T07:04:56-0530')).toBe(base);
    expect(parseTimestamp('2024-03-01T15:34:56+03')).toBe(base);
    expect(parseTimestamp('2024-03-01T12:34:56.000+00:00')).toBe(base);
  });

  it('reads a time without an offset as UTC', () => {
    expect(parseTimestamp('2024-03-01T12:34:56')).toBe(Date.UTC(2024, 2, 1, 12, 34, 56));
    expect(parseTimestamp('2024-03-01T12:34:56.789')).toBe(Date.UTC(2024, 2, 1, 12, 34, 56, 789));
  });

  it('falls back to Date.parse for other forms', () => {
    expect(parseTimestamp('2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(parseTimestamp('Fri, 01 Mar 2024 12:00:00 GMT')).toBe(Date.UTC(2024, 2, 1, 12));
    expect(parseTimestamp('2024-03-01T12:34Z')).toBe(Date.UTC(2024, 2, 1, 12, 34));
  });

  it('reads epoch milliseconds, and epoch seconds below 1e11', () => {
    expect(parseTimestamp(1_709_294_400_000)).toBe(1_709_294_400_000);
    expect(parseTimestamp(1_709_294_400)).toBe(1_709_294_400_000);
    expect(parseTimestamp(1_709_294_400.123)).toBe(1_709_294_400_123);
    expect(parseTimestamp(99_999_999_999)).toBe(99_999_999_999_000);
    expect(parseTimestamp(100_000_000_000)).toBe(100_000_000_000);
    expect(parseTimestamp('1709294400')).toBe(1_709_294_400_000);
    expect(parseTimestamp('1709294400000')).toBe(1_709_294_400_000);
  });

  it('is NaN for what is not a time', () => {
    for (const bad of ['yesterday', '', '2024-13-01T00:00:00Z', true, {}, [], NaN, Infinity]) {
      expect(parseTimestamp(bad)).toBeNaN();
    }
    for (const impossible of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-03-01T24:00:00Z', '2024-03-01T12:00:00+25:00']) {
      expect(parseTimestamp(impossible)).toBeNaN();
    }
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
  });

  it('agrees with Date.parse on generated RFC 3339 strings', () => {
    const offset = fc.integer({ min: -14 * 60, max: 14 * 60 }).map((m) => {
      if (m === 0) return 'Z';
      const a = Math.abs(m);
      return `${m < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
    });
    const epoch = fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2200, 0, 1) });
    fc.assert(
      fc.property(epoch, offset, fc.integer({ min: 0, max: 3 }), (ms, zone, fractionDigits) => {
        const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
        const fraction = fractionDigits === 0 ? '' : iso.slice(19, 20 + fractionDigits);
        const text = iso.slice(0, 19) + fraction + zone;
        expect(parseTimestamp(text)).toBe(Date.parse(text));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('ts field', () => {
  const { parser } = parserFor(testModel({ name: 'm', task: 'regression', logs: ['/logs/*.jsonl'], allowed_lateness_ms: 0 }));

  it('uses the time of reading when ts is missing or null', () => {
    for (const text of ['{"prediction": 1}', '{"prediction": 1, "ts": null}']) {
      const r = parser.parse(text, READ_MS);
      expect(r.ok && r.record?.ts).toBe(READ_MS);
    }
  });

  it('rejects an unusable ts as bad_timestamp with no event time', () => {
    const r = parser.parse('{"prediction": 1, "ts": "soon"}', READ_MS);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.rejection).toMatchObject({
        reason: 'bad_timestamp',
        detail: 'ts: expected an RFC 3339 time or epoch number, got "soon"',
        ts: null,
      });
    }
    const b = parser.parse('{"prediction": 1, "ts": false}', READ_MS);
    expect(!b.ok && b.rejection.reason).toBe('bad_timestamp');
  });
});
