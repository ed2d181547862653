/**
 * A rate limiter for calls to the provider: at most `ratePerSecond` acquisitions per second, with a burst
 * of `burst` (default 1, which makes it a fixed-interval limiter: one call every 1000/rate ms).
 *
 * It is the token bucket written as GCRA (a "theoretical arrival time"): each acquisition reserves the
 * next slot synchronously, before it waits, so any number of concurrent workers share one schedule
 * without a lock and the rate holds however long each call takes.
 */
export interface RateLimiter {
  /** Resolves when the caller may make one call. */
  acquire(): Promise<void>;
}

/** The limiter's time: monotonic milliseconds and a way to wait. Injected so tests need not wait. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface TokenBucketOptions {
  readonly ratePerSecond: number;
  /** Calls allowed back to back after an idle period; default 1. */
  readonly burst?: number;
  /** Default: performance.now and setTimeout (monotonic: wall-clock jumps must not open the gate). */
  readonly clock?: LimiterClock;
  /** Monotonic milliseconds; overrides clock.now. Kept for callers that inject the two separately. */
  readonly now?: () => number;
  /** Overrides clock.sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const monotonicClock: LimiterClock = { now: () => performance.now(), sleep: realSleep };

/**
 * Simulated time for tests and what-if runs: `sleep` never waits, it moves time forward by the sleep, so
 * a paced run of any length takes no wall time and every grant has an exact, reproducible timestamp.
 * Time only moves forward. A limiter reads now() and calls sleep() in the same synchronous step, so each
 * sleeper's wake-up is exact even with many concurrent workers.
 */
export class SimulatedClock implements LimiterClock {
  private current: number;

  constructor(start = 0) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  readonly sleep = async (ms: number): Promise<void> => {
    if (ms > 0) this.current += ms;
  };

  /** Moves time forward (another part of the simulation doing work); never back. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('advance takes a non-negative number of ms');
    this.current += ms;
  }
}

export class TokenBucket implements RateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** When the bucket would next be full enough for one call if nobody else asked. */
  private tat = Number.NEGATIVE_INFINITY;

  constructor(options: TokenBucketOptions) {
    const { ratePerSecond } = options;
    const burst = options.burst ?? 1;
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError('ratePerSecond must be a positive number');
    }
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError('burst must be a positive integer');
    this.intervalMs = 1000 / ratePerSecond;
    this.toleranceMs = (burst - 1) * this.intervalMs;
    const clock = options.clock ?? monotonicClock;
    this.now = options.now ?? (() => clock.now());
    this.sleep = options.sleep ?? ((ms) => clock.sleep(ms));
  }

  async acquire(): Promise<void> {
    await this.grant();
  }

  /** acquire(), resolving with the time of the grant on the limiter's clock: what a pacing test counts. */
  async grant(): Promise<number> {
    const now = this.now();
    const start = Math.max(this.tat, now);
    const waitMs = start - this.toleranceMs - now;
    // Reserve before waiting: the next caller's slot is computed from this one, not from when we wake.
    this.tat = start + this.intervalMs;
    if (waitMs > 0) {
      await this.sleep(waitMs);
      return now + waitMs;
    }
    return now;
  }
}
