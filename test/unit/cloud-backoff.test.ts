import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../hub/cloud/link.js';

describe('the cloud link reconnect backoff', () => {
  const backoff = { initialMs: 500, maxMs: 30_000 };

  it('doubles its ceiling per attempt up to the maximum', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, backoff, () => 1);
    expect([0, 1, 2, 3, 5, 6, 7, 60].map(ceiling)).toEqual([499, 999, 1999, 3999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('property: a delay is jittered over the whole range [0, ceiling), never beyond', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, backoff, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30)));
        expect(Number.isInteger(d)).toBe(true);
      }),
    );
    expect(backoffDelay(4, backoff, () => 0)).toBe(0);
  });
});
