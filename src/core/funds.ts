import { METRICS } from '../config/contract';
import { formatFen } from '../lianlian/money';
import { chinaDay } from './days';
import { TransitionConflictError } from './errors';
import { FUNDS_LOW_DETAIL_TYPE, type FundsLowDetail, PAYOUT_EVENT_SOURCE, type PayoutEvent } from './events';
import type { PayoutOrder } from './model';
import { type PayoutDeps, sendApply, transitionContext } from './payouts';
import type { AwaitingPage, BalanceQuery, OrderStore } from './ports';
import type { RateLimiter } from './rate-limit';
import { decide } from './transition';

/**
 * Waiting for funds (issue 13, docs/funds.md). A first apply refused with 9104 leaves the order
 * AWAITING_FUNDS (the transition function decides that): nothing was paid, and the provider lets the same
 * no_order be sent again with identical fields (spec §7). This module, run inside the scheduled
 * reconciliation invocation before the due orders and at most every BALANCE_CHECK_SECONDS:
 *
 * 1. queries the balance (an unknown balance is never zero: then nothing is resent or recorded);
 * 2. records the reading for the daily close (`BALANCE#<China day>`), publishes AvailableBalance and
 *    WaitingAmount, and keeps the low-balance state (`FUNDS#low`: a Funds Low event once per crossing);
 * 3. resends waiting orders oldest first while the known balance covers them, each claimed with a
 *    conditional write (`funds_resend`: AWAITING_FUNDS → PENDING, apply_attempts + 1) before its apply
 *    leaves, within the reconciliation run's provider rate.
 *
 * Why a resend can never pay twice: only a claim that won its conditional write sends, and the answer
 * is judged by the one transition function against every earlier attempt: a refusal is conclusive only
 * while EVERY apply so far was refused (`apply_attempts - 1 === refused_applies`), anything else (1002,
 * a timeout) is UNKNOWN and queried, never resent blindly.
 */

/** An order's amount and status, read in batches for the figures (never the sealed payee). */
export interface OrderAmount {
  readonly no_order: string;
  readonly status: PayoutOrder['status'];
  readonly money_fen: number;
}

/** A balance reading kept per China day for the daily close. */
export interface BalanceReading {
  /** China day (UTC+8) of the reading, yyyy-mm-dd. */
  readonly day: string;
  readonly balanceFen: number;
  readonly at: string;
}

/** The figures a low-balance crossing is announced with. */
export interface FundsLowFigures {
  readonly balanceFen: number;
  readonly waitingFen: number;
  readonly lowBalanceFen?: number;
}

/**
 * The table items and index reads of this module (DynamoDB in AWS and local mode, memory in unit tests).
 * Every write is conditional where two runs could race.
 */
export interface FundsStore {
  /** AWAITING_FUNDS orders, oldest created first (the waiting queue; a sparse index, eventually consistent). */
  listAwaitingFunds(query: { limit: number; cursor?: string }): Promise<AwaitingPage>;
  /**
   * Claims this run's balance check: true iff no check was claimed within the last `intervalMs` before
   * `at` (a conditional write, so overlapping runs cannot both query and resend).
   */
  claimBalanceCheck(at: string, intervalMs: number): Promise<boolean>;
  /**
   * Records a reading under `BALANCE#<day>`: `first_fen`/`first_at` only if not set yet, `last_fen`/
   * `last_at` unless a later reading is already there.
   */
  recordBalance(reading: BalanceReading): Promise<void>;
  /**
   * Moves `FUNDS#low` to `low`, conditionally on it being the other way (absent counts as not low):
   * true iff this call made the change, so exactly one run announces a crossing.
   */
  setFundsLow(low: boolean, at: string, figures: FundsLowFigures): Promise<boolean>;
  /** Status and amount of these orders (batch reads; missing ones are left out). */
  amountsOf(noOrders: readonly string[]): Promise<OrderAmount[]>;
}

export interface FundsSettings {
  readonly checkIntervalMs: number;
  readonly lowBalanceFen?: number;
}

export interface FundsDeps extends PayoutDeps {
  readonly balance: BalanceQuery;
  readonly funds: FundsStore;
  readonly settings: FundsSettings;
}

export interface FundsRunOptions {
  /** The reconciliation run's limiter: the balance query and every resend take a slot. */
  readonly limiter: RateLimiter;
  /** False once the caller must stop taking work (the Lambda's time). */
  readonly timeLeft?: () => boolean;
  /** Waiting-queue page size; default 100. */
  readonly pageSize?: number;
  /** The waiting amount, if the caller has it; otherwise computed (see waitingFigures). */
  readonly waitingFen?: () => Promise<number>;
}

export interface FundsRunSummary {
  /** False when another run checked within BALANCE_CHECK_SECONDS (nothing else was done). */
  checked: boolean;
  /** The balance in fen when known. */
  balanceFen?: number;
  /** True when the answer could not be believed: nothing resent, nothing recorded. */
  unknown: boolean;
  /** Orders claimed and sent again. */
  resent: number;
  /** Listed but not claimable (moved meanwhile, another run's claim won). */
  skipped: number;
  /** Send attempts that failed after the claim (the order is PENDING and due: reconciliation takes it). */
  errors: number;
  /** True when the balance ran out before the queue did. */
  stoppedForFunds: boolean;
  /** Low-balance state after this check (undefined when unknown). */
  low?: boolean;
  /**
   * True when this run won the crossing (its conditional write moved `FUNDS#low` to low): the table
   * stream's publisher turns that write into the one Funds Low event (fundsLowEvents).
   */
  announcedLow: boolean;
}

const DEFAULT_PAGE_SIZE = 100;

/** One balance check: the reading, the warning, and the resends it allows. */
export async function runFundsCheck(deps: FundsDeps, options: FundsRunOptions): Promise<FundsRunSummary> {
  const summary: FundsRunSummary = {
    checked: false,
    unknown: false,
    resent: 0,
    skipped: 0,
    errors: 0,
    stoppedForFunds: false,
    announcedLow: false,
  };
  const now = deps.clock.now();
  const at = now.toISOString();
  if (!(await deps.funds.claimBalanceCheck(at, deps.settings.checkIntervalMs))) return summary;
  summary.checked = true;

  await options.limiter.acquire();
  const outcome = await deps.balance.balance();
  if (outcome.kind !== 'known') {
    summary.unknown = true;
    // Unknown is never zero: no resend, no reading, no low-balance crossing on it.
    deps.metrics.count(METRICS.balanceUnknown, 1);
    if (outcome.reason === 'bad_signature')
      deps.metrics.count(METRICS.signatureFailures, 1, { kind: 'balance' });
    deps.log.warn('balance unknown: nothing resent this check', {
      reason: outcome.reason,
      ret_code: outcome.retCode,
    });
    return summary;
  }
  const balanceFen = outcome.balanceFen;
  summary.balanceFen = balanceFen;
  deps.metrics.count(METRICS.availableBalance, balanceFen / 100);
  await deps.funds.recordBalance({ day: chinaDay(now), balanceFen, at });

  const waitingFen = await (options.waitingFen ?? (() => waitingAmountFen(deps)))();
  deps.metrics.count(METRICS.waitingAmount, waitingFen / 100);
  await keepLowState(
    deps,
    summary,
    { balanceFen, waitingFen, lowBalanceFen: deps.settings.lowBalanceFen },
    at,
  );

  await resendWhileCovered(deps, options, balanceFen, summary);
  if (summary.resent > 0) deps.metrics.count(METRICS.fundsResent, summary.resent);
  deps.log.info('funds check', {
    balance: formatFen(balanceFen),
    waiting: formatFen(waitingFen),
    resent: summary.resent,
    skipped: summary.skipped,
    errors: summary.errors,
    stopped_for_funds: summary.stoppedForFunds,
  });
  return summary;
}

/** Low: below LOW_BALANCE_AMOUNT, or below what is waiting to be paid. */
export function isLow(figures: FundsLowFigures): boolean {
  if (figures.lowBalanceFen !== undefined && figures.balanceFen < figures.lowBalanceFen) return true;
  return figures.balanceFen < figures.waitingFen;
}

async function keepLowState(
  deps: FundsDeps,
  summary: FundsRunSummary,
  figures: FundsLowFigures,
  at: string,
): Promise<void> {
  const low = isLow(figures);
  summary.low = low;
  // Conditional on the previous state: two runs cannot both win one crossing; back above re-arms it. The
  // event is not sent from here: the winning write is on the table stream, and the publisher sends it
  // from there (at least once, retried by the stream; the same id on every delivery), so a crash or a
  // failed PutEvents after this write cannot lose the announcement.
  const crossed = await deps.funds.setFundsLow(low, at, figures);
  if (!low || !crossed) return;
  summary.announcedLow = true;
  deps.log.warn('funds low', { ...fundsLowDetail(at, figures) });
}

/** The detail of the Funds Low event of a crossing at `at` with these figures. */
export function fundsLowDetail(at: string, figures: FundsLowFigures): FundsLowDetail {
  return {
    id: `funds-low:${at}`,
    amt_balance: formatFen(figures.balanceFen),
    waiting_amount: formatFen(figures.waitingFen),
    ...(figures.lowBalanceFen === undefined ? {} : { low_balance_amount: formatFen(figures.lowBalanceFen) }),
    occurred_at: at,
  };
}

/** The `FUNDS#low` item as the table stream shows it (FundsStore.setFundsLow writes it). */
export interface FundsLowState extends FundsLowFigures {
  readonly low: boolean;
  readonly changedAt: string;
}

/**
 * The events of one change of `FUNDS#low`: a Funds Low event when it moved from not low (or absent) to
 * low, nothing otherwise (back above, or a re-delivery of an unchanged image).
 */
export function fundsLowEvents(
  oldState: Pick<FundsLowState, 'low'> | undefined,
  newState: FundsLowState,
): PayoutEvent[] {
  if (!newState.low || oldState?.low === true) return [];
  return [
    {
      source: PAYOUT_EVENT_SOURCE,
      detailType: FUNDS_LOW_DETAIL_TYPE,
      detail: fundsLowDetail(newState.changedAt, newState),
    },
  ];
}

/** Oldest first, while the known balance covers them; the first that does not fit stops the walk. */
async function resendWhileCovered(
  deps: FundsDeps,
  options: FundsRunOptions,
  balanceFen: number,
  summary: FundsRunSummary,
): Promise<void> {
  let available = balanceFen;
  let cursor: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await deps.funds.listAwaitingFunds({
      limit: options.pageSize ?? DEFAULT_PAGE_SIZE,
      ...(cursor ? { cursor } : {}),
    });
    for (const ref of page.items) {
      if (options.timeLeft && !options.timeLeft()) return;
      if (seen.has(ref.no_order)) continue;
      seen.add(ref.no_order);
      // The index is eventually consistent and KEYS_ONLY: the current version from a consistent read.
      const order = await deps.store.get(ref.no_order);
      if (order?.status !== 'AWAITING_FUNDS') {
        summary.skipped++;
        continue;
      }
      // Oldest first means the oldest waits for the money, not that smaller later ones jump the queue.
      if (order.money_fen > available) {
        summary.stoppedForFunds = true;
        return;
      }
      await options.limiter.acquire();
      if (options.timeLeft && !options.timeLeft()) return;
      const sent = await resendForFunds(deps, order);
      if (sent === 'skipped') summary.skipped++;
      else if (sent === 'error') summary.errors++;
      else summary.resent++;
      // Counted as spent whatever the answer: an unknown answer may still be paying from this balance.
      if (sent !== 'skipped') available -= order.money_fen;
    }
    cursor = page.cursor;
  } while (cursor);
}

/**
 * Claims one AWAITING_FUNDS order (conditional write on its status and version) and sends its apply
 * under the same no_order and dt_order. Only the claimer sends: a lost claim is skipped, never retried
 * against a newer state (which might be another run's PENDING claim).
 */
export async function resendForFunds(
  deps: PayoutDeps,
  order: PayoutOrder,
): Promise<'sent' | 'skipped' | 'error'> {
  const decision = decide(order, { type: 'funds_resend' }, transitionContext(deps));
  if (decision.kind !== 'change') return 'skipped';
  // Opened before the claim: a claim whose apply cannot be built would record an attempt never sent.
  const payee = await deps.cipher.open(order.payee_sealed, order.no_order);
  let claimed: PayoutOrder;
  try {
    claimed = await deps.store.update(order, {
      status: decision.status,
      set: decision.set,
      history: decision.entry,
      at: deps.clock.now().toISOString(),
    });
  } catch (error) {
    if (error instanceof TransitionConflictError) return 'skipped';
    throw error;
  }
  deps.log.info('payout status changed', {
    no_order: order.no_order,
    from: order.status,
    to: claimed.status,
    source: 'funds',
    attempt: claimed.apply_attempts,
  });
  try {
    // The answer goes through the one transition function like any apply (9104 again → AWAITING_FUNDS;
    // 1002 or a timeout → UNKNOWN → queried).
    await sendApply(deps, claimed, payee, 'reconcile');
    return 'sent';
  } catch (error) {
    // The claim stands: the order is PENDING and due after the first-check delay, so reconciliation
    // queries it (and only resends it after 8901 for the whole grace).
    deps.log.error('funds resend: answer not recorded; reconciliation will query it', {
      no_order: order.no_order,
      error: error instanceof Error ? error.name : 'unknown',
    });
    return 'error';
  }
}

/**
 * An AWAITING_FUNDS order found due by reconciliation: its wait (FUNDS_WAIT_SECONDS from funds_since) is
 * over, so it is REJECTED with the reason. Never queried: the provider refused it, nothing is there.
 * Answers whether it changed.
 */
export async function expireFundsWait(deps: PayoutDeps, order: PayoutOrder): Promise<boolean> {
  const decision = decide(order, { type: 'funds_expire' }, transitionContext(deps));
  if (decision.kind !== 'change') return false;
  await deps.store.update(order, {
    status: decision.status,
    set: decision.set,
    history: decision.entry,
    at: deps.clock.now().toISOString(),
    ...(decision.leaveDueIndex ? { leaveDueIndex: true } : {}),
  });
  deps.log.info('payout status changed', {
    no_order: order.no_order,
    from: order.status,
    to: decision.status,
    source: 'funds',
    ret_code: decision.entry.ret_code,
  });
  return true;
}

/** Figures of our own beside the provider's: what is sent and not final, and what waits. */
export interface OwnFigures {
  readonly inFlightFen: number;
  readonly waitingFen: number;
}

/** Far beyond any check time: every order in the due index, whenever it is due. */
const END_OF_TIME = '9999-12-31T23:59:59.999Z';
const FIGURES_PAGE = 100;

/** Statuses whose money is at the provider and not final. */
const IN_FLIGHT = new Set<PayoutOrder['status']>(['PENDING', 'ACCEPTED', 'UNKNOWN', 'WAITING', 'PROCESSING']);
/** Statuses whose money waits to be sent. */
const WAITING = new Set<PayoutOrder['status']>(['QUEUED', 'AWAITING_APPROVAL', 'AWAITING_FUNDS']);

/**
 * Our own figures, from indexes only (never a scan): every open order is in the due index (open-by-due,
 * KEYS_ONLY: a Query per shard), its status and amount come from batch reads (BatchGetItem, 100 keys a
 * request, projected to status and amount). Costs one read per open order: callers cache the answer.
 */
export async function ownFigures(deps: {
  readonly store: Pick<OrderStore, 'listDue'>;
  readonly funds: Pick<FundsStore, 'amountsOf'>;
}): Promise<OwnFigures> {
  let inFlightFen = 0;
  let waitingFen = 0;
  let cursor: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await deps.store.listDue({
      dueBefore: END_OF_TIME,
      limit: FIGURES_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    const fresh = page.items.map((r) => r.no_order).filter((n) => !seen.has(n));
    for (const n of fresh) seen.add(n);
    for (const row of fresh.length > 0 ? await deps.funds.amountsOf(fresh) : []) {
      if (IN_FLIGHT.has(row.status)) inFlightFen += row.money_fen;
      else if (WAITING.has(row.status)) waitingFen += row.money_fen;
    }
    cursor = page.cursor;
  } while (cursor);
  return { inFlightFen, waitingFen };
}

async function waitingAmountFen(deps: FundsDeps): Promise<number> {
  return (await ownFigures(deps)).waitingFen;
}
