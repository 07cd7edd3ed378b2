import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffSeconds, MAX_VISIBILITY_SECONDS } from '../../lambda/shared/backoff';

describe('backoff (properties)', () => {
  const settingsArb = fc
    .record({
      baseSeconds: fc.integer({ min: 1, max: 900 }),
      capSeconds: fc.integer({ min: 1, max: MAX_VISIBILITY_SECONDS }),
    })
    .filter((s) => s.capSeconds >= s.baseSeconds);
  const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('is an integer within [ceil(d / 2), d] where d = min(cap, base * 2^(attempt - 1))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        settingsArb,
        randomArb,
        (receiveCount, settings, r) => {
          const d = Math.min(settings.capSeconds, settings.baseSeconds * 2 ** Math.min(receiveCount - 1, 30));

          const delay = backoffSeconds(receiveCount, settings, () => r);

          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.ceil(d / 2));
          expect(delay).toBeLessThanOrEqual(d);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never decreases its bounds from one attempt to the next', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), settingsArb, (receiveCount, settings) => {
        const lo = (n: number) => backoffSeconds(n, settings, () => 0);
        const hi = (n: number) => backoffSeconds(n, settings, () => 0.999_999_999);

        expect(lo(receiveCount + 1)).toBeGreaterThanOrEqual(lo(receiveCount));
        expect(hi(receiveCount + 1)).toBeGreaterThanOrEqual(hi(receiveCount));
      }),
      { numRuns: 300 },
    );
  });
});
