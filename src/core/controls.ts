import { formatFen } from '../lianlian/money';
import { CHINA_OFFSET_MS, chinaDay, DAY_MS } from './days';
import { withoutUndefined } from './defined';
import type { LimitName } from './errors';
import type { PayoutOrder } from './model';
import type { LimitCommit } from './ports';
import type { PayoutStatus } from './status';

export { chinaDay };

/**
 * Spending controls (issue 10), as pure decisions. Amounts are integer fen; every limit is optional
 * (absent = no such limit). The stores enforce the counters race-safely; this module only says what to
 * reserve, release and check.
 */
export interface ControlPolicy {
  /** A payout of at least this amount waits for approval. */
  readonly approvalMinFen?: number;
  /** Larger payouts are refused at creation. */
  readonly payoutMaxFen?: number;
  /** Total committed to be sent per China day. */
  readonly dailyLimitFen?: number;
  /** Per payee account and China day. */
  readonly payeeDailyLimitFen?: number;
  readonly payeeDailyLimitCount?: number;
  /** An unapproved payout is voided after this. */
  readonly approvalTtlMs: number;
  /** A batch whose total is at least this waits for approval (APPROVAL_MIN_BATCH_AMOUNT, issue 11). */
  readonly approvalMinBatchFen?: number;
}

export const DEFAULT_APPROVAL_TTL_MS = 259_200 * 1000;

/** No controls: today's behaviour (nothing waits, nothing is counted). */
export const NO_CONTROLS: ControlPolicy = { approvalTtlMs: DEFAULT_APPROVAL_TTL_MS };

/** Counters outlive their day by this much (late releases, investigations), then DynamoDB TTL drops them. */
const COUNTER_RETENTION_MS = 3 * DAY_MS;

export function needsApproval(policy: ControlPolicy, moneyFen: number): boolean {
  return policy.approvalMinFen !== undefined && moneyFen >= policy.approvalMinFen;
}

export interface LimitBreach {
  readonly limit: LimitName;
  /** Remaining under the limit, as the error reports it (yuan for amounts, a whole number for counts). */
  readonly remaining: string;
}

/** The per-payout maximum: checked before anything is recorded. */
export function payoutMaxBreach(policy: ControlPolicy, moneyFen: number): LimitBreach | undefined {
  if (policy.payoutMaxFen === undefined || moneyFen <= policy.payoutMaxFen) return undefined;
  return { limit: 'payout_max', remaining: formatFen(policy.payoutMaxFen) };
}

/** Whether committing money moves counters at all: only when a daily or per-payee limit is set. */
export function countsCommits(policy: ControlPolicy): boolean {
  return policy.dailyLimitFen !== undefined || usesPayeeLimits(policy);
}

/** Per-payee limits need the payee key (and so the keyed hash of the card number). */
export function usesPayeeLimits(policy: ControlPolicy): boolean {
  return policy.payeeDailyLimitFen !== undefined || policy.payeeDailyLimitCount !== undefined;
}

/** Epoch seconds at which a day's counters may be dropped: the day's end (UTC+8) plus the retention. */
export function counterExpiresAt(day: string): number {
  const startUtc = Date.parse(`${day}T00:00:00.000Z`) - CHINA_OFFSET_MS;
  return Math.floor((startUtc + DAY_MS + COUNTER_RETENTION_MS) / 1000);
}

/**
 * What committing `moneyFen` at `now` reserves, or undefined when no counting limit is configured.
 * `payeeKey` is required when per-payee limits are set.
 */
export function reservationFor(
  policy: ControlPolicy,
  moneyFen: number,
  now: Date,
  payeeKey?: string,
): LimitCommit | undefined {
  if (!countsCommits(policy)) return undefined;
  const day = chinaDay(now);
  let payee: LimitCommit['payee'];
  if (usesPayeeLimits(policy)) {
    if (payeeKey === undefined) throw new Error('per-payee limits need the payee key');
    payee = withoutUndefined({
      key: payeeKey,
      limitFen: policy.payeeDailyLimitFen,
      limitCount: policy.payeeDailyLimitCount,
    });
  }
  return withoutUndefined({
    kind: 'reserve' as const,
    day,
    amountFen: moneyFen,
    expiresAt: counterExpiresAt(day),
    dailyLimitFen: policy.dailyLimitFen,
    payee,
  });
}

/** The order fields that record a reservation, so it can be released exactly once later. */
export function reservationFields(
  commit: LimitCommit,
): Pick<PayoutOrder, 'limit_day' | 'payee_key' | 'limit_held'> {
  return withoutUndefined({ limit_day: commit.day, payee_key: commit.payee?.key, limit_held: true });
}

/**
 * Statuses that end a committed payout with nothing paid: its reservation goes back to the day. DENIED
 * and VOIDED hold a reservation only for batch items (a batch reserves when it is committed, its items
 * can then be voided or denied); a single payout awaiting approval has reserved nothing yet.
 */
export const RELEASING: ReadonlySet<PayoutStatus> = new Set(['REJECTED', 'FAILURE', 'DENIED', 'VOIDED']);

/**
 * The release owed when `order` moves to `to`, or undefined. Only RELEASING statuses release: CANCEL
 * (returned after success) keeps its reservation, because that day's money did leave. A release for a
 * China day that is already over is skipped (that day's budget is history, and its counter may be gone).
 */
export function releaseFor(order: PayoutOrder, to: PayoutStatus, now: Date): LimitCommit | undefined {
  if (!order.limit_held || order.limit_day === undefined) return undefined;
  if (order.status === to || !RELEASING.has(to)) return undefined;
  if (order.limit_day < chinaDay(now)) return undefined;
  return withoutUndefined({
    kind: 'release' as const,
    day: order.limit_day,
    amountFen: order.money_fen,
    expiresAt: counterExpiresAt(order.limit_day),
    payee: order.payee_key === undefined ? undefined : { key: order.payee_key },
  });
}
