import { formatFen } from '../lianlian/money';
import type { BatchItemRow, BatchRecord, BatchStore, DispatchTrigger } from './batch-model';
import { errorName, TransitionConflictError } from './errors';
import type { OrderChange, PayoutOrder } from './model';
import { PagedBuffer } from './paged';
import { applyInput, type PayoutDeps, sendApply, transitionContext } from './payouts';
import type { BalanceOutcome, BalanceQuery } from './ports';
import type { RateLimiter } from './rate-limit';
import { isFinal, type PayoutStatus } from './status';
import { decide } from './transition';

/**
 * The batch dispatcher (issue 11): sends the QUEUED items of a DISPATCHING batch, in row order, at the
 * provider's pace.
 *
 * - Exactly once: an item leaves QUEUED only through its claim — the transition function's `dispatch`
 *   decision written as a conditional write that also requires the batch record to still be DISPATCHING
 *   (one transaction, DispatchClaims). Only the winner of a claim sends the apply, so concurrent workers,
 *   duplicate triggers and restarts after a crash never send an item twice, and a void or denial of the
 *   batch (which changes the batch record first) stops every item not yet claimed.
 * - Rate: every apply takes a slot of the injected limiter (DISPATCH_RATE_PER_SECOND; one limiter shared
 *   by every worker of a process, and one consumer at a time on AWS), right before it is sent, so the
 *   provider sees the limiter's pace whatever the claims cost.
 * - Funds (optional BalanceQuery): a known balance below the next item's amount pauses the run (the next
 *   trigger or the due look resumes it); an unknown balance never means zero. An apply answered 9104
 *   (AWAITING_FUNDS, by the transition function) pauses it too.
 * - Completion: no QUEUED item left → DISPATCHED; every item final → COMPLETED with counts and amounts per
 *   status (the `Batch Completed` event is computed from that record). Noticed here after the last item,
 *   and by reconciliation's look at the batch (maintainDispatch).
 * - Nothing stays QUEUED: reconciliation's look at a QUEUED item (queuedItemDue) re-triggers its batch,
 *   follows its approval, or ends it with its batch.
 */

/** The principal recorded when an item whose batch was never committed is voided. */
export const ABANDONED_PRINCIPAL = 'system:abandoned';
/** An item without a batch record is an acceptance that crashed before its commit; voided after this. */
export const ABANDONED_AFTER_MS = 60 * 60 * 1000;
/** When a QUEUED item is looked at (accepted + this), and again after each look. */
export const QUEUED_CHECK_MS = 15 * 60 * 1000;
/** How often a DISPATCHED batch is looked at for completion. */
export const DEFAULT_BATCH_RECHECK_MS = 5 * 60 * 1000;
export const DEFAULT_BALANCE_CHECK_MS = 300 * 1000;

export type ClaimResult =
  | { readonly kind: 'claimed'; readonly order: PayoutOrder }
  /** The order is no longer at the expected status and version (another worker claimed it, a void). */
  | { readonly kind: 'order_changed' }
  /** The batch record is no longer DISPATCHING (voided, denied): nothing more of it may be claimed. */
  | { readonly kind: 'batch_not_dispatching' };

/** The claim write (DynamoDB: src/adapters/dynamodb/dispatch-claims.ts). */
export interface DispatchClaims {
  /** Writes `change` iff the order is still at `order`'s status and version AND the batch is DISPATCHING. */
  claim(order: PayoutOrder, change: OrderChange, batchId: string): Promise<ClaimResult>;
}

export interface DispatchDeps extends PayoutDeps {
  readonly batches: BatchStore;
  readonly claims: DispatchClaims;
  /** DISPATCH_RATE_PER_SECOND; shared by every worker in the process. */
  readonly limiter: RateLimiter;
  /** Re-enqueues a batch whose run stopped for time (and is what reconciliation re-triggers). */
  readonly trigger?: DispatchTrigger;
  /** Optional: without it dispatch never pauses for funds before a 9104. */
  readonly balance?: BalanceGate;
}

export interface DispatchOptions {
  /** Applies in flight at once (bounded concurrency). */
  readonly concurrency: number;
  /** Time left before the caller must be done (Lambda: context.getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  /** Stop taking items once less than this is left; must cover one apply (the provider timeout). */
  readonly safetyMarginMs: number;
  /** listItems page size; default 100. */
  readonly pageSize?: number;
  /** When a DISPATCHED batch is looked at again for completion; default 5 min. */
  readonly recheckMs?: number;
}

export type StopReason = 'done' | 'time' | 'funds' | 'batch_not_dispatching' | 'not_dispatching';

export interface DispatchSummary {
  /** Claims won (each one apply sent, or being sent when the process died). */
  claimed: number;
  /** Items listed but not claimed by this run (already claimed elsewhere, voided, changed). */
  skipped: number;
  /** Items whose send failed after the claim (store or provider error): PENDING, reconciliation resends. */
  errors: number;
  stopped: StopReason;
  /** The batch status after the run. */
  batchStatus?: BatchRecord['status'];
}

/**
 * Sends the QUEUED items of one batch. Idempotent: a second run (a duplicate message, a re-trigger, a
 * concurrent worker) only finds what is still QUEUED, and every claim is conditional.
 */
export async function dispatchBatch(
  deps: DispatchDeps,
  batchId: string,
  options: DispatchOptions,
): Promise<DispatchSummary> {
  validate(options);
  const summary: DispatchSummary = { claimed: 0, skipped: 0, errors: 0, stopped: 'done' };
  const batch = await deps.batches.getBatch(batchId);
  if (!batch) {
    summary.stopped = 'not_dispatching';
    return summary;
  }
  if (batch.status !== 'DISPATCHING') {
    summary.stopped = 'not_dispatching';
    summary.batchStatus = (await settleBatch(deps, batch, options)).status;
    return summary;
  }

  const queue = queuedItems(deps.batches, batchId, options.pageSize ?? 100);
  let stop: StopReason | undefined;
  let fatal: unknown;
  let pausedForFunds = false;
  const halt = (reason: StopReason) => {
    stop ??= reason;
    if (reason === 'funds') pausedForFunds = true;
  };

  const worker = async () => {
    while (stop === undefined && fatal === undefined) {
      if (options.remainingTimeMs() < options.safetyMarginMs) return halt('time');
      let row: BatchItemRow | undefined;
      try {
        row = await queue.next();
      } catch (error) {
        fatal ??= error;
        return;
      }
      if (!row) return;
      try {
        await dispatchOne(deps, batchId, row, summary, halt);
      } catch (error) {
        // A store or cipher failure before the claim leaves the item QUEUED (next run); after the claim it
        // is PENDING and reconciliation finds it. Either way never sent twice; this run goes on.
        summary.errors++;
        deps.log.error('dispatch: item not dispatched', {
          batch_id: batchId,
          no_order: row.no_order,
          error: errorName(error),
        });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.floor(options.concurrency) }, worker));
  } finally {
    // Said once every worker is done: a check later in the same run (items are checked concurrently) may
    // have asked again after the pause and cleared the gate's "ask again", leaving a figure from before a
    // top-up that the run resuming this batch would trust.
    if (pausedForFunds) deps.balance?.askAgain();
  }
  if (fatal !== undefined) throw fatal;

  summary.stopped = stop ?? 'done';
  if (summary.stopped === 'time' && deps.trigger) {
    // The rest of the batch goes on in a fresh invocation (at-least-once; claims make duplicates harmless).
    await deps.trigger.batchReady(batchId);
  }
  if (summary.stopped === 'done') {
    const current = await deps.batches.getBatch(batchId);
    if (current) summary.batchStatus = (await settleBatch(deps, current, options)).status;
  }
  deps.log.info('dispatch run ended', {
    batch_id: batchId,
    claimed: summary.claimed,
    skipped: summary.skipped,
    errors: summary.errors,
    stopped: summary.stopped,
  });
  return summary;
}

async function dispatchOne(
  deps: DispatchDeps,
  batchId: string,
  row: BatchItemRow,
  summary: DispatchSummary,
  halt: (reason: StopReason) => void,
): Promise<void> {
  // The index is eventually consistent: the claim is decided on a consistent read.
  const order = await deps.store.get(row.no_order);
  if (order?.status !== 'QUEUED' || order.batch_id !== batchId) {
    summary.skipped++;
    return;
  }
  if (deps.balance && !(await deps.balance.covers(order.money_fen))) {
    deps.log.info('dispatch paused: the known balance does not cover the next item', {
      batch_id: batchId,
      no_order: order.no_order,
    });
    halt('funds');
    return;
  }
  try {
    await claimAndSend(deps, batchId, order, summary, halt);
  } finally {
    deps.balance?.settled(order.money_fen);
  }
}

/** The claim and the apply of an item the balance gate let through (it is settled by the caller). */
/** Claim attempts per item when another writer changed it while it stayed QUEUED in this batch. */
const CLAIM_ATTEMPTS = 3;

/**
 * The claim of one QUEUED item, conditional on the version read. Reconciliation's look at a QUEUED item
 * (its next check moved) can change the version between that read and the claim while the item is still
 * QUEUED in this batch: read it again and claim again, rather than leave it QUEUED until its next look.
 */
async function claimItem(
  deps: DispatchDeps,
  batchId: string,
  order: PayoutOrder,
): Promise<ClaimResult | { readonly kind: 'not_claimable' }> {
  let current = order;
  for (let attempt = 1; ; attempt++) {
    const decision = decide(current, { type: 'dispatch' }, transitionContext(deps));
    if (decision.kind !== 'change') return { kind: 'not_claimable' };
    const change: OrderChange = {
      status: decision.status,
      set: decision.set,
      history: decision.entry,
      at: deps.clock.now().toISOString(),
      ...(decision.leaveDueIndex ? { leaveDueIndex: true } : {}),
    };
    const claim = await deps.claims.claim(current, change, batchId);
    if (claim.kind !== 'order_changed' || attempt >= CLAIM_ATTEMPTS) return claim;
    const again = await deps.store.get(current.no_order);
    if (again?.status !== 'QUEUED' || again.batch_id !== batchId) return claim;
    current = again;
  }
}

async function claimAndSend(
  deps: DispatchDeps,
  batchId: string,
  order: PayoutOrder,
  summary: DispatchSummary,
  halt: (reason: StopReason) => void,
): Promise<void> {
  // Opened before the claim (as resendPending does): a claim whose apply cannot then be built would leave
  // an order PENDING that was never sent.
  const payee = await deps.cipher.open(order.payee_sealed, order.no_order);
  const claim = await claimItem(deps, batchId, order);
  if (claim.kind === 'batch_not_dispatching') {
    summary.skipped++;
    halt('batch_not_dispatching');
    return;
  }
  if (claim.kind !== 'claimed') {
    summary.skipped++;
    return;
  }
  summary.claimed++;
  deps.log.info('payout status changed', {
    no_order: order.no_order,
    from: order.status,
    to: claim.order.status,
    source: 'dispatch',
    batch_id: batchId,
  });
  let after: PayoutOrder;
  try {
    // The slot is taken between the claim and the send, so what the provider sees is paced by the limiter
    // alone (not by how long each claim took). A claimed item is always sent: waiting here is bounded by
    // concurrency / rate, well inside the safety margin.
    await deps.limiter.acquire();
    after = await sendApply(deps, claim.order, payee, 'apply');
  } catch (error) {
    summary.errors++;
    deps.log.error('dispatch: apply sent or not, its answer was not recorded; reconciliation looks', {
      batch_id: batchId,
      no_order: order.no_order,
      error: errorName(error),
    });
    return;
  }
  if (after.status === 'AWAITING_FUNDS') {
    deps.balance?.askAgain();
    halt('funds');
  }
}

// ---------------------------------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------------------------------

export interface BatchTotals {
  /** Items seen in the by-batch index. */
  readonly seen: number;
  readonly counts: Partial<Record<PayoutStatus, number>>;
  readonly amounts: Partial<Record<PayoutStatus, string>>;
  readonly allFinal: boolean;
  /** Items the index shows QUEUED (a claim may have moved them since; confirm with a consistent read). */
  readonly queued: readonly BatchItemRow[];
}

/** Every item of a batch from the by-batch index, summed per status (amounts in fen, then formatted). */
export async function batchTotals(
  batches: BatchStore,
  batchId: string,
  pageSize = 500,
): Promise<BatchTotals> {
  const counts: Partial<Record<PayoutStatus, number>> = {};
  const fen: Partial<Record<PayoutStatus, number>> = {};
  const queued: BatchItemRow[] = [];
  let seen = 0;
  let allFinal = true;
  let cursor: string | undefined;
  do {
    const page = await batches.listItems(batchId, { limit: pageSize, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) {
      seen++;
      counts[item.status] = (counts[item.status] ?? 0) + 1;
      fen[item.status] = (fen[item.status] ?? 0) + item.money_fen;
      if (!isFinal(item.status)) allFinal = false;
      if (item.status === 'QUEUED') queued.push(item);
    }
    cursor = page.cursor;
  } while (cursor);
  const amounts = Object.fromEntries(
    Object.entries(fen).map(([status, total]) => [status, formatFen(total)]),
  ) as Partial<Record<PayoutStatus, string>>;
  return { seen, counts, amounts, allFinal, queued };
}

/**
 * Moves a batch on when it is due: DISPATCHING with nothing QUEUED → DISPATCHED; DISPATCHED with every
 * item final → COMPLETED (counts and amounts recorded). Only when every item is visible in the index
 * (item_count), so a lagging index never ends a batch early. A conflict means someone else moved it: the
 * batch as it is now is returned.
 */
export async function settleBatch(
  deps: Pick<DispatchDeps, 'batches' | 'store' | 'clock' | 'log'>,
  batch: BatchRecord,
  options: Pick<DispatchOptions, 'recheckMs'> = {},
): Promise<BatchRecord> {
  if (batch.status !== 'DISPATCHING' && batch.status !== 'DISPATCHED') return batch;
  const totals = await batchTotals(deps.batches, batch.batch_id);
  if (totals.seen < batch.item_count) return batch;
  const now = deps.clock.now();
  const at = now.toISOString();
  const recheck = new Date(now.getTime() + (options.recheckMs ?? DEFAULT_BATCH_RECHECK_MS)).toISOString();
  try {
    let current = batch;
    if (current.status === 'DISPATCHING') {
      if (await anyReallyQueued(deps, totals.queued)) return current;
      current = await deps.batches.updateBatch(current, {
        status: 'DISPATCHED',
        set: { dispatched_at: at, next_check_at: recheck },
        history: { at, from: 'DISPATCHING', to: 'DISPATCHED', note: 'every item sent' },
        at,
      });
      deps.log.info('batch status changed', {
        batch_id: batch.batch_id,
        from: 'DISPATCHING',
        to: 'DISPATCHED',
      });
    }
    if (!totals.allFinal) {
      if (batch.status === 'DISPATCHED') {
        // Not yet: looked at again later (the due index).
        return await deps.batches.updateBatch(current, {
          status: 'DISPATCHED',
          set: { next_check_at: recheck },
          at,
        });
      }
      return current;
    }
    const completed = await deps.batches.updateBatch(current, {
      status: 'COMPLETED',
      set: { completed_at: at, counts: totals.counts, amounts: totals.amounts },
      history: { at, from: current.status, to: 'COMPLETED', note: 'every item final' },
      at,
      leaveDueIndex: true,
    });
    deps.log.info('batch status changed', {
      batch_id: batch.batch_id,
      from: current.status,
      to: 'COMPLETED',
    });
    return completed;
  } catch (error) {
    if (!(error instanceof TransitionConflictError)) throw error;
    return (await deps.batches.getBatch(batch.batch_id)) ?? batch;
  }
}

async function anyReallyQueued(
  deps: Pick<DispatchDeps, 'store'>,
  rows: readonly BatchItemRow[],
): Promise<boolean> {
  for (const row of rows) {
    const order = await deps.store.get(row.no_order);
    if (order?.status === 'QUEUED') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Reconciliation's looks (src/core/reconcile.ts)
// ---------------------------------------------------------------------------------------------------

export interface DispatchMaintenanceDeps extends PayoutDeps {
  readonly batches: BatchStore;
  readonly trigger?: DispatchTrigger;
}

/**
 * Reconciliation found a batch record due. DISPATCHING: re-trigger it if anything is still QUEUED (a
 * lost message, a killed worker), otherwise settle it; DISPATCHED: settle it (completion). Other
 * statuses belong to the batch module (maintainBatch: approval expiry). Answers whether it did anything.
 */
export async function maintainDispatch(
  deps: DispatchMaintenanceDeps,
  batchId: string,
  retriggered: Set<string> = new Set(),
): Promise<boolean> {
  const batch = await deps.batches.getBatch(batchId);
  if (!batch || (batch.status !== 'DISPATCHING' && batch.status !== 'DISPATCHED')) return false;
  const settled = await settleBatch(deps, batch);
  if (settled.status === 'DISPATCHING') {
    // One message per batch and run, whether its record or its items were found due first.
    if (!retriggered.has(batchId)) {
      retriggered.add(batchId);
      await deps.trigger?.batchReady(batchId);
    }
    const at = deps.clock.now().toISOString();
    try {
      await deps.batches.updateBatch(settled, {
        status: 'DISPATCHING',
        set: { next_check_at: new Date(deps.clock.now().getTime() + QUEUED_CHECK_MS).toISOString() },
        at,
      });
    } catch (error) {
      if (!(error instanceof TransitionConflictError)) throw error;
    }
  }
  return true;
}

/**
 * Reconciliation found a QUEUED item due. `retriggered` remembers the batches already re-triggered in
 * this run, so 5,000 due items of one batch send one message.
 */
export async function queuedItemDue(
  deps: DispatchMaintenanceDeps,
  order: PayoutOrder,
  retriggered: Set<string> = new Set(),
): Promise<'retriggered' | 'postponed' | 'ended' | 'unchanged'> {
  if (order.status !== 'QUEUED') return 'unchanged';
  const now = deps.clock.now();
  const batch = order.batch_id === undefined ? undefined : await deps.batches.getBatch(order.batch_id);
  if (!batch) {
    const age = now.getTime() - Date.parse(order.created_at);
    if (age >= ABANDONED_AFTER_MS) {
      // An acceptance that crashed before its commit point and was never retried: nothing will send it.
      await applyInput(deps, order, {
        type: 'void',
        principal: ABANDONED_PRINCIPAL,
        reason: 'its batch was never committed',
      });
      return 'ended';
    }
    await postpone(deps, order, new Date(Date.parse(order.created_at) + ABANDONED_AFTER_MS));
    return 'postponed';
  }
  switch (batch.status) {
    case 'DISPATCHING': {
      if (!retriggered.has(batch.batch_id)) {
        retriggered.add(batch.batch_id);
        await deps.trigger?.batchReady(batch.batch_id);
      }
      await postpone(deps, order, new Date(now.getTime() + QUEUED_CHECK_MS));
      return 'retriggered';
    }
    case 'AWAITING_APPROVAL': {
      const expiry = batch.approval_expires_at ? Date.parse(batch.approval_expires_at) : Number.NaN;
      const next =
        Number.isFinite(expiry) && expiry > now.getTime() ? expiry : now.getTime() + QUEUED_CHECK_MS;
      await postpone(deps, order, new Date(next));
      return 'postponed';
    }
    case 'VOIDED':
      await applyInput(deps, order, {
        type: 'void',
        principal: batch.voided_by ?? ABANDONED_PRINCIPAL,
        reason: 'its batch was voided',
      });
      return 'ended';
    case 'DENIED':
      await applyInput(deps, order, {
        type: 'deny',
        principal: batch.denied_by ?? ABANDONED_PRINCIPAL,
        reason: 'its batch was denied',
        batch: true,
      });
      return 'ended';
    default:
      // DISPATCHED or COMPLETED with an item still QUEUED cannot happen (settleBatch checks every item):
      // say so loudly, and keep looking.
      deps.log.error('QUEUED item of a batch that is no longer dispatching', {
        no_order: order.no_order,
        batch_id: batch.batch_id,
        batch_status: batch.status,
      });
      await postpone(deps, order, new Date(now.getTime() + QUEUED_CHECK_MS));
      return 'postponed';
  }
}

/** What reconciliation does with batches; one per run (it remembers the batches re-triggered). */
export interface BatchLooks {
  /** A `BATCH#<id>` record found due. */
  batchDue(batchId: string): Promise<void>;
  /** A QUEUED item found due. */
  queuedItemDue(order: PayoutOrder): Promise<'retriggered' | 'postponed' | 'ended' | 'unchanged'>;
}

/**
 * Reconciliation's batch looks: the dispatcher's (DISPATCHING, DISPATCHED, QUEUED items) and, for every
 * other batch status, the batch module's `maintainBatch` (approval expiry), passed in by the wiring.
 */
export function batchLooks(
  deps: DispatchMaintenanceDeps,
  maintainBatch?: (batchId: string) => Promise<unknown>,
): BatchLooks {
  const retriggered = new Set<string>();
  return {
    batchDue: async (batchId) => {
      if (!(await maintainDispatch(deps, batchId, retriggered))) await maintainBatch?.(batchId);
    },
    queuedItemDue: (order) => queuedItemDue(deps, order, retriggered),
  };
}

/** The table key prefix of batch records (PAYOUTS_TABLE.batchPrefix; a test keeps the two equal). */
export const BATCH_KEY_PREFIX = 'BATCH#';

/** The batch id of a `BATCH#<id>` key from the due index, or undefined for an order. */
export function batchIdOfKey(key: string): string | undefined {
  return key.startsWith(BATCH_KEY_PREFIX) ? key.slice(BATCH_KEY_PREFIX.length) : undefined;
}

async function postpone(deps: PayoutDeps, order: PayoutOrder, when: Date): Promise<void> {
  try {
    await deps.store.update(order, {
      status: order.status,
      set: { next_check_at: when.toISOString(), check_count: (order.check_count ?? 0) + 1 },
      at: deps.clock.now().toISOString(),
    });
  } catch (error) {
    // Claimed or voided meanwhile: its own write settled its place in the index.
    if (!(error instanceof TransitionConflictError)) throw error;
  }
}

// ---------------------------------------------------------------------------------------------------
// Funds, rates, helpers
// ---------------------------------------------------------------------------------------------------

/**
 * The last known balance, asked for at most every `refreshMs`. Between asks it is lowered by every item
 * it lets through, so a run pauses before the provider has to refuse. Unknown is never zero: covers() says
 * yes, and the provider's 9104 (AWAITING_FUNDS) is the backstop.
 *
 * The provider deducts an item only when its apply arrives, so an item let through is "in flight" until
 * the dispatcher says it is settled (sent and answered, or not sent at all). A figure asked for while
 * items are in flight may not show them yet: it is counted less what was in flight when it was asked
 * for (maybe too low, a pause too early; never too high). A check made while an ask is on its way waits for
 * its answer, so no item is let through on an older figure meanwhile.
 */
export class BalanceGate {
  private known: number | undefined;
  private inFlight = 0;
  private askedAt = Number.NEGATIVE_INFINITY;
  /**
   * Ask before the next check whatever the age of the figure: after a pause or a 9104. A flag rather than
   * resetting askedAt, so that an ask already on its way when the pause happened cannot cancel it.
   */
  private stale = true;
  private asking: Promise<void> | undefined;

  constructor(
    private readonly query: BalanceQuery,
    private readonly refreshMs: number = DEFAULT_BALANCE_CHECK_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async covers(amountFen: number): Promise<boolean> {
    if (this.stale || this.now() - this.askedAt >= this.refreshMs) {
      this.asking ??= this.refresh().finally(() => {
        this.asking = undefined;
      });
    }
    // An ask on its way, whoever started it, answers this check too: the figure in hand is older, and
    // when a pause made the ask it is the figure from before a possible top-up.
    if (this.asking) await this.asking;
    if (this.known === undefined) {
      this.inFlight += amountFen;
      return true;
    }
    if (this.known >= amountFen) {
      // Taken at once, in the same turn as the check: items run concurrently, and a check now with the
      // subtraction after the send would let several items each see the whole balance. An item that is
      // then not sent (its claim lost) leaves the figure a little low: a pause too early, never too late.
      this.known -= amountFen;
      this.inFlight += amountFen;
      return true;
    }
    // A pause ends this run; the next check asks the provider again, whether it is an item of this run
    // still being checked or the run that resumes the batch (which askAgain at the run's end makes sure of).
    this.stale = true;
    return false;
  }

  /**
   * Whatever we believed, ask the provider before the next check. The dispatcher says so when the
   * provider refused an apply with 9104, and when a run ended paused for funds (once all its items are
   * checked): a pause's own "ask again" is not enough there, because another item of the same concurrent
   * run may have asked since and been let through, and that figure predates any top-up.
   */
  askAgain(): void {
    this.stale = true;
  }

  /** An item covers() let through is no longer in flight: answered, failed, or never sent. */
  settled(amountFen: number): void {
    this.inFlight = Math.max(0, this.inFlight - amountFen);
  }

  private async refresh(): Promise<void> {
    // Cleared as the ask starts: a pause while it is on its way sets it again, and it stays set.
    this.stale = false;
    const pending = this.inFlight;
    let outcome: BalanceOutcome;
    try {
      outcome = await this.query.balance();
    } catch (error) {
      // No answer (the deployed query loads the merchant key first, and that can throw): the "ask again"
      // still holds, or the next check would trust the figure from before a pause and a top-up.
      this.stale = true;
      throw error;
    }
    this.askedAt = this.now();
    this.known = outcome.kind === 'known' ? outcome.balanceFen - pending : undefined;
  }
}

function validate(options: DispatchOptions): void {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError('concurrency must be a positive integer');
  }
  if (!(options.safetyMarginMs >= 0)) throw new RangeError('safetyMarginMs must not be negative');
}

/** A batch's QUEUED items in row order, one page at a time, shared by the workers of a run. */
function queuedItems(
  batches: BatchStore,
  batchId: string,
  pageSize: number,
): PagedBuffer<BatchItemRow, number> {
  return new PagedBuffer(async (afterSeq) => {
    // Resumes after the last row handed out (not a cursor): rows claimed meanwhile simply drop out.
    const page = await batches.listItems(batchId, {
      limit: pageSize,
      status: 'QUEUED',
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    const last = page.items.at(-1);
    // No cursor, or an empty page: nothing QUEUED is left after this one.
    return { items: page.items, next: page.cursor && last ? last.batch_seq : undefined };
  });
}
