import { parseCallerAmount } from '../lianlian/money';
import { ENV } from './contract';

/**
 * Waiting for funds and the low-balance warning as configuration (issue 13, docs/funds.md): one
 * validation shared by the functions' cold start (src/config/env.ts) and the synth (infra/config), so a
 * setting that would refuse to start never deploys.
 */
export interface FundsConfig {
  /** The balance is queried (and waiting payouts resent) at most this often: BALANCE_CHECK_SECONDS. */
  readonly checkIntervalMs: number;
  /** A 9104-refused payout is REJECTED after waiting this long: FUNDS_WAIT_SECONDS. */
  readonly waitMs: number;
  /** LOW_BALANCE_AMOUNT in fen; absent = only "below the waiting amount" counts as low. */
  readonly lowBalanceFen?: number;
}

export interface FundsInput {
  readonly balanceCheckSeconds?: string;
  readonly fundsWaitSeconds?: string;
  readonly lowBalanceAmount?: string;
}

export type FundsField = keyof FundsInput;

/** The env var each field is read from. */
export const FUNDS_ENV = {
  balanceCheckSeconds: ENV.balanceCheckSeconds,
  fundsWaitSeconds: ENV.fundsWaitSeconds,
  lowBalanceAmount: ENV.lowBalanceAmount,
} as const satisfies Record<FundsField, string>;

export const DEFAULT_BALANCE_CHECK_SECONDS = 300;
export const DEFAULT_FUNDS_WAIT_SECONDS = 86_400;
/** A check more often than this would spend the provider's rate on balance queries. */
const MIN_BALANCE_CHECK_SECONDS = 30;
/** The provider lets a 9104'd no_order be resent, but not forever: 30 days bounds the wait. */
const MAX_FUNDS_WAIT_SECONDS = 30 * 86_400;

export type FundsResult =
  | { readonly ok: true; readonly funds: FundsConfig }
  | { readonly ok: false; readonly problems: readonly { field: FundsField; message: string }[] };

export function parseFunds(input: FundsInput): FundsResult {
  const problems: { field: FundsField; message: string }[] = [];
  const seconds = (field: FundsField, fallback: number, min: number, max: number): number => {
    const raw = input[field];
    if (raw === undefined || raw === '') return fallback;
    if (!/^[0-9]+$/.test(raw)) {
      problems.push({ field, message: 'must be a whole number of seconds' });
      return fallback;
    }
    const n = Number(raw);
    if (n < min || n > max) {
      problems.push({ field, message: `must be between ${min} and ${max} seconds` });
      return fallback;
    }
    return n;
  };
  const check = seconds(
    'balanceCheckSeconds',
    DEFAULT_BALANCE_CHECK_SECONDS,
    MIN_BALANCE_CHECK_SECONDS,
    86_400,
  );
  const wait = seconds('fundsWaitSeconds', DEFAULT_FUNDS_WAIT_SECONDS, 60, MAX_FUNDS_WAIT_SECONDS);
  let lowBalanceFen: number | undefined;
  const low = input.lowBalanceAmount;
  if (low !== undefined && low !== '') {
    const parsed = parseCallerAmount(low);
    if (parsed.ok) lowBalanceFen = parsed.fen;
    else problems.push({ field: 'lowBalanceAmount', message: `${parsed.reason} (yuan, e.g. "50000.00")` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    funds: {
      checkIntervalMs: check * 1000,
      waitMs: wait * 1000,
      ...(lowBalanceFen === undefined ? {} : { lowBalanceFen }),
    },
  };
}
