// The log's timestamps: the same text as Date#toISOString, without loading ICU's time-zone data.
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../agent/log.js';

describe('isoTime', () => {
  it('writes what toISOString writes', () => {
    const samples = [0, 1, 999, 1_000, 951_782_400_000, Date.parse('2026-11-24T23:59:59.999Z'), Date.parse('2024-02-29T12:00:00.050Z'), 253_402_300_799_999];
    for (let i = 0; i < 2_000; i++) samples.push(Math.floor(Math.random() * 4_102_444_800_000));
    for (const ms of samples) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('falls back to toISOString outside years 0-9999', () => {
    expect(isoTime(-62_198_755_200_001)).toBe(new Date(-62_198_755_200_001).toISOString());
    expect(isoTime(253_402_300_800_000)).toBe(new Date(253_402_300_800_000).toISOString());
  });
});
