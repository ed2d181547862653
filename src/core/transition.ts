import { isResultPay, type ResultPay } from '../lianlian/codes';
import { formatDtOrder } from '../lianlian/time';
import { chinaDay } from './days';
import { withoutUndefined } from './defined';
import type { ChangeSource, HistoryEntry, OrderPatch, PayoutOrder } from './model';
import { EXPIRY_PRINCIPAL } from './model';
import type { ApplyOutcome } from './ports';
import { isFinal, NOT_SENT_STATUSES, type PayoutStatus } from './status';

/**
 * The one transition function. Apply outcomes, query answers, notifications and reconciliation all feed
 * it; it decides every change. Plain code, no I/O: the caller writes its decision conditionally on the
 * status and version it was computed from.
 */

export type TransitionInput =
  | {
      readonly type: 'apply';
      /** `query`/`reconcile`: the answer to a resend made after a query (GET ?refresh, reconciliation). */
      readonly source: 'apply' | 'query' | 'reconcile';
      readonly outcome: ApplyOutcome;
    }
  | {
      readonly type: 'result';
      readonly source: Exclude<ChangeSource, 'apply'>;
      readonly resultPay: string;
      /** Amount the provider reports, integer fen; a different amount is never applied. */
      readonly moneyFen: number;
      /** The order time the provider reports, when it does; a different one is never applied. */
      readonly dtOrder?: string;
      readonly oidPaybill?: string;
      readonly settleDate?: string;
      readonly memo?: string;
      readonly retCode?: string;
    }
  | { readonly type: 'not_found'; readonly source: 'query' | 'reconcile' }
  /** A second person approves: AWAITING_APPROVAL → PENDING (the caller commits limits and sends). */
  | { readonly type: 'approve'; readonly principal: string }
  /** `batch`: the item's batch was denied (a QUEUED item is denied with its batch, never on its own). */
  | { readonly type: 'deny'; readonly principal: string; readonly reason: string; readonly batch?: boolean }
  | { readonly type: 'void'; readonly principal: string; readonly reason?: string }
  /** Reconciliation found an AWAITING_APPROVAL order due: void it if its approval time is up. */
  | { readonly type: 'expire' }
  /** The batch dispatcher claims a QUEUED item before sending it: QUEUED → PENDING (issue 11). */
  | { readonly type: 'dispatch' }
  /** The balance now covers an AWAITING_FUNDS order: claim it for a resend, AWAITING_FUNDS → PENDING. */
  | { readonly type: 'funds_resend' }
  /** An AWAITING_FUNDS order found due: REJECTED once it has waited FUNDS_WAIT_SECONDS (issue 13). */
  | { readonly type: 'funds_expire' }
  /**
   * A person acknowledges the order's recorded anomalies (issue 12): a change with the SAME status, its
   * history entry naming the principal and the note; refused (invalid_state) when none is unacknowledged.
   */
  | { readonly type: 'ack_anomalies'; readonly principal: string; readonly note: string };

export interface TransitionContext {
  readonly now: Date;
  /** 8901 only becomes conclusive once it persists this long after the apply (spec §7). */
  readonly notFoundGraceMs: number;
  /**
   * The returns watch: how long after SUCCESS reconciliation looks once more, because a CANCEL can follow
   * and its notifications can all be lost (spec §5, §8). 0 = off: a SUCCESS leaves the due index at once.
   */
  readonly returnWatchMs?: number;
  /** When an approved order is first looked at by reconciliation (PayoutConfig.firstCheckDelayMs). */
  readonly firstCheckDelayMs?: number;
  /** How long an order refused with 9104 waits for funds before it is REJECTED (default one day). */
  readonly fundsWaitMs?: number;
}

export const DEFAULT_FUNDS_WAIT_MS = 86_400 * 1000;

/** The provider's "merchant balance insufficient" (spec §7): nothing was paid, the same no_order may be resent. */
export const INSUFFICIENT_FUNDS_CODE = '9104';

/**
 * Something an operator must hear about although the decision itself is safe; the caller logs it at error
 * level and counts its metric (see ALARM_METRICS in payouts.ts).
 * - `resend_refused`: a conclusive refusal answered to a RESEND: the first apply may still be paying, so
 *   the order stays open (UNKNOWN) instead of becoming final.
 * - `applied_at_unreadable`: the age of the apply cannot be read, so 8901 is treated as inside the grace.
 */
export type TransitionAlarm = 'resend_refused' | 'applied_at_unreadable';

export type Decision =
  | { readonly kind: 'none'; readonly reason: string; readonly alarm?: TransitionAlarm }
  | {
      readonly kind: 'change';
      readonly status: PayoutStatus;
      readonly set: OrderPatch;
      readonly entry: HistoryEntry;
      /** The order leaves reconciliation's due index (a final status with no returns watch). */
      readonly leaveDueIndex?: boolean;
      readonly alarm?: TransitionAlarm;
    }
  /** A contradiction: recorded (history + counter), logged and counted, never applied. */
  | { readonly kind: 'anomaly'; readonly set: OrderPatch; readonly entry: HistoryEntry }
  /**
   * PENDING and the provider has had no record of it for the whole grace after the last apply: the apply
   * may be sent again under the same no_order and dt_order.
   */
  | { readonly kind: 'resend'; readonly reason: string }
  /** A person's action that is not allowed; nothing changes, the caller answers 403 / 409. */
  | { readonly kind: 'refused'; readonly code: 'same_principal' | 'invalid_state'; readonly reason: string };

export const DEFAULT_NOT_FOUND_GRACE_MS = 30 * 60 * 1000;

/** Progress rank of the provider's non-final results: a lower rank never replaces a higher one. */
const RANK: Record<PayoutStatus, number> = {
  PENDING: 0,
  ACCEPTED: 0,
  UNKNOWN: 0,
  WAITING: 1,
  PROCESSING: 2,
  SUCCESS: 3,
  FAILURE: 3,
  CANCEL: 4,
  REJECTED: 3,
  // Never sent: provider results for these are anomalies (decideResult), ranks are never compared.
  AWAITING_APPROVAL: 0,
  DENIED: 0,
  VOIDED: 0,
  QUEUED: 0,
  AWAITING_FUNDS: 0,
};

export function decide(order: PayoutOrder, input: TransitionInput, ctx: TransitionContext): Decision {
  switch (input.type) {
    case 'apply':
      return decideApply(order, input, ctx);
    case 'result':
      return decideResult(order, input, ctx);
    case 'not_found':
      return decideNotFound(order, input, ctx);
    case 'approve':
    case 'deny':
    case 'void':
    case 'expire':
      return decideControl(order, input, ctx);
    case 'dispatch':
    case 'funds_resend':
    case 'funds_expire':
      return decideSend(order, input, ctx);
    case 'ack_anomalies':
      return decideAck(order, input, ctx);
  }
}

/**
 * An acknowledgement says a person has looked at every anomaly recorded so far; it changes no status and
 * moves no money (an acknowledged anomaly on a never-sent order still blocks its approval: decideControl
 * looks at `anomalies`, not at what was acknowledged). A later anomaly is unacknowledged again.
 */
function decideAck(
  order: PayoutOrder,
  input: Extract<TransitionInput, { type: 'ack_anomalies' }>,
  ctx: TransitionContext,
): Decision {
  const acknowledged = order.anomalies_acknowledged ?? 0;
  if (order.anomalies <= acknowledged) {
    return refused('invalid_state', 'payout has no unacknowledged anomaly');
  }
  return change(
    order,
    ctx,
    'operator',
    order.status,
    { anomalies_acknowledged: order.anomalies },
    { note: input.note, principal: input.principal },
  );
}

function entry(
  order: PayoutOrder,
  ctx: TransitionContext,
  source: ChangeSource,
  to: PayoutStatus,
  extra: Omit<HistoryEntry, 'at' | 'source' | 'from' | 'to'>,
): HistoryEntry {
  return { at: ctx.now.toISOString(), source, from: order.status, to, ...withoutUndefined(extra) };
}

function change(
  order: PayoutOrder,
  ctx: TransitionContext,
  source: ChangeSource,
  status: PayoutStatus,
  set: OrderPatch,
  extra: Omit<HistoryEntry, 'at' | 'source' | 'from' | 'to'>,
): Extract<Decision, { kind: 'change' }> {
  const clean: OrderPatch = withoutUndefined(set);
  // Entering a final status leaves the due index — unless the change names a check time (the returns
  // watch). Said explicitly: the store keeps the index as it was for every change that does not say so.
  const leaveDueIndex = isFinal(status) && status !== order.status && clean.next_check_at === undefined;
  // A result on a later China day than the order's own: the daily close of that day must find it
  // ("late results of earlier days") without a scan, through the sparse index on late_day.
  const day = chinaDay(ctx.now);
  const late = isFinal(status) && status !== order.status && day !== chinaDay(new Date(order.created_at));
  return {
    kind: 'change',
    status,
    set: late ? { ...clean, late_day: day } : clean,
    entry: entry(order, ctx, source, status, extra),
    ...(leaveDueIndex ? { leaveDueIndex } : {}),
  };
}

function anomaly(
  order: PayoutOrder,
  ctx: TransitionContext,
  source: ChangeSource,
  reason: string,
  extra: { ret_code?: string; result_pay?: string } = {},
): Decision {
  // The same contradiction reported again (a repeated notification, a query every run) is recorded once:
  // valid duplicates must have no second effect.
  const seen = order.history.some(
    (h) => h.anomaly === reason && h.result_pay === extra.result_pay && h.ret_code === extra.ret_code,
  );
  if (seen) return { kind: 'none', reason: `anomaly already recorded: ${reason}` };
  return {
    kind: 'anomaly',
    set: { anomalies: order.anomalies + 1 },
    entry: entry(order, ctx, source, order.status, { ...extra, anomaly: reason }),
  };
}

function decideApply(
  order: PayoutOrder,
  input: Extract<TransitionInput, { type: 'apply' }>,
  ctx: TransitionContext,
): Decision {
  const { outcome, source } = input;
  if (neverSent(order.status)) {
    // Only PENDING is ever sent; an apply answer for anything else cannot be ours to apply.
    if (outcome.kind === 'rejected') {
      return anomaly(order, ctx, source, `apply answer for an order never sent (${order.status})`, {
        ret_code: outcome.retCode,
      });
    }
    return { kind: 'none', reason: `apply answer ignored in ${order.status}` };
  }
  if (order.status !== 'PENDING') {
    // A late apply answer after a notification or query already moved the order: the provider's result
    // is better evidence. Only a conclusive refusal contradicts it.
    if (outcome.kind === 'rejected' && order.status !== 'REJECTED') {
      return anomaly(order, ctx, source, 'apply rejected after the provider reported the order', {
        ret_code: outcome.retCode,
      });
    }
    return { kind: 'none', reason: `apply answer ignored in ${order.status}` };
  }
  const refusedBefore = order.refused_applies ?? 0;
  if (outcome.kind === 'rejected' && order.apply_attempts - 1 !== refusedBefore) {
    // A refusal answered to a RESEND proves nothing about an earlier apply whose answer we never recorded:
    // the provider may refuse before its duplicate check (balance, limits) while the original is being
    // paid. Closing the order would let the merchant pay again under a new number, so it stays open and
    // keeps being queried; from here the ordinary UNKNOWN rules apply (a result makes it final; 8901 for
    // the whole grace after this apply closes it REJECTED). ret_code keeps the refusal, so it is never
    // read as "the provider has it". Only when every earlier apply was itself refused conclusively (a
    // resend from AWAITING_FUNDS) does a refusal stay conclusive.
    const refused = change(
      order,
      ctx,
      source,
      'UNKNOWN',
      { ret_code: outcome.retCode, ret_msg: outcome.retMsg },
      {
        ret_code: outcome.retCode,
        note: `resend refused with ${outcome.retCode}: the first apply may still be paying`,
      },
    );
    return { ...refused, alarm: 'resend_refused' };
  }
  if (outcome.kind === 'rejected' && outcome.retCode === INSUFFICIENT_FUNDS_CODE) {
    // Nothing was paid and the provider lets the same no_order be sent again (spec §7): wait for funds
    // instead of failing. Due again when the wait runs out (funds_expire); resent earlier by the funds
    // module as soon as a balance query shows enough.
    const since = order.funds_since ?? ctx.now.toISOString();
    const waitMs = ctx.fundsWaitMs ?? DEFAULT_FUNDS_WAIT_MS;
    return change(
      order,
      ctx,
      source,
      'AWAITING_FUNDS',
      {
        ret_code: outcome.retCode,
        ret_msg: outcome.retMsg,
        refused_applies: refusedBefore + 1,
        funds_since: since,
        next_check_at: new Date(Date.parse(since) + waitMs).toISOString(),
      },
      { ret_code: outcome.retCode, note: 'balance insufficient: waiting for funds' },
    );
  }
  const [status, note]: [PayoutStatus, string] =
    outcome.kind === 'accepted'
      ? ['ACCEPTED', 'apply accepted']
      : outcome.kind === 'rejected'
        ? ['REJECTED', 'apply refused with a conclusive code']
        : ['UNKNOWN', `apply outcome unknown: ${outcome.reason}`];
  return change(
    order,
    ctx,
    source,
    status,
    {
      ret_code: outcome.retCode,
      ret_msg: outcome.retMsg,
      oid_paybill: outcome.kind === 'accepted' ? outcome.oidPaybill : undefined,
    },
    { ret_code: outcome.retCode, note },
  );
}

/**
 * Whether a reported result is provably about the order we sent: the same amount and, when the provider
 * names it, the same dt_order (spec §13). Answers the anomaly to record, or undefined. Notifications use
 * it too, to refuse what was recorded instead of acknowledging it.
 */
export function resultContradiction(
  order: Pick<PayoutOrder, 'money_fen' | 'dt_order'>,
  input: Pick<Extract<TransitionInput, { type: 'result' }>, 'moneyFen' | 'dtOrder'>,
): string | undefined {
  if (input.moneyFen !== order.money_fen) return 'provider reported a different amount';
  // Same no_order, another order time: not the order we sent, whatever it says.
  if (input.dtOrder !== undefined && input.dtOrder !== order.dt_order) {
    return 'provider reported a different dt_order';
  }
  return undefined;
}

function decideResult(
  order: PayoutOrder,
  input: Extract<TransitionInput, { type: 'result' }>,
  ctx: TransitionContext,
): Decision {
  const { source, resultPay } = input;
  const codes = { ret_code: input.retCode, result_pay: resultPay };
  if (neverSent(order.status)) {
    // We never sent this order, yet the provider reports it: never believed, always looked at.
    return anomaly(
      order,
      ctx,
      source,
      `result ${resultPay} for an order never sent (${order.status})`,
      codes,
    );
  }
  const contradiction = resultContradiction(order, input);
  if (contradiction) return anomaly(order, ctx, source, contradiction, codes);
  if (!isResultPay(resultPay)) {
    // Spec §8: any other value keeps the order non-final and raises an alarm.
    return anomaly(order, ctx, source, 'unknown result_pay', codes);
  }
  const target: PayoutStatus = resultPay satisfies ResultPay;
  const set: OrderPatch = {
    result_pay: resultPay,
    oid_paybill: input.oidPaybill || undefined,
    settle_date: input.settleDate || undefined,
    memo: input.memo || undefined,
    ret_code: input.retCode,
  };
  const note = `provider result ${resultPay}`;

  if (order.status === target) {
    // A repeat adds nothing — unless it carries provider details we lack (a FAILURE learnt by
    // notification has no reason; a 1.1 query adds memo). Those are recorded without a status change.
    const details: OrderPatch = withoutUndefined({
      oid_paybill: order.oid_paybill === undefined ? set.oid_paybill : undefined,
      settle_date: order.settle_date === undefined ? set.settle_date : undefined,
      memo: order.memo === undefined ? set.memo : undefined,
    });
    if (Object.keys(details).length === 0) return { kind: 'none', reason: `already ${target}` };
    // Same status: the change does not leave the due index, so a watched SUCCESS stays watched.
    return change(order, ctx, source, target, details, { ...codes, note: 'provider details added' });
  }

  if (order.status === 'REJECTED') {
    // We concluded nothing was paid; the provider says the order exists. Someone must look.
    return anomaly(order, ctx, source, `result ${resultPay} for a rejected order`, codes);
  }
  if (isFinal(order.status)) {
    if (order.status === 'SUCCESS' && target === 'CANCEL') {
      return change(order, ctx, source, 'CANCEL', set, { ...codes, note: 'returned after success' });
    }
    if (isFinal(target)) {
      // CANCEL already implies the SUCCESS before it: a late SUCCESS is stale, not a contradiction.
      if (order.status === 'CANCEL' && target === 'SUCCESS')
        return { kind: 'none', reason: 'stale SUCCESS after CANCEL' };
      return anomaly(order, ctx, source, `${target} after ${order.status}`, codes);
    }
    return { kind: 'none', reason: `stale ${target} after final ${order.status}` };
  }
  if (RANK[target] < RANK[order.status])
    return { kind: 'none', reason: `stale ${target} after ${order.status}` };
  const watchMs = ctx.returnWatchMs ?? 0;
  const watch =
    target === 'SUCCESS' && watchMs > 0
      ? { next_check_at: new Date(ctx.now.getTime() + watchMs).toISOString() }
      : {};
  return change(order, ctx, source, target, { ...set, ...watch }, { ...codes, note });
}

function decideNotFound(
  order: PayoutOrder,
  input: Extract<TransitionInput, { type: 'not_found' }>,
  ctx: TransitionContext,
): Decision {
  const { source } = input;
  const codes = { ret_code: '8901' };
  if (isFinal(order.status)) return { kind: 'none', reason: `8901 ignored for final ${order.status}` };
  // Never sent: the provider not knowing it is exactly right.
  if (NOT_SENT_STATUSES.has(order.status)) return { kind: 'none', reason: `8901 for ${order.status}` };
  const age = applyAgeMs(order, ctx.now);
  if (age === undefined) {
    // Fail safe: an age we cannot read counts as inside the grace. Nothing is resent or closed on it;
    // the caller reports it so someone repairs the record.
    return { kind: 'none', reason: '8901 with an unreadable applied_at', alarm: 'applied_at_unreadable' };
  }
  // 8901 is only conclusive once it has persisted for the whole grace after the last apply (spec §7): the
  // provider may not show an order it is already paying. Until then nothing changes, nothing is resent.
  if (age < ctx.notFoundGraceMs) return { kind: 'none', reason: '8901 inside the grace period' };
  if (order.status === 'PENDING') {
    // Recorded, and unknown to the provider for the whole grace: perhaps never sent (the process died in
    // between). Sent again under the SAME no_order and dt_order; a refusal of that resend is never final
    // (decideApply), so even a provider that refuses before its duplicate check cannot make us pay twice.
    return { kind: 'resend', reason: `8901 persisted ${Math.round(age / 60000)} min after the apply` };
  }
  if (order.status === 'UNKNOWN' && order.ret_code !== '1002' && order.ret_code !== '2005') {
    // The apply never reached the provider: it has had the whole grace period to record it. Nothing was
    // paid, so the order is closed as REJECTED and the merchant may pay again under a new number.
    return change(
      order,
      ctx,
      source,
      'REJECTED',
      { ret_code: '8901', ret_msg: 'no record at the provider after the grace period' },
      { ...codes, note: `8901 persisted ${Math.round(age / 60000)} min after the apply` },
    );
  }
  // ACCEPTED (a signed 0000), WAITING/PROCESSING (the provider reported it), or UNKNOWN after 1002/2005
  // (the provider said it has the order): a missing record contradicts evidence; never close it.
  return anomaly(order, ctx, source, `8901 after grace for ${order.status}`, codes);
}

/** An applied_at this code wrote: ISO-8601 UTC with optional milliseconds, and a real calendar time. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Milliseconds since the last apply, or undefined when applied_at cannot be read. */
function applyAgeMs(order: Pick<PayoutOrder, 'applied_at'>, now: Date): number | undefined {
  const at: unknown = order.applied_at;
  if (typeof at !== 'string' || !ISO_UTC.test(at)) return undefined;
  const ms = Date.parse(at);
  // Date.parse rolls 2026-02-30 over to March; a time that does not print back the same is not readable.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== at.slice(0, 19)) return undefined;
  return now.getTime() - ms;
}

/** Statuses in which nothing was ever sent: still waiting, or ended before sending. */
export function neverSent(status: PayoutStatus): boolean {
  return NOT_SENT_STATUSES.has(status) || status === 'DENIED' || status === 'VOIDED';
}

const refused = (code: 'same_principal' | 'invalid_state', reason: string): Decision => ({
  kind: 'refused',
  code,
  reason,
});

/**
 * Approve, deny, void, expire (issue 10). Only approve leads towards sending, and only from
 * AWAITING_APPROVAL; the others end a not-sent order (DENIED / VOIDED, final). The maker never checks
 * their own payout: approve and deny by the creator are refused (the maker withdraws with void).
 */
function decideControl(
  order: PayoutOrder,
  input: Extract<TransitionInput, { type: 'approve' | 'deny' | 'void' | 'expire' }>,
  ctx: TransitionContext,
): Decision {
  const awaiting = order.status === 'AWAITING_APPROVAL';
  const expiresAt = order.approval_expires_at ?? order.next_check_at;
  const expired = expiresAt !== undefined && ctx.now.getTime() >= Date.parse(expiresAt);
  switch (input.type) {
    case 'expire': {
      if (!awaiting) return { kind: 'none', reason: `nothing to expire in ${order.status}` };
      if (!expired) return { kind: 'none', reason: 'approval not yet expired' };
      return change(
        order,
        ctx,
        'expiry',
        'VOIDED',
        { voided_by: EXPIRY_PRINCIPAL },
        { note: 'approval expired', principal: EXPIRY_PRINCIPAL },
      );
    }
    case 'approve': {
      if (!awaiting) return refused('invalid_state', `payout is ${order.status}, not awaiting approval`);
      // Checked before the expiry so the answer does not depend on when reconciliation runs.
      if (order.created_by !== undefined && order.created_by === input.principal) {
        return refused('same_principal', 'the creator of a payout cannot approve it');
      }
      if (expired) return refused('invalid_state', 'the approval period has expired');
      // The provider reported a result for this never-sent order (recorded as an anomaly): sending it now
      // could pay what the provider may already be paying. Someone must look first.
      if (order.anomalies > 0) {
        return refused('invalid_state', 'the provider reported this never-sent payout; investigate first');
      }
      const now = ctx.now;
      return change(
        order,
        ctx,
        'approval',
        'PENDING',
        {
          approved_by: input.principal,
          // From here it goes exactly like a new payout: the apply is sent now, so the grace period and
          // the first check count from now, and dt_order is the time the money was committed (the
          // provider has never seen this order; a days-old order time would only invite a refusal).
          dt_order: formatDtOrder(now),
          applied_at: now.toISOString(),
          next_check_at: new Date(now.getTime() + (ctx.firstCheckDelayMs ?? 0)).toISOString(),
        },
        { note: 'approved', principal: input.principal },
      );
    }
    case 'deny': {
      const batchItem = order.status === 'QUEUED' && input.batch === true;
      if (!awaiting && !batchItem) {
        return refused('invalid_state', `payout is ${order.status}, not awaiting approval`);
      }
      if (order.created_by !== undefined && order.created_by === input.principal) {
        return refused('same_principal', 'the creator of a payout cannot deny it; void it instead');
      }
      return change(
        order,
        ctx,
        'approval',
        'DENIED',
        { denied_by: input.principal },
        { note: input.reason, principal: input.principal },
      );
    }
    case 'void': {
      // Only while nothing is at the provider: AWAITING_APPROVAL, QUEUED, AWAITING_FUNDS.
      if (!NOT_SENT_STATUSES.has(order.status)) {
        return refused(
          'invalid_state',
          `payout is ${order.status}; only a payout not yet sent can be voided`,
        );
      }
      return change(
        order,
        ctx,
        'approval',
        'VOIDED',
        { voided_by: input.principal },
        { note: input.reason, principal: input.principal },
      );
    }
  }
}

/**
 * The claims that send an apply from a waiting status (issues 11 and 13), and the end of a funds wait.
 * A claim is a conditional write like every other change: two dispatchers or two funds runs can never both
 * win it, so each apply leaves at most once per claim. Anything not in the expected status is a no-op:
 * the claimer simply skips it.
 */
function decideSend(
  order: PayoutOrder,
  input: Extract<TransitionInput, { type: 'dispatch' | 'funds_resend' | 'funds_expire' }>,
  ctx: TransitionContext,
): Decision {
  const now = ctx.now;
  const firstCheck = new Date(now.getTime() + (ctx.firstCheckDelayMs ?? 0)).toISOString();
  switch (input.type) {
    case 'dispatch': {
      if (order.status !== 'QUEUED')
        return { kind: 'none', reason: `nothing to dispatch in ${order.status}` };
      // Like an approval: the provider has never seen this order, so dt_order and the grace period start
      // now, when it is sent, not when the batch was accepted.
      return change(
        order,
        ctx,
        'dispatch',
        'PENDING',
        { dt_order: formatDtOrder(now), applied_at: now.toISOString(), next_check_at: firstCheck },
        { note: 'dispatched' },
      );
    }
    case 'funds_resend': {
      if (order.status !== 'AWAITING_FUNDS') {
        return { kind: 'none', reason: `nothing to resend in ${order.status}` };
      }
      // The same no_order and dt_order with identical fields (spec §7): one more attempt, counted, so the
      // answer to it is judged against every earlier one (decideApply).
      return change(
        order,
        ctx,
        'funds',
        'PENDING',
        {
          apply_attempts: order.apply_attempts + 1,
          applied_at: now.toISOString(),
          next_check_at: firstCheck,
        },
        { note: 'funds available: apply resent' },
      );
    }
    case 'funds_expire': {
      if (order.status !== 'AWAITING_FUNDS')
        return { kind: 'none', reason: `nothing to expire in ${order.status}` };
      const since = order.funds_since === undefined ? Number.NaN : Date.parse(order.funds_since);
      const waitMs = ctx.fundsWaitMs ?? DEFAULT_FUNDS_WAIT_MS;
      // An unreadable start counts as "not yet": waiting longer is safe, closing early is not needed.
      if (!Number.isFinite(since) || now.getTime() < since + waitMs) {
        return { kind: 'none', reason: 'still waiting for funds' };
      }
      return change(
        order,
        ctx,
        'funds',
        'REJECTED',
        {
          ret_code: INSUFFICIENT_FUNDS_CODE,
          ret_msg: `balance insufficient for ${Math.round(waitMs / 60000)} min`,
        },
        { ret_code: INSUFFICIENT_FUNDS_CODE, note: 'waited for funds too long' },
      );
    }
  }
}
