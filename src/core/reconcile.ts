import { METRICS } from '../config/contract';
import { expireApproval } from './approvals';
import { type BatchLooks, batchIdOfKey } from './dispatch';
import { errorName, TransitionConflictError } from './errors';
import { expireFundsWait } from './funds';
import type { PayoutOrder } from './model';
import { PagedBuffer } from './paged';
import { applyQueryOutcome, type PayoutDeps } from './payouts';
import type { Clock, DueOrderRef, OrderStore } from './ports';
import { type RateLimiter, TokenBucket } from './rate-limit';
import { isDueIndexed, isFinal } from './status';

/**
 * Scheduled reconciliation: asks the provider about every open order that is due, so an order whose
 * notifications were all lost (or whose apply answer never came) still reaches its final state.
 *
 * - Due orders come from the sparse open-by-due index (`listDue`): a Query per shard, never a Scan.
 *   An order becomes due `minAge` after creation (next_check_at is set by createPayout).
 * - Every answer goes through the payout use case (applyQueryOutcome) and the one transition function;
 *   it also decides and makes any resend (PENDING unknown to the provider for the whole grace). This
 *   module only schedules, counts and backs off.
 * - An order still open afterwards is pushed back with exponential back-off (a conditional write on the
 *   version just written; on a conflict someone else moved it, and it is simply due again later).
 * - Queries are rate-limited and run with bounded concurrency; the run stops taking orders before the
 *   Lambda's time runs out and leaves the rest to the next run.
 * - AWAITING_APPROVAL orders are due at their approval expiry: they are voided (`expire`), never queried.
 * - Stuck orders (open for longer than stuckAfterMs) are counted and logged, never failed: an unknown
 *   outcome is queried for as long as it takes.
 */

const AGE_BUCKETS = ['lt1h', '1to6h', '6to24h', 'gt24h'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

/** The open-backlog metric of each age bucket (names from the contract shared with the infrastructure). */
const OPEN_BY_AGE_METRIC = {
  lt1h: METRICS.reconcileOpenUnder1h,
  '1to6h': METRICS.reconcileOpen1to6h,
  '6to24h': METRICS.reconcileOpen6to24h,
  gt24h: METRICS.reconcileOpenOver24h,
} as const satisfies Record<AgeBucket, string>;

export interface BackoffPolicy {
  /** Delay after the first check; doubles with every further check. */
  readonly baseMs: number;
  readonly maxMs: number;
}

const DEFAULT_MAX_BACKOFF_MS = 60 * 60 * 1000;

/**
 * Delay until the next check of an order that has now been checked `checkCount` times (≥ 1):
 * base, 2×base, 4×base, … capped at max. An order WAITING for hours is asked about once an hour, not
 * on every run.
 */
export function nextCheckDelayMs(checkCount: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, Math.floor(checkCount) - 1);
  // 2^31 × any sane base is far beyond any cap; stop doubling before the number loses meaning.
  if (exponent >= 31) return policy.maxMs;
  return Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
}

export interface ReconcileOptions {
  /** Run as if it were this time (due cut-off, grace periods, back-off); default: the deps' clock. */
  readonly now?: Date;
  /** Orders changed more recently than this are left alone this run; also the default back-off base. */
  readonly minAgeMs: number;
  /** Provider queries (and resends) per second. */
  readonly ratePerSecond: number;
  readonly concurrency: number;
  readonly stuckAfterMs: number;
  /** Time left before the caller must be done (Lambda: context.getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  /** Stop taking new orders once less than this is left; must cover one order's worth of calls. */
  readonly safetyMarginMs: number;
  /** listDue page size; default 100. */
  readonly pageSize?: number;
  readonly backoff?: Partial<BackoffPolicy>;
}

export interface ReconcileDeps extends PayoutDeps {
  /** Default: a TokenBucket at options.ratePerSecond. */
  readonly limiter?: RateLimiter;
  /**
   * Batches (issue 11): what a run does with a due `BATCH#` record and a due QUEUED item (one BatchLooks
   * per run; src/core/dispatch.ts batchLooks). Without it both are skipped: a QUEUED item is never queried.
   */
  readonly batchLooks?: () => BatchLooks;
}

export interface ReconcileSummary {
  /**
   * Orders taken up (read, then queried at the provider). Each lands in exactly one of changed / resent /
   * unchanged / unknown / errors.
   */
  examined: number;
  /** The query moved the order to another status. */
  changed: number;
  /** PENDING unknown to the provider for the whole grace: the apply was sent again under the same no_order. */
  resent: number;
  unchanged: number;
  /** The provider's answer proved nothing (timeout, 9999, bad signature…); asked again later. */
  unknown: number;
  /** Examined orders whose processing failed (store or provider error); due again next run. */
  errors: number;
  /** Anomalies recorded this run (contradictions that were not applied). */
  anomalies: number;
  /** Listed but not queried: final or re-scheduled meanwhile, changed too recently, or a write conflict. */
  skipped: number;
  /** Examined orders still open after longer than stuckAfterMs. */
  stuck: number;
  /** Examined orders still open afterwards, by age since creation. */
  pendingByAgeBucket: Record<AgeBucket, number>;
  /** True when the run stopped for time with due orders possibly left; the next run takes them. */
  stoppedEarly: boolean;
}

function emptySummary(): ReconcileSummary {
  return {
    examined: 0,
    changed: 0,
    resent: 0,
    unchanged: 0,
    unknown: 0,
    errors: 0,
    anomalies: 0,
    skipped: 0,
    stuck: 0,
    pendingByAgeBucket: { lt1h: 0, '1to6h': 0, '6to24h': 0, gt24h: 0 },
    stoppedEarly: false,
  };
}

export function ageBucket(ageMs: number): AgeBucket {
  const hour = 60 * 60 * 1000;
  if (ageMs < hour) return 'lt1h';
  if (ageMs < 6 * hour) return '1to6h';
  if (ageMs < 24 * hour) return '6to24h';
  return 'gt24h';
}

const DEFAULT_PAGE_SIZE = 100;

export async function runReconciliation(
  deps: ReconcileDeps,
  options: ReconcileOptions,
): Promise<ReconcileSummary> {
  validate(options);
  const clock = shiftedClock(deps.clock, options.now);
  const run: ReconcileDeps = { ...deps, clock };
  const limiter = deps.limiter ?? new TokenBucket({ ratePerSecond: options.ratePerSecond });
  const policy: BackoffPolicy = {
    baseMs: options.backoff?.baseMs ?? options.minAgeMs,
    maxMs: options.backoff?.maxMs ?? DEFAULT_MAX_BACKOFF_MS,
  };
  const dueBefore = clock.now().toISOString();
  const queue = dueQueue(deps.store, dueBefore, options.pageSize ?? DEFAULT_PAGE_SIZE);
  const summary = emptySummary();
  const seen = new Set<string>();
  const looks = deps.batchLooks?.();
  let outOfTime = false;
  let fatal: unknown;

  const timeLeft = () => {
    if (options.remainingTimeMs() < options.safetyMarginMs) outOfTime = true;
    return !outOfTime;
  };

  const worker = async () => {
    while (fatal === undefined && timeLeft()) {
      let ref: DueOrderRef | undefined;
      try {
        ref = await queue.next();
      } catch (error) {
        fatal ??= error;
        return;
      }
      if (!ref) return;
      // The index can hand the same order out twice if it moved between pages; one look per run is enough.
      if (seen.has(ref.no_order)) continue;
      seen.add(ref.no_order);
      const batchId = batchIdOfKey(ref.no_order);
      if (batchId !== undefined) {
        await lookAtBatch(run, batchId, looks, summary);
        continue;
      }
      await reconcileOne(run, ref, { options, policy, limiter, dueBefore, summary, timeLeft, looks });
    }
  };
  const workers = Math.max(1, Math.floor(options.concurrency));
  await Promise.all(Array.from({ length: workers }, worker));

  summary.stoppedEarly = outOfTime && !queue.drained;
  emitMetrics(deps, summary);
  if (fatal !== undefined) throw fatal;
  return summary;
}

interface RunContext {
  readonly options: ReconcileOptions;
  readonly policy: BackoffPolicy;
  readonly limiter: RateLimiter;
  readonly dueBefore: string;
  readonly summary: ReconcileSummary;
  readonly timeLeft: () => boolean;
  readonly looks?: BatchLooks;
}

async function reconcileOne(deps: ReconcileDeps, ref: DueOrderRef, ctx: RunContext): Promise<void> {
  const { summary, options } = ctx;
  const log = deps.log;
  let order: PayoutOrder | undefined;
  try {
    // The index is eventually consistent and KEYS_ONLY: the current version comes from a consistent read.
    order = await deps.store.get(ref.no_order);
  } catch (error) {
    // Taken up but failed before the query: examined and failed, so the counts still add up.
    summary.examined++;
    summary.errors++;
    log.error('reconcile: order could not be read', { no_order: ref.no_order, error: errorName(error) });
    return;
  }
  const now = deps.clock.now().getTime();
  if (
    !order ||
    // Final (unless a SUCCESS under the returns watch) or never scheduled: nothing to ask.
    !isDueIndexed(order.status, order.next_check_at) ||
    order.next_check_at === undefined ||
    // Another reconciler (an overlapping run, `npm run reconcile`) already looked and pushed it back.
    order.next_check_at > ctx.dueBefore ||
    now - Date.parse(order.updated_at) < options.minAgeMs
  ) {
    summary.skipped++;
    return;
  }

  if (order.status === 'AWAITING_APPROVAL') {
    // Never sent, so never queried: its due time is its approval expiry, and it is voided as
    // system:expiry (no provider call, no rate-limit slot).
    await lookWithoutQuery(deps, order, summary, 'approval expiry not written', async () => {
      // A concurrent approval, denial or void stands (a conflict counts as unchanged).
      return (await expireApproval(deps, order)).status !== order.status;
    });
    return;
  }

  if (order.status === 'AWAITING_FUNDS') {
    // Refused with 9104, nothing at the provider: due at the end of its wait (FUNDS_WAIT_SECONDS), when it
    // is REJECTED with the reason. Never queried; resends are the funds check's (src/core/funds.ts).
    // A concurrent resend (or void) stands.
    await lookWithoutQuery(deps, order, summary, 'funds wait expiry not written', () =>
      expireFundsWait(deps, order),
    );
    return;
  }

  if (order.status === 'QUEUED') {
    // Never sent, so never queried: its batch decides (re-trigger, wait for approval, end with it).
    const looks = ctx.looks;
    if (!looks) {
      summary.skipped++;
      return;
    }
    await lookWithoutQuery(
      deps,
      order,
      summary,
      'queued item not looked at',
      async () => (await looks.queuedItemDue(order)) === 'ended',
    );
    return;
  }

  await ctx.limiter.acquire();
  // Waiting for a slot may have used up the time left; an order not yet asked about is left for next run.
  if (!ctx.timeLeft()) {
    summary.skipped++;
    return;
  }

  summary.examined++;
  const before = order;
  try {
    const outcome = await deps.provider.query(order.no_order, order.dt_order);
    // A resend is another provider call: it takes its own rate-limit slot.
    const { order: after, resent } = await applyQueryOutcome(deps, order, outcome, 'reconcile', {
      beforeResend: () => ctx.limiter.acquire(),
    });

    if (after.anomalies > before.anomalies) summary.anomalies += after.anomalies - before.anomalies;
    if (resent) summary.resent++;
    else if (after.status !== before.status) summary.changed++;
    else if (outcome.kind === 'unknown') summary.unknown++;
    else summary.unchanged++;

    if (after.status === 'SUCCESS' && after.next_check_at !== undefined) {
      // Paid in this very look: the returns watch starts now, at the time the transition set.
      if (before.status !== 'SUCCESS') return;
      // The watch's look: no CANCEL came. An answer we could not read keeps watching; any other ends it.
      if (outcome.kind === 'unknown') await pushBack(deps, after, ctx.policy);
      else await endWatch(deps, after);
      return;
    }
    if (isFinal(after.status)) return;
    countOpen(deps, after, now, ctx);
    await pushBack(deps, after, ctx.policy);
  } catch (error) {
    if (error instanceof TransitionConflictError) {
      // Someone else changed the order while we looked (a notification, a query): it is reconsidered
      // next run from its new state. Count it as examined-unchanged, not as a failure.
      summary.unchanged++;
      log.debug('reconcile: order changed concurrently, left for the next run', { no_order: ref.no_order });
      return;
    }
    summary.errors++;
    log.error('reconcile: order not reconciled; it stays due', {
      no_order: ref.no_order,
      status: before.status,
      error: errorName(error),
    });
  }
}

async function lookAtBatch(
  deps: ReconcileDeps,
  batchId: string,
  looks: BatchLooks | undefined,
  summary: ReconcileSummary,
): Promise<void> {
  if (!looks) {
    summary.skipped++;
    return;
  }
  summary.examined++;
  try {
    await looks.batchDue(batchId);
    summary.unchanged++;
  } catch (error) {
    summary.errors++;
    deps.log.error('reconcile: batch not looked at; it stays due', {
      batch_id: batchId,
      error: errorName(error),
    });
  }
}

/**
 * A due order that is never queried (never sent, or nothing at the provider): its look decides alone and
 * says whether it changed the order. Counted as examined; a concurrent change (a conflict) stands and
 * counts as unchanged; any other failure is counted and logged, and the order stays due.
 */
async function lookWithoutQuery(
  deps: ReconcileDeps,
  order: PayoutOrder,
  summary: ReconcileSummary,
  failure: string,
  look: () => Promise<boolean>,
): Promise<void> {
  summary.examined++;
  try {
    if (await look()) summary.changed++;
    else summary.unchanged++;
  } catch (error) {
    if (error instanceof TransitionConflictError) {
      summary.unchanged++;
      return;
    }
    summary.errors++;
    deps.log.error(`reconcile: ${failure}; it stays due`, {
      no_order: order.no_order,
      error: errorName(error),
    });
  }
}

function countOpen(deps: ReconcileDeps, order: PayoutOrder, now: number, ctx: RunContext): void {
  const ageMs = now - Date.parse(order.created_at);
  ctx.summary.pendingByAgeBucket[ageBucket(ageMs)]++;
  if (ageMs >= ctx.options.stuckAfterMs) {
    ctx.summary.stuck++;
    deps.log.warn('payout stuck: still open; it keeps being queried and is never failed', {
      no_order: order.no_order,
      status: order.status,
      age_hours: Math.floor(ageMs / 3_600_000),
      check_count: order.check_count,
    });
  }
}

/** Bookkeeping: a watched SUCCESS leaves the due index — said explicitly, never implied by the change. */
async function endWatch(deps: ReconcileDeps, order: PayoutOrder): Promise<void> {
  try {
    await deps.store.update(order, {
      status: order.status,
      set: { check_count: (order.check_count ?? 0) + 1 },
      at: deps.clock.now().toISOString(),
      leaveDueIndex: true,
    });
  } catch (error) {
    // Changed meanwhile (a late CANCEL notification): its own write already settled the index.
    if (error instanceof TransitionConflictError) return;
    deps.log.warn('reconcile: returns watch not ended; the order is looked at again next run', {
      no_order: order.no_order,
      error: errorName(error),
    });
  }
}

/** Bookkeeping: the next look, conditional on the version just read or written. */
async function pushBack(deps: ReconcileDeps, order: PayoutOrder, policy: BackoffPolicy): Promise<void> {
  const checkCount = (order.check_count ?? 0) + 1;
  const now = deps.clock.now();
  try {
    await deps.store.update(order, {
      status: order.status,
      set: {
        next_check_at: new Date(now.getTime() + nextCheckDelayMs(checkCount, policy)).toISOString(),
        check_count: checkCount,
      },
      at: now.toISOString(),
    });
  } catch (error) {
    // A conflict: it changed after our write (a notification). Any other failure: the state write before
    // it stands, only the next look is not scheduled. Either way it stays due and is looked at next run.
    if (error instanceof TransitionConflictError) return;
    deps.log.warn('reconcile: next check not scheduled; the order stays due', {
      no_order: order.no_order,
      error: errorName(error),
    });
  }
}

function emitMetrics(deps: PayoutDeps, summary: ReconcileSummary): void {
  // Zeros too: an alarm on "stuck > 0" must see 0, not missing data, when all is well.
  deps.metrics.count(METRICS.reconcileExamined, summary.examined);
  deps.metrics.count(METRICS.reconcileChanged, summary.changed);
  deps.metrics.count(METRICS.stuck, summary.stuck);
  deps.metrics.count(METRICS.reconcileResent, summary.resent);
  deps.metrics.count(METRICS.reconcileErrors, summary.errors);
  for (const bucket of AGE_BUCKETS) {
    deps.metrics.count(OPEN_BY_AGE_METRIC[bucket], summary.pendingByAgeBucket[bucket]);
  }
}

/** The run's clock: the deps' clock moved to `now`, so every time in the run agrees with the cut-off. */
function shiftedClock(clock: Clock, now: Date | undefined): Clock {
  if (!now) return clock;
  const offset = now.getTime() - clock.now().getTime();
  return { now: () => new Date(clock.now().getTime() + offset) };
}

function validate(options: ReconcileOptions): void {
  const positive = (name: string, value: number) => {
    if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number`);
  };
  positive('ratePerSecond', options.ratePerSecond);
  positive('concurrency', options.concurrency);
  positive('stuckAfterMs', options.stuckAfterMs);
  if (!(options.minAgeMs >= 0)) throw new RangeError('minAgeMs must not be negative');
  if (!(options.safetyMarginMs >= 0)) throw new RangeError('safetyMarginMs must not be negative');
  if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
    throw new RangeError('pageSize must be a positive integer');
  }
  const base = options.backoff?.baseMs ?? options.minAgeMs;
  // A zero base would make an open order due again immediately, and every run would query it.
  if (!(base > 0)) throw new RangeError('the back-off base (backoff.baseMs or minAgeMs) must be positive');
}

/** Due orders, one page at a time, shared by the workers; a page is fetched only when the last is used up. */
function dueQueue(store: OrderStore, dueBefore: string, pageSize: number): PagedBuffer<DueOrderRef, string> {
  return new PagedBuffer(async (cursor) => {
    const page = await store.listDue({ dueBefore, limit: pageSize, ...(cursor ? { cursor } : {}) });
    return { items: page.items, next: page.cursor || undefined };
  });
}
