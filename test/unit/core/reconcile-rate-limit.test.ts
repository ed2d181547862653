import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock, TokenBucket } from '../../../src/core/rate-limit';

/**
 * A fake clock: `sleep` never really waits, it records when the caller would wake. Grant times are
 * "call time + wait", which is what the provider would see.
 */
function fakeBucket(ratePerSecond: number, burst?: number) {
  let now = 0;
  const bucket = new TokenBucket({
    ratePerSecond,
    ...(burst !== undefined ? { burst } : {}),
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  const waits: number[] = [];
  return {
    bucket,
    waits,
    setNow: (t: number) => {
      now = t;
    },
    /** Acquires once at time t (without waiting) and returns when the grant happens. */
    grantAt: async (t: number) => {
      now = t;
      const before = waits.length;
      await bucket.acquire();
      return t + (waits.length > before ? (waits.at(-1) ?? 0) : 0);
    },
  };
}

/** Largest number of grants in any window [t, t + 1000) (1 µs of slack for 1000/3-style float steps). */
function maxPerSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) >= 1000 - 1e-3) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('TokenBucket (fixed interval with burst 1)', () => {
  it('spaces concurrent callers 1000/rate ms apart, the first one immediately', async () => {
    const { bucket, waits } = fakeBucket(5);
    // Ten workers ask at the same instant: each reserves the next slot before anyone waits.
    await Promise.all(Array.from({ length: 10 }, () => bucket.acquire()));
    expect(waits).toEqual([200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  });

  it('does not save up idle time: after a pause only one call goes through at once', async () => {
    const f = fakeBucket(5);
    expect(await f.grantAt(0)).toBe(0);
    // Ten seconds idle, then a rush of three.
    const grants = [await f.grantAt(10_000), await f.grantAt(10_000), await f.grantAt(10_000)];
    expect(grants).toEqual([10_000, 10_200, 10_400]);
  });

  it('lets a caller through at once when the interval has already passed', async () => {
    const f = fakeBucket(4);
    expect(await f.grantAt(0)).toBe(0);
    expect(await f.grantAt(100)).toBe(250);
    expect(await f.grantAt(600)).toBe(600);
  });

  it('never grants more than the rate in any one-second window, however callers arrive', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 60 }),
        async (rate, arrivals) => {
          const f = fakeBucket(rate);
          const grants: number[] = [];
          for (const t of [...arrivals].sort((a, b) => a - b)) grants.push(await f.grantAt(t));
          expect(maxPerSecond(grants)).toBeLessThanOrEqual(rate);
        },
      ),
    );
  });
});

/** Grants per simulated second: `[count in second 0, count in second 1, …]`. */
function perSecond(times: readonly number[]): number[] {
  const counts: number[] = [];
  for (const t of times) {
    const second = Math.floor(t / 1000 + 1e-9);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (c) => c ?? 0);
}

describe('TokenBucket on a SimulatedClock (no wall time)', () => {
  it('SimulatedClock: sleeping moves time forward by the sleep, never back', async () => {
    const clock = new SimulatedClock(1_000);
    await clock.sleep(250);
    await clock.sleep(-5);
    clock.advance(50);
    expect(clock.now()).toBe(1_300);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });

  it('grants concurrent workers exactly `rate` calls in every simulated second', async () => {
    const clock = new SimulatedClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, clock });
    const grants: number[] = [];
    // Four workers, 25 calls each, every call "taking" 30 ms of simulated time.
    const worker = async () => {
      for (let i = 0; i < 25; i++) {
        grants.push(await bucket.grant());
        clock.advance(30);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);

    expect(grants).toHaveLength(100);
    expect(perSecond(grants)).toEqual(Array.from({ length: 20 }, () => 5));
    const sorted = [...grants].sort((a, b) => a - b);
    expect(new Set(sorted.slice(1).map((t, i) => t - (sorted[i] ?? 0)))).toEqual(new Set([200]));
  });

  it('never grants more than the rate in any simulated second, whatever the call durations and concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 1_500 }), { minLength: 1, maxLength: 40 }),
        async (rate, workers, durations) => {
          const clock = new SimulatedClock();
          const bucket = new TokenBucket({ ratePerSecond: rate, clock });
          const grants: number[] = [];
          const queue = [...durations];
          const worker = async () => {
            for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
              grants.push(await bucket.grant());
              clock.advance(d);
            }
          };
          await Promise.all(Array.from({ length: workers }, worker));
          expect(grants).toHaveLength(durations.length);
          expect(maxPerSecond(grants)).toBeLessThanOrEqual(rate);
        },
      ),
    );
  });

  it('takes the clock option, and now/sleep still override it one by one', async () => {
    const clock = new SimulatedClock();
    const slept: number[] = [];
    const bucket = new TokenBucket({
      ratePerSecond: 2,
      clock,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    expect([await bucket.grant(), await bucket.grant(), await bucket.grant()]).toEqual([0, 500, 1_000]);
    expect(slept).toEqual([500, 1_000]);
    // The overriding sleep did not move the simulated clock.
    expect(clock.now()).toBe(0);
  });
});

describe('TokenBucket with a burst', () => {
  it('lets `burst` calls through back to back, then returns to the rate', async () => {
    const { bucket, waits } = fakeBucket(2, 3);
    await Promise.all(Array.from({ length: 5 }, () => bucket.acquire()));
    // Three immediate (no sleep recorded), then 500 ms apart.
    expect(waits).toEqual([500, 1000]);
  });

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: Number.NaN })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: 5, burst: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: 5, burst: 1.5 })).toThrow(RangeError);
  });
});
