import { formatFen } from '../lianlian/money';
import { assertPrincipal, checkReason } from './approvals';
import { csvLine } from './batch-csv';
import {
  type BatchBody,
  type BatchFieldError,
  BatchValidationError,
  isBatchId,
  parseBatch,
} from './batch-input';
import type {
  BatchChange,
  BatchItemRow,
  BatchRecord,
  BatchStore,
  BatchVersion,
  BatchView,
  DispatchTrigger,
} from './batch-model';
import { counterExpiresAt, countsCommits, needsApproval, usesPayeeLimits } from './controls';
import { chinaDay } from './days';
import {
  ConflictError,
  ForbiddenError,
  InvalidStateError,
  LimitExceededError,
  NotFoundError,
  TransitionConflictError,
  ValidationError,
} from './errors';
import { EXPIRY_PRINCIPAL, type PayoutOrder } from './model';
import { applyInput, controlsOf, orderFromRequest, type PayoutDeps, payeeKeyOf } from './payouts';
import { type PayoutRequest, requestDigest } from './request';
import { PAYOUT_STATUSES, type PayoutStatus } from './status';
import { viewFields } from './view';

/**
 * Batches (issue 11), up to DISPATCHING: acceptance (all or nothing), approval, denial, voiding, the
 * approval expiry, and the views. Every item is an ordinary payout order (status QUEUED, `batch_id`,
 * `batch_seq`); every item status change goes through the one transition function (applyInput). The
 * dispatcher (a separate module) sends QUEUED items of DISPATCHING batches and owns DISPATCHED/COMPLETED.
 *
 * All or nothing: items are written first with conditional puts (a no_order already taken fails its
 * put), then the batch record with a conditional put — that put is the commit point. Until it exists the
 * items are invisible to the dispatcher (it only sends items of a DISPATCHING batch record); a 4xx deletes
 * the items this request wrote; a crash leaves items a retry of the same PUT completes (and which, never
 * committed, hold no limit reservation, so voiding them later releases nothing).
 */

/** A new item's first due time: the dispatcher's reconciliation hook looks at it then, if nothing sent it. */
export const ITEM_FIRST_CHECK_MS = 15 * 60_000;
/** A decided (denied / voided) batch is looked at again this soon, to finish its items after a crash. */
const SWEEP_CHECK_MS = 5 * 60_000;
/**
 * Concurrent conditional writes per request. DynamoDB itself takes far more; measured on DynamoDB Local
 * (which serializes writes) more in flight only queues, and 16 keeps a Lambda's sockets sane.
 */
export const WRITE_CONCURRENCY = 16;
/** DynamoDB transactions hold at most 100 items. */
export const MAX_COUNTER_MOVES = 100;
const MAX_ITEMS_LIMIT = 1000;
const DEFAULT_ITEMS_LIMIT = 100;
const MAX_CONFLICT_RETRIES = 5;

/**
 * A spending-limit counter movement of a whole batch: the day counter once for the total, a payee counter
 * once per payee with its aggregated amount and item count. A reserve is conditioned on not crossing the
 * limits given; a release subtracts unconditionally.
 */
export interface CounterMove {
  readonly kind: 'reserve' | 'release';
  /** China day, yyyy-mm-dd. */
  readonly day: string;
  /** Absent: the day counter; present: that payee's counter. */
  readonly payeeKey?: string;
  readonly amountFen: number;
  readonly count: number;
  readonly expiresAt: number;
  readonly limitFen?: number;
  readonly limitCount?: number;
}

/**
 * The batch store with the writes acceptance and approval need (DynamoDB: batch-store.ts; tests: the
 * memory version). Items themselves are created through the OrderStore (its conditional create).
 */
export interface BatchWriteStore extends BatchStore {
  /** The stored orders among these numbers (BatchGetItem), by no_order; absent = free. */
  getOrders(noOrders: readonly string[]): Promise<Map<string, PayoutOrder>>;
  /**
   * Puts a new batch record (conditional on the id being new) — with `commit`, in one transaction with
   * that day-counter reserve. A crossed limit throws LimitExceededError; an existing record is returned.
   */
  putBatch(
    record: BatchRecord,
    commit?: CounterMove,
  ): Promise<{ created: true } | { created: false; existing: BatchRecord }>;
  /** BatchStore.updateBatch, plus (optionally) a day-counter move in the same transaction. */
  updateBatch(expected: BatchVersion, change: BatchChange, commit?: CounterMove): Promise<BatchRecord>;
  /** At most MAX_COUNTER_MOVES moves in ONE transaction: all or none. A crossed limit: LimitExceededError. */
  moveCounters(moves: readonly CounterMove[]): Promise<void>;
  /** Deletes an item this acceptance wrote, only while it is QUEUED in `batchId`. True if deleted. */
  deleteQueuedItem(noOrder: string, batchId: string): Promise<boolean>;
}

export interface BatchDeps extends PayoutDeps {
  readonly batches: BatchWriteStore;
  readonly dispatch: DispatchTrigger;
}

// ---------------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------------

/** In batch-model.ts (types only), so the console can import it without any server code. */
export type { BatchView } from './batch-model';

/**
 * A payout view built from the by-batch index (no history): the fields every view shows (viewFields), the
 * item's place in its batch, and flag_card null when the index row lacks it.
 */
export type BatchItemView = Omit<ReturnType<typeof viewFields<BatchItemRow>>, 'flag_card'> & {
  readonly batch_id: string;
  readonly batch_seq: number;
  readonly flag_card: '0' | '1' | null;
};

export function toItemView(batchId: string, row: BatchItemRow): BatchItemView {
  return {
    ...viewFields(row),
    batch_id: batchId,
    batch_seq: row.batch_seq,
    // Optional on an index row (BatchItemRow): null when absent, like the provider fields.
    flag_card: row.flag_card ?? null,
  };
}

/** Every item row of a batch, in row order (one Query chain on the by-batch index). */
export async function allItems(store: BatchStore, batchId: string): Promise<BatchItemRow[]> {
  const rows: BatchItemRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listItems(batchId, { limit: MAX_ITEMS_LIMIT, ...(cursor ? { cursor } : {}) });
    rows.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return rows;
}

export function batchView(record: BatchRecord, rows: readonly BatchItemRow[]): BatchView {
  const counts: Partial<Record<PayoutStatus, number>> = {};
  const fen: Partial<Record<PayoutStatus, number>> = {};
  for (const row of rows) {
    counts[row.status] = (counts[row.status] ?? 0) + 1;
    fen[row.status] = (fen[row.status] ?? 0) + row.money_fen;
  }
  const amounts: Partial<Record<PayoutStatus, string>> = {};
  // Statuses in their declared order, so the JSON reads the same every time.
  for (const status of PAYOUT_STATUSES) {
    const total = fen[status];
    if (total !== undefined) amounts[status] = formatFen(total);
  }
  const orderedCounts: Partial<Record<PayoutStatus, number>> = {};
  for (const status of PAYOUT_STATUSES)
    if (counts[status] !== undefined) orderedCounts[status] = counts[status];
  return {
    batch_id: record.batch_id,
    status: record.status,
    item_count: record.item_count,
    total_amount: record.total_amount,
    counts: orderedCounts,
    amounts,
    created_by: record.created_by ?? null,
    approved_by: record.approved_by ?? null,
    denied_by: record.denied_by ?? null,
    voided_by: record.voided_by ?? null,
    created_at: record.created_at,
    updated_at: record.updated_at,
    approved_at: record.approved_at ?? null,
    dispatched_at: record.dispatched_at ?? null,
    completed_at: record.completed_at ?? null,
    approval_expires_at: record.approval_expires_at ?? null,
  };
}

/** `GET /batches/{batch_id}`. */
export async function getBatchView(deps: BatchDeps, batchId: string): Promise<BatchView> {
  const record = await mustGetBatch(deps, batchId);
  return batchView(record, await allItems(deps.batches, batchId));
}

export interface BatchItemsPage {
  readonly items: readonly BatchItemView[];
  readonly next_cursor: string | null;
}

/** `GET /batches/{batch_id}/items?status=&limit=&cursor=`: row order, opaque cursor. */
export async function listBatchItems(
  deps: BatchDeps,
  batchId: string,
  query: { status?: string; limit?: string; cursor?: string },
): Promise<BatchItemsPage> {
  const problems: { field: string; message: string }[] = [];
  let limit = DEFAULT_ITEMS_LIMIT;
  if (query.limit !== undefined) {
    limit = /^[0-9]{1,4}$/.test(query.limit) ? Number(query.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_ITEMS_LIMIT)) {
      problems.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_ITEMS_LIMIT}` });
    }
  }
  const status = query.status;
  if (status !== undefined && !(PAYOUT_STATUSES as readonly string[]).includes(status)) {
    problems.push({ field: 'status', message: `must be one of ${PAYOUT_STATUSES.join(', ')}` });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  await mustGetBatch(deps, batchId);
  try {
    const page = await deps.batches.listItems(batchId, {
      limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
      ...(status ? { status: status as PayoutStatus } : {}),
    });
    return { items: page.items.map((row) => toItemView(batchId, row)), next_cursor: page.cursor ?? null };
  } catch (error) {
    if (error instanceof RangeError)
      throw new ValidationError([{ field: 'cursor', message: 'is not valid' }]);
    throw error;
  }
}

export const REPORT_COLUMNS = [
  'no_order',
  'money_order',
  'status',
  'card_no_masked',
  'acct_name_masked',
  'oid_paybill',
  'settle_date',
  'ret_code',
  'memo',
] as const;

/** `GET /batches/{batch_id}/report.csv`: one line per item, masked payee data only, CSV-escaped. */
export async function batchReportCsv(deps: BatchDeps, batchId: string): Promise<string> {
  await mustGetBatch(deps, batchId);
  const rows = await allItems(deps.batches, batchId);
  let out = csvLine(REPORT_COLUMNS);
  for (const row of rows) {
    out += csvLine(REPORT_COLUMNS.map((column) => String(row[column] ?? '')));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Acceptance: PUT /batches/{batch_id}
// ---------------------------------------------------------------------------------------------------

export type AcceptResult = { readonly created: boolean; readonly view: BatchView };

/**
 * Accepts a batch, all or nothing (see the module comment). `202` new, `200` identical repeat (the same
 * rows and the same payees), 409 the same id with other content, 400 every bad row, 422 a crossed limit.
 */
export async function acceptBatch(
  deps: BatchDeps,
  batchId: string,
  body: BatchBody,
  principal: string,
): Promise<AcceptResult> {
  if (!isBatchId(batchId)) {
    throw new ValidationError([{ field: 'batch_id', message: 'must be 1–32 of A-Z a-z 0-9 _ -' }]);
  }
  assertPrincipal(principal);
  const policy = controlsOf(deps);
  const { requests, digest } = parseBatch(batchId, body, policy);

  const stored = await deps.batches.getBatch(batchId);
  if (stored) return { created: false, view: await sameBatch(deps, stored, digest, requests) };

  // Numbers already used: by a single payout or another batch is a row error; by this very batch (a
  // retry after a crash between the items and the record) is fine if the item is the same.
  const existing = await deps.batches.getOrders(requests.map((r) => r.no_order));
  const taken: BatchFieldError[] = [];
  const already = new Set<string>();
  await forEachLimited(requests, WRITE_CONCURRENCY, async (request, i) => {
    const order = existing.get(request.no_order);
    if (!order) return;
    if (await isSameItem(deps, order, batchId, i + 1, request)) already.add(request.no_order);
    else taken.push(takenError(i + 1));
  });
  if (taken.length > 0) throw new BatchValidationError(sortErrors(taken));

  const now = deps.clock.now();
  const at = now.toISOString();
  const totalFen = requests.reduce((sum, r) => sum + r.money_fen, 0);
  const approval =
    requests.some((r) => needsApproval(policy, r.money_fen)) ||
    (policy.approvalMinBatchFen !== undefined && totalFen >= policy.approvalMinBatchFen);

  // Items first (conditional puts, bounded concurrency). A put that finds the number taken lost a race
  // with another payout: everything this request wrote is deleted and the row is reported.
  const written: string[] = [];
  const raced: BatchFieldError[] = [];
  const itemDue = new Date(now.getTime() + ITEM_FIRST_CHECK_MS).toISOString();
  await forEachLimited(requests, WRITE_CONCURRENCY, async (request, i) => {
    if (already.has(request.no_order)) return;
    const item = await newItem(deps, request, batchId, i + 1, now, itemDue, principal);
    const result = await deps.store.create(item);
    if (result.created) written.push(request.no_order);
    else if (!(await isSameItem(deps, result.existing, batchId, i + 1, request)))
      raced.push(takenError(i + 1));
  });
  if (raced.length > 0) {
    await undoItems(deps, batchId, written);
    throw new BatchValidationError(sortErrors(raced));
  }

  const base = {
    batch_id: batchId,
    version: 1,
    item_count: requests.length,
    total_fen: totalFen,
    total_amount: formatFen(totalFen),
    content_digest: digest,
    created_by: principal,
    created_at: at,
    updated_at: at,
  };
  let record: BatchRecord;
  let payeeMoves: CounterMove[] = [];
  let dayMove: CounterMove | undefined;
  let payeeKeys: readonly (string | undefined)[] = [];
  if (approval) {
    const expiresAt = new Date(now.getTime() + policy.approvalTtlMs).toISOString();
    record = {
      ...base,
      status: 'AWAITING_APPROVAL',
      approval_expires_at: expiresAt,
      next_check_at: expiresAt,
      history: [{ at, from: null, to: 'AWAITING_APPROVAL', principal, note: 'accepted, awaiting approval' }],
    };
  } else {
    const moves = await limitMoves(deps, requests, now);
    dayMove = moves.day;
    payeeMoves = moves.payees;
    payeeKeys = moves.keys;
    record = {
      ...base,
      status: 'DISPATCHING',
      next_check_at: itemDue,
      ...(dayMove ? { limit_day: dayMove.day } : {}),
      history: [{ at, from: null, to: 'DISPATCHING', principal, note: 'accepted' }],
    };
  }

  let put: Awaited<ReturnType<BatchWriteStore['putBatch']>>;
  try {
    await reservePayees(deps, payeeMoves);
    try {
      put = await deps.batches.putBatch(record, dayMove);
    } catch (error) {
      await releaseMoves(deps, payeeMoves);
      throw error;
    }
  } catch (error) {
    if (error instanceof LimitExceededError) {
      // 422 promises nothing recorded: the items go, the numbers are free again.
      await undoItems(deps, batchId, written);
      deps.log.info('batch refused by a spending limit', { batch_id: batchId, limit: error.limit });
    }
    throw error;
  }
  if (!put.created) {
    // An identical PUT committed first (concurrent retries): ours reserved nothing that stays.
    await releaseMoves(deps, payeeMoves);
    return { created: false, view: await sameBatch(deps, put.existing, digest, requests) };
  }
  deps.log.info('batch accepted', {
    batch_id: batchId,
    status: record.status,
    items: record.item_count,
    total_amount: record.total_amount,
    principal,
  });
  if (record.status === 'DISPATCHING') {
    if (dayMove) {
      const nos = requests.map((r) => r.no_order);
      await stampItems(deps, batchId, dayMove.day, nos, payeeKeys, now);
    }
    await deps.dispatch.batchReady(batchId);
  }
  // Every item was written QUEUED by this request: the view needs no read of 5,000 index rows. (After a
  // crash-retry some items predate this request and are read back instead.)
  const rows =
    already.size === 0
      ? requests.map((r, i): BatchItemRow => ({ ...queuedRow(r, i + 1, at) }))
      : await allItems(deps.batches, batchId);
  return { created: true, view: batchView(record, rows) };
}

/** The index row of an item this request just wrote (only what batchView reads is meaningful). */
function queuedRow(request: PayoutRequest, seq: number, at: string): BatchItemRow {
  return {
    no_order: request.no_order,
    batch_seq: seq,
    status: 'QUEUED',
    money_fen: request.money_fen,
    money_order: formatFen(request.money_fen),
    card_no_masked: '',
    acct_name_masked: '',
    created_at: at,
    updated_at: at,
  };
}

function takenError(row: number): BatchFieldError {
  return { row, field: 'no_order', message: 'is already used by another payout' };
}

function sortErrors(errors: BatchFieldError[]): BatchFieldError[] {
  return errors.sort((a, b) => a.row - b.row);
}

function newItem(
  deps: BatchDeps,
  request: PayoutRequest,
  batchId: string,
  seq: number,
  now: Date,
  due: string,
  principal: string,
): Promise<PayoutOrder> {
  return orderFromRequest(
    deps,
    request,
    now,
    { status: 'QUEUED', next_check_at: due, batch_id: batchId, batch_seq: seq },
    principal,
  );
}

/** Whether a stored order is this batch's item for this row with this content (a retry after a crash). */
async function isSameItem(
  deps: BatchDeps,
  order: PayoutOrder,
  batchId: string,
  seq: number,
  request: PayoutRequest,
): Promise<boolean> {
  if (order.batch_id !== batchId || order.batch_seq !== seq) return false;
  if (order.request_digest !== requestDigest(request)) return false;
  const payee = await deps.cipher.open(order.payee_sealed, order.no_order);
  return payee.card_no === request.payee.card_no && payee.acct_name === request.payee.acct_name;
}

/** A repeat PUT of a stored batch: the same content and payees → its view; anything else → 409. */
async function sameBatch(
  deps: BatchDeps,
  stored: BatchRecord,
  digest: string,
  requests: readonly PayoutRequest[],
): Promise<BatchView> {
  let same = stored.content_digest === digest && stored.item_count === requests.length;
  if (same) {
    const orders = await deps.batches.getOrders(requests.map((r) => r.no_order));
    const checks = await mapLimited(requests, WRITE_CONCURRENCY, async (request, i) => {
      const order = orders.get(request.no_order);
      return order !== undefined && (await isSameItem(deps, order, stored.batch_id, i + 1, request));
    });
    same = checks.every(Boolean);
  }
  if (!same) {
    deps.log.warn('batch id reused with other content', { batch_id: stored.batch_id });
    throw new ConflictError(`batch ${stored.batch_id} already exists with other content`);
  }
  return batchView(stored, await allItems(deps.batches, stored.batch_id));
}

async function undoItems(deps: BatchDeps, batchId: string, noOrders: readonly string[]): Promise<void> {
  await forEachLimited(noOrders, WRITE_CONCURRENCY, async (noOrder) => {
    await deps.batches.deleteQueuedItem(noOrder, batchId);
  });
}

/** The counter moves that commit these items now: the day once, each payee once (aggregated). */
async function limitMoves(
  deps: BatchDeps,
  requests: readonly { money_fen: number; payee: { card_no: string; acct_name: string } }[],
  now: Date,
): Promise<{ day?: CounterMove; payees: CounterMove[]; keys: (string | undefined)[] }> {
  const policy = controlsOf(deps);
  if (!countsCommits(policy)) return { payees: [], keys: [] };
  const day = chinaDay(now);
  const expiresAt = counterExpiresAt(day);
  const total = requests.reduce((sum, r) => sum + r.money_fen, 0);
  const dayMove: CounterMove = {
    kind: 'reserve',
    day,
    amountFen: total,
    count: requests.length,
    expiresAt,
    ...(policy.dailyLimitFen !== undefined ? { limitFen: policy.dailyLimitFen } : {}),
  };
  const keys: (string | undefined)[] = [];
  const payees = new Map<string, { amountFen: number; count: number }>();
  if (usesPayeeLimits(policy)) {
    const computed = await mapLimited(requests, WRITE_CONCURRENCY, (r) => payeeKeyOf(deps, policy, r.payee));
    computed.forEach((key, i) => {
      keys.push(key);
      if (key === undefined) return;
      const sum = payees.get(key) ?? { amountFen: 0, count: 0 };
      sum.amountFen += requests[i]!.money_fen;
      sum.count += 1;
      payees.set(key, sum);
    });
  }
  const payeeMoves = [...payees.entries()].map(
    ([key, sum]): CounterMove => ({
      kind: 'reserve',
      day,
      payeeKey: key,
      amountFen: sum.amountFen,
      count: sum.count,
      expiresAt,
      ...(policy.payeeDailyLimitFen !== undefined ? { limitFen: policy.payeeDailyLimitFen } : {}),
      ...(policy.payeeDailyLimitCount !== undefined ? { limitCount: policy.payeeDailyLimitCount } : {}),
    }),
  );
  return { day: dayMove, payees: payeeMoves, keys };
}

/**
 * Reserves the payee counters in chunks of one transaction each. A chunk that crosses a limit is not
 * written; the chunks before it are released (compensation), and the LimitExceededError propagates.
 */
async function reservePayees(deps: BatchDeps, moves: readonly CounterMove[]): Promise<void> {
  const done: CounterMove[] = [];
  for (let i = 0; i < moves.length; i += MAX_COUNTER_MOVES) {
    const chunk = moves.slice(i, i + MAX_COUNTER_MOVES);
    try {
      await deps.batches.moveCounters(chunk);
    } catch (error) {
      await releaseMoves(deps, done);
      throw error;
    }
    done.push(...chunk);
  }
}

async function releaseMoves(deps: BatchDeps, moves: readonly CounterMove[]): Promise<void> {
  const releases = moves.map((m) => ({ ...m, kind: 'release' as const }));
  for (let i = 0; i < releases.length; i += MAX_COUNTER_MOVES) {
    await deps.batches.moveCounters(releases.slice(i, i + MAX_COUNTER_MOVES));
  }
}

/**
 * After the commit, each item records the reservation it is part of (limit_day, payee_key, limit_held),
 * so its own release on REJECTED/FAILURE/DENIED/VOIDED works unchanged. Conditional like every write;
 * an item already claimed by the dispatcher keeps going without it (it then releases nothing: the day
 * stays over-counted by it, the safe direction).
 */
async function stampItems(
  deps: BatchDeps,
  batchId: string,
  day: string,
  noOrders: readonly string[],
  payeeKeys: readonly (string | undefined)[],
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  await forEachLimited(noOrders, WRITE_CONCURRENCY, async (noOrder, i) => {
    const payeeKey = payeeKeys[i];
    // A QUEUED item has only ever been written once (its create): version 1 is tried without a read.
    let expected: { no_order: string; status: 'QUEUED'; version: number } | undefined = {
      no_order: noOrder,
      status: 'QUEUED',
      version: 1,
    };
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      if (!expected) {
        const order = await deps.store.get(noOrder);
        if (order?.status !== 'QUEUED' || order.batch_id !== batchId || order.limit_held) return;
        expected = { no_order: noOrder, status: 'QUEUED', version: order.version };
      }
      try {
        await deps.store.update(expected, {
          status: 'QUEUED',
          set: {
            limit_day: day,
            limit_held: true,
            ...(payeeKey !== undefined ? { payee_key: payeeKey } : {}),
          },
          at,
        });
        return;
      } catch (error) {
        if (!(error instanceof TransitionConflictError)) throw error;
        expected = undefined;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Approve, deny, void, expire
// ---------------------------------------------------------------------------------------------------

/**
 * A second person approves: AWAITING_APPROVAL → DISPATCHING with the limits reserved for the whole batch
 * at this moment (payee chunks first, then the day counter in the same transaction as the batch record's
 * conditional update — the commit point). A crossed limit: 422, it stays AWAITING_APPROVAL.
 */
export async function approveBatch(deps: BatchDeps, batchId: string, principal: string): Promise<BatchView> {
  assertPrincipal(principal);
  const record = await mustGetBatch(deps, batchId);
  if (record.status !== 'AWAITING_APPROVAL') {
    throw new InvalidStateError(`batch ${batchId} is ${record.status}, not awaiting approval`);
  }
  if (record.created_by !== undefined && record.created_by === principal) {
    throw new ForbiddenError(`batch ${batchId}: the creator of a batch cannot approve it`);
  }
  const now = deps.clock.now();
  if (isExpired(record, now))
    throw new InvalidStateError(`batch ${batchId}: the approval period has expired`);

  const rows = (await allItems(deps.batches, batchId)).filter((row) => row.status === 'QUEUED');
  const policy = controlsOf(deps);
  // Per-payee limits need the card numbers: the items' seals are opened here (one data key, cached).
  const payees = usesPayeeLimits(policy)
    ? await mapLimited(rows, WRITE_CONCURRENCY, async (row) => {
        const order = await deps.store.get(row.no_order);
        if (!order) throw new Error(`batch item ${row.no_order} vanished`);
        return {
          no_order: row.no_order,
          money_fen: row.money_fen,
          payee: await deps.cipher.open(order.payee_sealed, row.no_order),
        };
      })
    : rows.map((row) => ({
        no_order: row.no_order,
        money_fen: row.money_fen,
        payee: { card_no: '', acct_name: '' },
      }));
  const moves = await limitMoves(deps, payees, now);
  const at = now.toISOString();
  await reservePayees(deps, moves.payees);
  let approved: BatchRecord;
  try {
    approved = await deps.batches.updateBatch(
      record,
      {
        status: 'DISPATCHING',
        set: {
          approved_by: principal,
          approved_at: at,
          next_check_at: new Date(now.getTime() + ITEM_FIRST_CHECK_MS).toISOString(),
          ...(moves.day ? { limit_day: moves.day.day } : {}),
        },
        history: { at, from: 'AWAITING_APPROVAL', to: 'DISPATCHING', principal, note: 'approved' },
        at,
      },
      moves.day,
    );
  } catch (error) {
    await releaseMoves(deps, moves.payees);
    if (error instanceof TransitionConflictError) {
      // Someone else decided first (another approval, a deny, a void, the expiry).
      const now2 = await deps.batches.getBatch(batchId);
      throw new InvalidStateError(`batch ${batchId} is ${now2?.status ?? 'gone'}, not awaiting approval`);
    }
    if (error instanceof LimitExceededError) {
      deps.log.info('batch approval refused by a spending limit', { batch_id: batchId, limit: error.limit });
    }
    throw error;
  }
  deps.log.info('batch approved', { batch_id: batchId, principal, items: record.item_count });
  if (moves.day) {
    const nos = payees.map((p) => p.no_order);
    await stampItems(deps, batchId, moves.day.day, nos, moves.keys, now);
  }
  await deps.dispatch.batchReady(batchId);
  return batchView(approved, await allItems(deps.batches, batchId));
}

/** An approver refuses the batch: DENIED, every item DENIED (nothing was sent). Not by its creator. */
export async function denyBatch(
  deps: BatchDeps,
  batchId: string,
  principal: string,
  reason: string,
): Promise<BatchView> {
  assertPrincipal(principal);
  const text = checkReason(reason, true)!;
  const record = await mustGetBatch(deps, batchId);
  if (record.status !== 'AWAITING_APPROVAL') {
    throw new InvalidStateError(`batch ${batchId} is ${record.status}, not awaiting approval`);
  }
  if (record.created_by !== undefined && record.created_by === principal) {
    throw new ForbiddenError(`batch ${batchId}: the creator of a batch cannot deny it; void it instead`);
  }
  const decided = await decideBatch(deps, record, 'DENIED', { denied_by: principal }, principal, text);
  await sweepItems(deps, decided);
  return batchView(decided, await allItems(deps.batches, batchId));
}

/**
 * Withdraws a batch while it is AWAITING_APPROVAL or DISPATCHING: VOIDED, then every item still QUEUED is
 * VOIDED (each releases its own reservation). Items the dispatcher already claimed keep going.
 */
export async function voidBatch(
  deps: BatchDeps,
  batchId: string,
  principal: string,
  reason?: string,
): Promise<BatchView> {
  assertPrincipal(principal);
  const text = reason === undefined ? undefined : checkReason(reason, false);
  const record = await mustGetBatch(deps, batchId);
  if (record.status !== 'AWAITING_APPROVAL' && record.status !== 'DISPATCHING') {
    throw new InvalidStateError(
      `batch ${batchId} is ${record.status}; only a batch not yet sent can be voided`,
    );
  }
  const decided = await decideBatch(deps, record, 'VOIDED', { voided_by: principal }, principal, text);
  await sweepItems(deps, decided);
  return batchView(decided, await allItems(deps.batches, batchId));
}

/**
 * Reconciliation's look at a `BATCH#` due ref (the dispatcher calls it for every batch that comes due,
 * then adds its own part for DISPATCHING/DISPATCHED). This part: an AWAITING_APPROVAL batch past its
 * approval expiry is VOIDED as `system:expiry` with its items; a DENIED or VOIDED batch whose item sweep
 * was interrupted (a crash) is finished and leaves the due index. Returns the batch as it stands after.
 */
export async function maintainBatch(deps: BatchDeps, batchId: string): Promise<BatchRecord | undefined> {
  let record = await deps.batches.getBatch(batchId);
  if (!record) return undefined;
  const now = deps.clock.now();
  if (record.status === 'AWAITING_APPROVAL' && isExpired(record, now)) {
    try {
      record = await decideBatch(
        deps,
        record,
        'VOIDED',
        { voided_by: EXPIRY_PRINCIPAL },
        EXPIRY_PRINCIPAL,
        'approval expired',
      );
    } catch (error) {
      if (!(error instanceof InvalidStateError)) throw error;
      return deps.batches.getBatch(batchId);
    }
  }
  if (record.status === 'DENIED' || record.status === 'VOIDED') record = await sweepItems(deps, record);
  return record;
}

function isExpired(record: BatchRecord, now: Date): boolean {
  const expiresAt = record.approval_expires_at;
  return expiresAt !== undefined && now.getTime() >= Date.parse(expiresAt);
}

/** The batch record's decision (conditional on status and version); it stays due until its items are done. */
async function decideBatch(
  deps: BatchDeps,
  record: BatchRecord,
  to: 'DENIED' | 'VOIDED',
  set: BatchChange['set'],
  principal: string,
  note: string | undefined,
): Promise<BatchRecord> {
  const now = deps.clock.now();
  const at = now.toISOString();
  try {
    const decided = await deps.batches.updateBatch(record, {
      status: to,
      set: { ...set, next_check_at: new Date(now.getTime() + SWEEP_CHECK_MS).toISOString() },
      history: { at, from: record.status, to, principal, ...(note ? { note } : {}) },
      at,
    });
    deps.log.info('batch status changed', { batch_id: record.batch_id, from: record.status, to, principal });
    return decided;
  } catch (error) {
    if (!(error instanceof TransitionConflictError)) throw error;
    const current = await deps.batches.getBatch(record.batch_id);
    throw new InvalidStateError(
      `batch ${record.batch_id} is ${current?.status ?? 'gone'}; it changed meanwhile`,
    );
  }
}

/**
 * Ends every item still QUEUED of a DENIED / VOIDED batch through the transition function, then takes
 * the batch off the due index. Idempotent: an item already decided (or claimed) is left as it is.
 */
async function sweepItems(deps: BatchDeps, record: BatchRecord): Promise<BatchRecord> {
  const principal = record.status === 'DENIED' ? record.denied_by : record.voided_by;
  const entry = record.history.at(-1);
  const reason = entry?.to === record.status ? entry.note : undefined;
  const rows = (await allItems(deps.batches, record.batch_id)).filter((row) => row.status === 'QUEUED');
  await forEachLimited(rows, WRITE_CONCURRENCY, async (row) => {
    try {
      if (record.status === 'DENIED') {
        await applyInput(
          deps,
          undefined,
          { type: 'deny', principal: principal ?? 'unknown', reason: reason ?? 'batch denied', batch: true },
          row.no_order,
        );
      } else {
        await applyInput(
          deps,
          undefined,
          { type: 'void', principal: principal ?? 'unknown', ...(reason ? { reason } : {}) },
          row.no_order,
        );
      }
    } catch (error) {
      // Claimed by the dispatcher meanwhile (no longer QUEUED): it keeps going.
      if (!(error instanceof InvalidStateError)) throw error;
    }
  });
  if (record.next_check_at === undefined) return record;
  try {
    return await deps.batches.updateBatch(record, {
      status: record.status,
      set: {},
      at: deps.clock.now().toISOString(),
      leaveDueIndex: true,
    });
  } catch (error) {
    if (!(error instanceof TransitionConflictError)) throw error;
    return (await deps.batches.getBatch(record.batch_id)) ?? record;
  }
}

async function mustGetBatch(deps: BatchDeps, batchId: string): Promise<BatchRecord> {
  if (!isBatchId(batchId)) {
    throw new ValidationError([{ field: 'batch_id', message: 'must be 1–32 of A-Z a-z 0-9 _ -' }]);
  }
  const record = await deps.batches.getBatch(batchId);
  if (!record) throw new NotFoundError(`batch ${batchId} not found`);
  return record;
}

// ---------------------------------------------------------------------------------------------------
// Bounded concurrency
// ---------------------------------------------------------------------------------------------------

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  await mapLimited(items, limit, fn);
}
