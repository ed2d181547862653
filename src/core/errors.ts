/** Domain errors. Adapters translate SDK exceptions into these; one place maps them to HTTP. */

export class TransitionConflictError extends Error {
  override readonly name: string = 'TransitionConflictError';
  constructor(
    readonly noOrder: string,
    options?: { cause?: unknown },
  ) {
    super(`order ${noOrder} changed concurrently; the write was refused`, options);
  }
}

export class ValidationError extends Error {
  override readonly name: string = 'ValidationError';
  constructor(
    readonly fields: readonly { field: string; message: string }[],
    message = 'the request is invalid',
  ) {
    super(message);
  }
}

export class ConflictError extends Error {
  override readonly name: string = 'ConflictError';
}

export class NotFoundError extends Error {
  override readonly name: string = 'NotFoundError';
}

/** A dependency (store, KMS, provider) failed in a way the caller may retry. */
export class DependencyError extends Error {
  override readonly name: string = 'DependencyError';
}
