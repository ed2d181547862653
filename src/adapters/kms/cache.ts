/**
 * Memoises a successful load for the life of the container (one cold start). Concurrent callers during the
 * load share it. A failure is not cached: it reaches every caller waiting on that attempt, and the next call
 * starts a fresh one (a KMS throttle or a cold-start network blip must not poison the container).
 */
export function cachedOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending) return pending;
    // Called through an async wrapper so a synchronous throw becomes a rejection like any other failure.
    const attempt = (async () => load())();
    pending = attempt;
    attempt.catch(() => {
      if (pending === attempt) pending = undefined;
    });
    return attempt;
  };
}

export interface LifetimeOptions {
  /** How long a loaded value is used before the next call reads it again. */
  readonly lifetimeMs: number;
  /** Milliseconds since the epoch (the runtime's Clock; tests pass a fake one). */
  readonly now: () => number;
  /**
   * After a failed refresh, how long the previous value is used before the next refresh attempt (so an
   * SSM/KMS outage costs one failed call per this period, not one per request). Default: a tenth of the
   * lifetime, at least one second.
   */
  readonly retryAfterMs?: number;
  /** Told about a failed refresh that was absorbed by the previous value (log it; the caller got a value). */
  readonly onRefreshError?: (error: unknown) => void;
}

/**
 * Like `cachedOnce`, but a loaded value is used for `lifetimeMs` only: the first call after that loads it
 * again (concurrent callers share the load), so a rotated secret is picked up without a cold start.
 *
 * A failed refresh does not wipe a value that is in use: the callers get the previous value, the failure
 * goes to `onRefreshError`, and the next attempt comes `retryAfterMs` later. Dropping the previous key
 * on a KMS throttle would stop every payout for nothing; the previous key stays as valid as it was a
 * moment ago until a refresh proves otherwise. With no value yet, a failure reaches the caller and is not
 * cached, as in `cachedOnce`.
 *
 * A refreshed value is a new object; callers that build something from it (the provider client) rebuild
 * when the identity changes.
 */
export function cachedFor<T>(load: () => Promise<T>, options: LifetimeOptions): () => Promise<T> {
  const retryAfterMs = options.retryAfterMs ?? Math.max(1000, Math.floor(options.lifetimeMs / 10));
  let current: { value: T; freshUntil: number } | undefined;
  let pending: Promise<T> | undefined;

  const refresh = (): Promise<T> => {
    if (pending) return pending;
    const attempt = (async () => load())().then(
      (value) => {
        current = { value, freshUntil: options.now() + options.lifetimeMs };
        return value;
      },
      (error: unknown) => {
        if (!current) throw error;
        options.onRefreshError?.(error);
        current = { value: current.value, freshUntil: options.now() + retryAfterMs };
        return current.value;
      },
    );
    pending = attempt;
    const clear = () => {
      if (pending === attempt) pending = undefined;
    };
    attempt.then(clear, clear);
    return attempt;
  };

  return () => {
    if (current && options.now() < current.freshUntil) return Promise.resolve(current.value);
    return refresh();
  };
}
