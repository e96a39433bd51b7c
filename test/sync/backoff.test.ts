// The publisher's reconnect back-off: doubling from about 1 s, never over 60 s, jittered to 50-100%
// of its ceiling so a fleet that lost its broker does not come back in step.
import { describe, expect, it } from 'vitest';
import { BACKOFF_CAP_MS, backoffDelay } from '../../agent/sync/publisher.js';

describe('reconnect back-off', () => {
  it('doubles up to the cap, each draw between half and all of its ceiling', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** attempt);
      expect(backoffDelay(attempt, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, () => 0.999999)).toBeLessThanOrEqual(ceiling);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(BACKOFF_CAP_MS).toBe(60_000);
    expect(backoffDelay(1000, () => 0.999999)).toBeLessThanOrEqual(60_000);
  });

  it('spreads a fleet: 1,000 devices at the cap do not retry in the same second', () => {
    const seconds = new Set<number>();
    for (let i = 0; i < 1000; i++) seconds.add(Math.floor(backoffDelay(10) / 1000));
    expect(seconds.size).toBeGreaterThan(25);
  });
});
