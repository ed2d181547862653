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

/** The caller may not do this to this payout: the creator approving (or denying) their own payout. */
export class ForbiddenError extends Error {
  override readonly name: string = 'ForbiddenError';
  readonly code = 'same_principal' as const;
}

/** The payout is not in a status that allows the action (approve/deny/void of a payout not awaiting it). */
export class InvalidStateError extends Error {
  override readonly name: string = 'InvalidStateError';
  readonly code = 'invalid_state' as const;
}

/** Which spending limit a payout would cross. */
export type LimitName = 'payout_max' | 'daily_amount' | 'payee_daily_amount' | 'payee_daily_count';

export interface LimitExceededField {
  readonly field: 'money_order';
  readonly message: string;
  readonly limit: LimitName;
  /** What is left under the limit: yuan with two decimals for amounts, a whole number for payee_daily_count. */
  readonly remaining: string;
}

/** The payout would cross a spending limit; nothing was recorded or committed. HTTP 422 limit_exceeded. */
export class LimitExceededError extends Error {
  override readonly name: string = 'LimitExceededError';
  readonly code = 'limit_exceeded' as const;
  readonly fields: readonly LimitExceededField[];
  constructor(
    readonly limit: LimitName,
    remaining: string,
    message = `the payout would cross the ${limit.replaceAll('_', ' ')} limit (remaining ${remaining})`,
  ) {
    super(message);
    this.fields = [{ field: 'money_order', message, limit, remaining }];
  }
}

/** What a log line may say about an error: its class name only (messages can carry provider text). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}
