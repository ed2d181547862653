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
