/**
 * The sandbox's notion of time. Every timestamp it records and every timer it starts (processing steps,
 * notification retries and their per-attempt deadline, held-back apply answers) goes through one of these,
 * so a test can swap real time for a {@link ManualClock} and move time forward itself instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once, `ms` from now; the handle is only good for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque: a Node timeout for the real clock, a number for the manual one. */
export type TimerHandle = object | number;

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Scheduled {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` runs every timer that falls due on the way, in
 * order of due time (ties in the order they were set), each with `now()` at its own due time, including
 * timers those callbacks set that fall due before the target. Nothing runs on its own, so a test that
 * wants "nothing happened" advances past the moment and looks, without waiting for anything.
 *
 * Timer callbacks that start network I/O (a notification POST) only start it: the answer arrives on the
 * event loop later, so wait for the sandbox's event (`sandbox.waitFor`) before advancing to the retry.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, Scheduled>();

  /** Starts at `start` (default 2026-01-01T00:00:00Z, a fixed instant so recordings are reproducible). */
  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.seq += 1;
    // Like Node: negative or NaN delays run at the next opportunity, not in the past.
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.timers.set(this.seq, { id: this.seq, at: this.current + delay, fn });
    return this.seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers set and not yet run or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due, if any. */
  nextDueAt(): number | undefined {
    return this.next()?.at;
  }

  /** Moves time forward by `ms`, running what falls due; returns how many timers ran. */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError('advance takes a non-negative number of ms');
    return this.advanceTo(this.current + ms);
  }

  /** Moves time forward to `at` (never back), running what falls due; returns how many timers ran. */
  advanceTo(at: number): number {
    let ran = 0;
    for (;;) {
      const due = this.next();
      if (!due || due.at > at) break;
      this.timers.delete(due.id);
      this.current = Math.max(this.current, due.at);
      ran += 1;
      due.fn();
    }
    this.current = Math.max(this.current, at);
    return ran;
  }

  /** Jumps to the next due timer and runs everything due then; returns how many ran (0: none pending). */
  runNext(): number {
    const at = this.nextDueAt();
    return at === undefined ? 0 : this.advanceTo(at);
  }

  private next(): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const timer of this.timers.values()) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.id < best.id)) best = timer;
    }
    return best;
  }
}
