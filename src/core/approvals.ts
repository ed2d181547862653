import { payoutMaxBreach, reservationFields, reservationFor, usesPayeeLimits } from './controls';
import { LimitExceededError, NotFoundError, TransitionConflictError, ValidationError } from './errors';
import type { PayeeSecret, PayoutOrder } from './model';
import {
  applyInput,
  controlsOf,
  type PayoutDeps,
  payeeKeyOf,
  refusal,
  sendApply,
  transitionContext,
} from './payouts';
import { decide } from './transition';
import { type PayoutView, toView } from './view';

/**
 * The second person between a request and the money (issue 10): approve, deny, void, expire, and the
 * list of what waits. Every status comes from the one transition function; this module only adds the
 * claim (approval commits the limits and wins the right to send) and the reads around it.
 */

const MAX_CONFLICT_RETRIES = 5;
/** Free-text reasons are bounded: they are stored in the history and published in events. */
const MAX_REASON_LENGTH = 500;
const MAX_LIST_LIMIT = 100;
const DEFAULT_LIST_LIMIT = 50;

/**
 * Approves a payout awaiting approval. The conditional write AWAITING_APPROVAL@version → PENDING, with
 * the limit counters in the same transaction, is the claim: exactly one of any number of concurrent
 * approvals wins it, and only the winner sends the apply (once, exactly as a new payout). The others
 * re-read, find it no longer awaiting approval and get InvalidStateError (409). A crossed limit throws
 * LimitExceededError and the payout stays AWAITING_APPROVAL; the creator approving gets ForbiddenError.
 */
export async function approvePayout(
  deps: PayoutDeps,
  noOrder: string,
  principal: string,
): Promise<PayoutView> {
  assertPrincipal(principal);
  const policy = controlsOf(deps);
  let order = await mustGet(deps, noOrder);
  let payee: PayeeSecret | undefined;
  for (let attempt = 0; ; attempt++) {
    const decision = decide(order, { type: 'approve', principal }, transitionContext(deps));
    if (decision.kind === 'refused') throw refusal(noOrder, decision);
    if (decision.kind !== 'change') throw new Error(`approve of ${noOrder} decided ${decision.kind}`);
    // Limits are those in force at approval: a maximum lowered since the request applies too.
    const breach = payoutMaxBreach(policy, order.money_fen);
    if (breach) throw new LimitExceededError(breach.limit, breach.remaining);
    // The payee key is never stored for a waiting order (the limits in force at approval decide whether
    // it is needed), so with per-payee limits the card number is opened here, before the claim.
    if (usesPayeeLimits(policy)) payee ??= await deps.cipher.open(order.payee_sealed, noOrder);
    const now = deps.clock.now();
    const commit = reservationFor(
      policy,
      order.money_fen,
      now,
      payee ? await payeeKeyOf(deps, policy, payee) : undefined,
    );
    let claimed: PayoutOrder;
    try {
      claimed = await deps.store.update(
        order,
        {
          status: decision.status,
          set: commit ? { ...decision.set, ...reservationFields(commit) } : decision.set,
          history: decision.entry,
          at: now.toISOString(),
        },
        commit,
      );
    } catch (error) {
      if (error instanceof LimitExceededError) {
        deps.log.info('approval refused by a spending limit', { no_order: noOrder, limit: error.limit });
        throw error;
      }
      if (!(error instanceof TransitionConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
      // Someone else moved it (another approval won, a deny, a void): decide again on what is there now.
      order = await mustGet(deps, noOrder);
      continue;
    }
    deps.log.info('payout status changed', {
      no_order: noOrder,
      from: order.status,
      to: claimed.status,
      source: 'approval',
      principal,
    });
    // Outside the claim's retry loop: once this approval has won, nothing after it (the apply, the
    // write of its answer) may be mistaken for losing the claim and answered 409.
    return toView(await send(deps, claimed, payee));
  }
}

/** The winner's apply: exactly what createPayout does after its create won. */
async function send(deps: PayoutDeps, claimed: PayoutOrder, known?: PayeeSecret): Promise<PayoutOrder> {
  const payee = known ?? (await deps.cipher.open(claimed.payee_sealed, claimed.no_order));
  return sendApply(deps, claimed, payee, 'apply');
}

/** An approver refuses the payout: DENIED (final, nothing sent). The creator cannot deny (they void). */
export async function denyPayout(
  deps: PayoutDeps,
  noOrder: string,
  principal: string,
  reason: string,
): Promise<PayoutView> {
  assertPrincipal(principal);
  const text = checkReason(reason, true) ?? '';
  await mustGet(deps, noOrder);
  return toView(await applyInput(deps, undefined, { type: 'deny', principal, reason: text }, noOrder));
}

/** Withdraws a payout while nothing has been sent: VOIDED (final). */
export async function voidPayout(
  deps: PayoutDeps,
  noOrder: string,
  principal: string,
  reason?: string,
): Promise<PayoutView> {
  assertPrincipal(principal);
  const text = reason === undefined ? undefined : checkReason(reason, false);
  await mustGet(deps, noOrder);
  return toView(
    await applyInput(
      deps,
      undefined,
      { type: 'void', principal, ...(text === undefined ? {} : { reason: text }) },
      noOrder,
    ),
  );
}

/**
 * Reconciliation's part: an AWAITING_APPROVAL order came due (its next_check_at is its approval expiry).
 * Voided as `system:expiry` if its time is up; no provider call, nothing was ever sent.
 */
export async function expireApproval(deps: PayoutDeps, order: PayoutOrder): Promise<PayoutOrder> {
  return applyInput(deps, order, { type: 'expire' });
}

export interface AwaitingList {
  readonly items: readonly PayoutView[];
  readonly next_cursor: string | null;
}

/** `GET /payouts?status=AWAITING_APPROVAL`: oldest first, one page at a time, opaque cursor. */
export async function listAwaitingApproval(
  deps: PayoutDeps,
  query: { limit?: number; cursor?: string },
): Promise<AwaitingList> {
  const limit = query.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ValidationError([
      { field: 'limit', message: `must be an integer from 1 to ${MAX_LIST_LIMIT}` },
    ]);
  }
  let page: Awaited<ReturnType<PayoutDeps['store']['listAwaitingApproval']>>;
  try {
    page = await deps.store.listAwaitingApproval({
      limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  } catch (error) {
    if (error instanceof RangeError)
      throw new ValidationError([{ field: 'cursor', message: 'is not valid' }]);
    throw error;
  }
  // The index is eventually consistent and keys only: each order is read consistently, and one that
  // was decided meanwhile is left out.
  const orders = await Promise.all(page.items.map((ref) => deps.store.get(ref.no_order)));
  const items = orders
    .filter((o): o is PayoutOrder => o !== undefined && o.status === 'AWAITING_APPROVAL')
    .map(toView);
  return { items, next_cursor: page.cursor ?? null };
}

async function mustGet(deps: PayoutDeps, noOrder: string): Promise<PayoutOrder> {
  const order = await deps.store.get(noOrder);
  if (!order) throw new NotFoundError(`payout ${noOrder} not found`);
  return order;
}

/** Every decision is attributed: an empty principal means the integration is wrong, not the caller. */
export function assertPrincipal(principal: string): void {
  // Handlers take it from the request context; an empty one means the integration is wrong, not the caller.
  if (typeof principal !== 'string' || principal.length === 0) throw new Error('no principal for the action');
}

/** A deny/void reason: a string, trimmed, at most MAX_REASON_LENGTH; required to deny. */
export function checkReason(reason: unknown, required: boolean): string | undefined {
  if (typeof reason !== 'string') {
    throw new ValidationError([{ field: 'reason', message: 'must be a string' }]);
  }
  const text = reason.trim();
  if (required && text.length === 0) throw new ValidationError([{ field: 'reason', message: 'is required' }]);
  if (text.length > MAX_REASON_LENGTH) {
    throw new ValidationError([
      { field: 'reason', message: `must be at most ${MAX_REASON_LENGTH} characters` },
    ]);
  }
  return text.length === 0 ? undefined : text;
}
