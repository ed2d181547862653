import { formatFen } from '../lianlian/money';
import { type FundsStore, ownFigures } from './funds';
import type { BalanceQuery, BalanceUnknownReason, Clock, OrderStore } from './ports';

/**
 * GET /balance (issue 13): the provider's figures (spec §11) beside our own, as yuan strings.
 *
 * - `amt_balance`, `amt_unsettle`: the provider's answer, verified like every answer; `queried_at` is
 *   when we asked.
 * - `in_flight_amount`: sent and not final (PENDING, ACCEPTED, UNKNOWN, WAITING, PROCESSING);
 *   `waiting_amount`: QUEUED, AWAITING_APPROVAL and AWAITING_FUNDS. Both from the due index (every open
 *   order is in it) plus batch reads of status and amount: never a scan (ownFigures).
 *
 * An unknown balance is an error (503 balance_unknown), never zeros.
 */
export interface BalanceView {
  readonly amt_balance: string;
  readonly amt_unsettle: string;
  readonly queried_at: string;
  readonly in_flight_amount: string;
  readonly waiting_amount: string;
}

/** The provider's balance could not be believed (or no balance URL is configured). HTTP 503. */
export class BalanceUnknownError extends Error {
  override readonly name: string = 'BalanceUnknownError';
  readonly code = 'balance_unknown' as const;
  constructor(readonly reason: BalanceUnknownReason) {
    super(`the provider's balance is unknown (${reason}); nothing is assumed, try again later`);
  }
}

export interface BalanceViewDeps {
  readonly balance: BalanceQuery;
  readonly store: Pick<OrderStore, 'listDue'>;
  readonly funds: Pick<FundsStore, 'amountsOf'>;
  readonly clock: Clock;
}

export async function balanceView(deps: BalanceViewDeps): Promise<BalanceView> {
  const queriedAt = deps.clock.now().toISOString();
  const [outcome, own] = await Promise.all([deps.balance.balance(), ownFigures(deps)]);
  if (outcome.kind !== 'known') throw new BalanceUnknownError(outcome.reason);
  return {
    amt_balance: formatFen(outcome.balanceFen),
    amt_unsettle: formatFen(outcome.unsettledFen),
    queried_at: queriedAt,
    in_flight_amount: formatFen(own.inFlightFen),
    waiting_amount: formatFen(own.waitingFen),
  };
}

/** Answers of at most this age are served from memory (per container). */
export const BALANCE_CACHE_MS = 60_000;

/**
 * balanceView cached for `ttlMs` (per container): a dashboard polling every second costs one provider
 * query and one index walk a minute. Only known answers are kept; an unknown one is asked again next time.
 * Concurrent callers share the one request in flight.
 */
export function cachedBalanceView(
  deps: BalanceViewDeps,
  ttlMs = BALANCE_CACHE_MS,
): () => Promise<BalanceView> {
  let kept: { view: BalanceView; at: number } | undefined;
  let inFlight: Promise<BalanceView> | undefined;
  return async () => {
    const now = deps.clock.now().getTime();
    if (kept && now - kept.at < ttlMs) return kept.view;
    inFlight ??= balanceView(deps)
      .then((view) => {
        kept = { view, at: now };
        return view;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
