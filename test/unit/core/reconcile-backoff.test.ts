import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ageBucket, nextCheckDelayMs } from '../../../src/core/reconcile';

const MIN = 60_000;
const HOUR = 60 * MIN;
const policy = { baseMs: 2 * MIN, maxMs: HOUR };

describe('nextCheckDelayMs', () => {
  it.each([
    [1, 2 * MIN],
    [2, 4 * MIN],
    [3, 8 * MIN],
    [4, 16 * MIN],
    [5, 32 * MIN],
    [6, HOUR], // 64 min, capped
    [50, HOUR],
    [10_000, HOUR],
  ])('after check %i waits %i ms', (checks, delay) => {
    expect(nextCheckDelayMs(checks, policy)).toBe(delay);
  });

  it('treats a missing or zero count as the first check', () => {
    expect(nextCheckDelayMs(0, policy)).toBe(2 * MIN);
  });

  it('never shrinks with more checks and never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 10 * MIN }),
        fc.integer({ min: 1, max: 24 * HOUR }),
        (checks, baseMs, maxMs) => {
          const p = { baseMs, maxMs };
          const now = nextCheckDelayMs(checks, p);
          expect(now).toBeLessThanOrEqual(Math.max(maxMs, 0));
          expect(nextCheckDelayMs(checks + 1, p)).toBeGreaterThanOrEqual(now);
          expect(Number.isFinite(now)).toBe(true);
        },
      ),
    );
  });

  it('keeps an order that stays WAITING at once an hour at most, so a backlog does not flood the provider', () => {
    // One day of checks, each at the delay the previous one set.
    let elapsed = 0;
    let checks = 0;
    while (elapsed < 24 * HOUR) {
      checks++;
      elapsed += nextCheckDelayMs(checks, policy);
    }
    expect(checks).toBeLessThanOrEqual(30);
    expect(checks).toBeGreaterThanOrEqual(24);
  });
});

describe('ageBucket', () => {
  it.each([
    [0, 'lt1h'],
    [HOUR - 1, 'lt1h'],
    [HOUR, '1to6h'],
    [6 * HOUR - 1, '1to6h'],
    [6 * HOUR, '6to24h'],
    [24 * HOUR - 1, '6to24h'],
    [24 * HOUR, 'gt24h'],
  ])('%i ms old is %s', (age, bucket) => {
    expect(ageBucket(age)).toBe(bucket);
  });
});
