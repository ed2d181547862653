import type { SandboxEvent } from './types';

interface Waiter {
  readonly predicate: (event: SandboxEvent) => boolean;
  readonly resolve: (event: SandboxEvent) => void;
}

/**
 * The sandbox's event log: what the provider and the notifier did, in order, so a test can wait for the
 * thing it expects rather than sleep and hope. Bounded like the other recordings.
 */
export class EventHub {
  private history: SandboxEvent[] = [];
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly maxRecords: number,
    private readonly listener: ((event: SandboxEvent) => void) | undefined,
    private readonly log: (line: string) => void,
  ) {}

  emit(event: SandboxEvent): void {
    const frozen = Object.freeze(event);
    pushBounded(this.history, frozen, this.maxRecords);
    for (const waiter of this.waiters) {
      if (waiter.predicate(frozen)) {
        this.waiters.delete(waiter);
        waiter.resolve(frozen);
      }
    }
    if (this.listener) {
      try {
        this.listener(frozen);
      } catch (error) {
        // A test's listener must not break the provider's own bookkeeping half-way through a transition.
        this.log(`onEvent threw: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  events(): readonly SandboxEvent[] {
    return [...this.history];
  }

  /** First matching event, already seen or still to come; rejects after `timeoutMs` of real time. */
  waitFor(predicate: (event: SandboxEvent) => boolean, timeoutMs = 5_000): Promise<SandboxEvent> {
    const seen = this.history.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<SandboxEvent>((resolve, reject) => {
      // Real time on purpose: this guards a test against hanging, it never stands in for waiting.
      const guard = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`sandbox.waitFor: no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (event) => {
          clearTimeout(guard);
          resolve(event);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Forgets past events; pending waiters keep waiting for what comes next. */
  clear(): void {
    this.history = [];
  }
}

/** Appends, keeping about the last `limit` items; trims in chunks so a long benchmark does not pay for a shift on every push. */
export function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit + Math.max(1, Math.floor(limit / 10))) list.splice(0, list.length - limit);
}
