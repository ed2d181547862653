import { parseCallerAmount } from '../lianlian/money';

/**
 * The spending-control policy as configuration: yuan strings in, integer fen out. One validation shared by
 * the functions' cold start (src/config/env.ts, environment variables) and the synth (infra/config/schema.ts,
 * CDK context), so a policy that would refuse to start never deploys.
 *
 * Every limit is optional: unset means "no such control", and with nothing set the service behaves exactly
 * as it did before controls existed (no approval, no counters, no transaction cost).
 */

/** Structurally the core's ControlPolicy (src/core/controls.ts): amounts in fen, the TTL in milliseconds. */
export interface ControlsConfig {
  readonly approvalMinFen?: number;
  readonly payoutMaxFen?: number;
  readonly dailyLimitFen?: number;
  readonly payeeDailyLimitFen?: number;
  readonly payeeDailyLimitCount?: number;
  readonly approvalTtlMs: number;
  readonly approvalMinBatchFen?: number;
}

/** The raw values, by the name each one has where it is set (env var name or context key). */
export interface ControlsInput {
  readonly approvalMin?: string;
  readonly payoutMax?: string;
  readonly dailyLimit?: string;
  readonly payeeDailyLimit?: string;
  readonly payeeDailyLimitCount?: string;
  readonly approvalTtlSeconds?: string;
  /** APPROVAL_MIN_BATCH_AMOUNT (issue 11). */
  readonly approvalMinBatch?: string;
}

export type ControlsField = keyof ControlsInput;

/** Three days: long enough for a weekend, short enough that a forgotten request does not linger. */
const DEFAULT_APPROVAL_TTL_SECONDS = 259_200;
/** An approval window longer than the provider's query horizon would be meaningless; 30 days is plenty. */
const MAX_APPROVAL_TTL_SECONDS = 30 * 24 * 3600;
/** A payee limit of more payouts a day than this is a typo, not a control. */
const MAX_PAYEE_COUNT = 1_000_000;

export type ControlsResult =
  | { readonly ok: true; readonly controls: ControlsConfig }
  | { readonly ok: false; readonly problems: readonly { field: ControlsField; message: string }[] };

/**
 * Validates a policy; every problem at once, each naming its field, never echoing a value. `nameOf` gives
 * the name the operator wrote (the env var or the context key), so a message can name the other field.
 */
export function parseControls(
  input: ControlsInput,
  nameOf: (field: ControlsField) => string = (f) => f,
): ControlsResult {
  const problems: { field: ControlsField; message: string }[] = [];
  const amount = (field: ControlsField): number | undefined => {
    const raw = input[field];
    if (raw === undefined || raw === '') return undefined;
    const parsed = parseCallerAmount(raw);
    if (!parsed.ok) {
      problems.push({ field, message: `${parsed.reason} (a yuan amount such as "5000.00")` });
      return undefined;
    }
    return parsed.fen;
  };
  const whole = (field: ControlsField, min: number, max: number): number | undefined => {
    const raw = input[field];
    if (raw === undefined || raw === '') return undefined;
    if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push({ field, message: `must be a whole number from ${min} to ${max}` });
      return undefined;
    }
    return Number(raw);
  };

  const approvalMinFen = amount('approvalMin');
  const approvalMinBatchFen = amount('approvalMinBatch');
  const payoutMaxFen = amount('payoutMax');
  const dailyLimitFen = amount('dailyLimit');
  const payeeDailyLimitFen = amount('payeeDailyLimit');
  const payeeDailyLimitCount = whole('payeeDailyLimitCount', 1, MAX_PAYEE_COUNT);
  const ttlSeconds =
    whole('approvalTtlSeconds', 60, MAX_APPROVAL_TTL_SECONDS) ?? DEFAULT_APPROVAL_TTL_SECONDS;

  // Orderings that would make a control unreachable or contradictory: refuse them rather than guess.
  const atMost = (
    field: ControlsField,
    value: number | undefined,
    otherField: ControlsField,
    other: number | undefined,
  ) => {
    if (value !== undefined && other !== undefined && value > other) {
      problems.push({ field, message: `must not exceed ${nameOf(otherField)}` });
    }
  };
  atMost('approvalMin', approvalMinFen, 'payoutMax', payoutMaxFen);
  atMost('payoutMax', payoutMaxFen, 'dailyLimit', dailyLimitFen);
  atMost('payeeDailyLimit', payeeDailyLimitFen, 'dailyLimit', dailyLimitFen);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    controls: {
      ...(approvalMinFen !== undefined ? { approvalMinFen } : {}),
      ...(payoutMaxFen !== undefined ? { payoutMaxFen } : {}),
      ...(dailyLimitFen !== undefined ? { dailyLimitFen } : {}),
      ...(payeeDailyLimitFen !== undefined ? { payeeDailyLimitFen } : {}),
      ...(payeeDailyLimitCount !== undefined ? { payeeDailyLimitCount } : {}),
      approvalTtlMs: ttlSeconds * 1000,
      ...(approvalMinBatchFen !== undefined ? { approvalMinBatchFen } : {}),
    },
  };
}

/** Payee limits need the keyed payee hash (and its key); the other controls do not. */
export function needsPayeeKey(controls: ControlsConfig): boolean {
  return controls.payeeDailyLimitFen !== undefined || controls.payeeDailyLimitCount !== undefined;
}
