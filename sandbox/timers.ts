import { type Clock, realClock, type TimerHandle } from './clock';

/**
 * Every timer the sandbox starts goes through one of these sets, so `reset()` and `close()` can cancel
 * all of them: a timer that outlives `close()` would keep a test process alive or fire a request into a
 * merchant endpoint that a later test owns. The clock is injected so tests can run them on a ManualClock.
 */
export class TimerSet {
  private readonly handles = new Set<TimerHandle>();

  constructor(private readonly clock: Clock = realClock) {}

  add(fn: () => void, ms: number): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
    return handle;
  }

  cancel(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    this.clock.clearTimeout(handle);
    this.handles.delete(handle);
  }

  clear(): void {
    for (const handle of this.handles) this.clock.clearTimeout(handle);
    this.handles.clear();
  }

  get size(): number {
    return this.handles.size;
  }
}

/**
 * Hits per second over a sliding window of whole-second buckets; memory stays bounded however hard a
 * benchmark pushes.
 */
export class RateWindow {
  private readonly buckets = new Map<number, number>();
  private sinceMs: number;

  constructor(
    readonly seconds: number,
    now: number,
  ) {
    this.sinceMs = now;
  }

  hit(now: number): void {
    const second = Math.floor(now / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
    if (this.buckets.size > this.seconds + 1) {
      for (const key of this.buckets.keys()) if (key <= second - this.seconds) this.buckets.delete(key);
    }
  }

  rate(now: number): number {
    const oldest = Math.floor(now / 1000) - (this.seconds - 1);
    let hits = 0;
    for (const [second, count] of this.buckets) if (second >= oldest) hits += count;
    // A young (or freshly reset) sandbox divides by the time it has actually been counting.
    const start = Math.max(oldest * 1000, this.sinceMs);
    const spanSeconds = Math.max((now - start) / 1000, 0.001);
    return Math.round((hits / spanSeconds) * 100) / 100;
  }

  reset(now: number): void {
    this.buckets.clear();
    this.sinceMs = now;
  }
}
