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

export interface TokenBucketOptions {
  readonly ratePerSecond: number;
  /** Calls allowed back to back after an idle period; default 1. */
  readonly burst?: number;
  /** Monotonic milliseconds; default performance.now (wall-clock jumps must not open the gate). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? realSleep;
  }

  async acquire(): Promise<void> {
    const now = this.now();
    const start = Math.max(this.tat, now);
    const waitMs = start - this.toleranceMs - now;
    // Reserve before waiting: the next caller's slot is computed from this one, not from when we wake.
    this.tat = start + this.intervalMs;
    if (waitMs > 0) await this.sleep(waitMs);
  }
}
