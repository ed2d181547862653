import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactionCanceledException,
  TransactionConflictException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  type Update,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { chinaDay } from '../../core/days';
import {
  DependencyError,
  LimitExceededError,
  type LimitName,
  TransitionConflictError,
} from '../../core/errors';
import { type OrderChange, type OrderPatch, PATCH_KEYS, type PayoutOrder } from '../../core/model';
import type {
  AwaitingOrderRef,
  AwaitingPage,
  DueOrderRef,
  DuePage,
  LimitCommit,
  OrderStore,
  OrderVersion,
} from '../../core/ports';
import { isDueIndexed, isFinal } from '../../core/status';
import { formatFen } from '../../lianlian/money';
import {
  allOpenShards,
  dailyCounterKey,
  dayShardFor,
  openShardFor,
  PAYOUTS_TABLE,
  payeeCounterKey,
} from './table';

export type OrderStoreOperation =
  | 'create'
  | 'get'
  | 'update'
  | 'listDue'
  | 'listAwaitingApproval'
  | 'listAwaitingFunds';

export interface DynamoOrderStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Called with what DynamoDB reports per request; setting it makes every request ask for INDEXES detail. */
  readonly onConsumedCapacity?: (operation: OrderStoreOperation, capacity: ConsumedCapacity[]) => void;
}

/** The patch keys an update may write (the one list lives in the model). */
const PATCH_KEY_SET: ReadonlySet<string> = new Set<string>(PATCH_KEYS);

/** Attributes that exist only for indexing and must never reach callers. */
const STORAGE_ONLY = [
  PAYOUTS_TABLE.openIndex.partitionKey,
  PAYOUTS_TABLE.awaitingIndex.partitionKey,
  PAYOUTS_TABLE.byDayIndex.partitionKey,
  PAYOUTS_TABLE.anomalyIndex.partitionKey,
  PAYOUTS_TABLE.anomalyIndex.sortKey,
] as const;

/** The waiting queue (awaiting-approval index) an order in `status` belongs to, if any. */
export function waitQueueOf(status: string): string | undefined {
  if (status === 'AWAITING_APPROVAL') return PAYOUTS_TABLE.awaitingIndex.queue;
  if (status === 'AWAITING_FUNDS') return PAYOUTS_TABLE.fundsQueue;
  return undefined;
}

/** TransactionConflict (another transaction on the same counter) is retried this often, with jitter. */
const TRANSACTION_ATTEMPTS = 25;
const TRANSACTION_BACKOFF_MS = { base: 10, max: 400 } as const;

const MARSHALL = { removeUndefinedValues: true } as const;

export function assertPatchKeys(patch: OrderPatch): void {
  for (const key of Object.keys(patch)) {
    if (!PATCH_KEY_SET.has(key)) throw new TypeError(`field ${key} cannot be changed by an update`);
  }
}

/**
 * What an update does to the due index (both stores follow it):
 * - `leave`: the change says so (`leaveDueIndex`), or the new status can never be indexed (FAILURE,
 *   CANCEL, REJECTED): remove the check time and the shard;
 * - `set`: the change names a check time for a status that may be indexed (open, or a watched SUCCESS);
 * - `keep`: anything else (bookkeeping, anomalies, details) leaves every index attribute as it was.
 */
export function dueIndexEffect(change: OrderChange): 'leave' | 'set' | 'keep' {
  if (change.leaveDueIndex && change.set.next_check_at !== undefined) {
    throw new TypeError('a change cannot both leave the due index and set next_check_at');
  }
  if (change.leaveDueIndex || !isDueIndexed(change.status, DUE_PROBE)) return 'leave';
  return change.set.next_check_at !== undefined ? 'set' : 'keep';
}

/**
 * What an update does to the unacknowledged-anomalies index: a change whose history entry records an
 * anomaly joins it (or moves to the back: anomaly_at is the latest); a change that sets
 * anomalies_acknowledged (the acknowledgement, src/core/exceptions.ts) leaves it; anything else keeps it.
 */
export function anomalyQueueEffect(change: OrderChange): 'join' | 'leave' | 'keep' {
  if (change.history?.anomaly !== undefined) return 'join';
  if (change.set.anomalies_acknowledged !== undefined) return 'leave';
  return 'keep';
}

/** Any check time: isDueIndexed then says whether the status may be in the index at all. */
const DUE_PROBE = '1970-01-01T00:00:00.000Z';

/**
 * The conditional Update of one order change (status + version condition, patch fields, history, the due
 * index and waiting-queue attributes), shared by `update` and by writers that put the same change into a
 * transaction of their own (the batch dispatcher's claim, src/adapters/dynamodb/dispatch-claims.ts).
 */
/** The names, values and SET/REMOVE clauses of an update expression being built. */
export interface UpdateParts {
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
  readonly sets: string[];
  readonly removes: string[];
}

/**
 * What every versioned record write says (orders and batch records alike): the new status, version + 1,
 * updated_at, the patch fields, one history entry appended, and the due index (`set`: index it at the
 * check time the patch names; `leave`: remove its check time and shard; `keep`). The caller adds its own
 * clauses and the condition on the status and version it came from (versionedUpdate).
 */
export function versionedUpdateParts(
  key: string,
  expected: { readonly status: string; readonly version: number },
  change: {
    readonly status: string;
    readonly at: string;
    readonly set: Readonly<Record<string, unknown>>;
    readonly history?: unknown;
  },
  index: 'set' | 'leave' | 'keep',
): UpdateParts {
  const names: Record<string, string> = {
    '#status': 'status',
    '#version': 'version',
    '#updated_at': 'updated_at',
  };
  const values: Record<string, unknown> = {
    ':expectedStatus': expected.status,
    ':expectedVersion': expected.version,
    ':status': change.status,
    ':version': expected.version + 1,
    ':updated_at': change.at,
  };
  const sets = ['#status = :status', '#version = :version', '#updated_at = :updated_at'];
  const removes: string[] = [];

  let i = 0;
  for (const [field, value] of Object.entries(change.set)) {
    if (value === undefined) continue;
    // A record leaving the index drops its check time; SET and REMOVE on one path would be rejected.
    if (index === 'leave' && field === PAYOUTS_TABLE.openIndex.sortKey) continue;
    names[`#p${i}`] = field;
    values[`:p${i}`] = value;
    sets.push(`#p${i} = :p${i}`);
    i++;
  }
  if (change.history) {
    names['#history'] = 'history';
    values[':entry'] = [change.history];
    sets.push('#history = list_append(#history, :entry)');
  }
  if (index === 'leave') {
    names['#open_shard'] = PAYOUTS_TABLE.openIndex.partitionKey;
    names['#next_check_at'] = PAYOUTS_TABLE.openIndex.sortKey;
    removes.push('#open_shard', '#next_check_at');
  } else if (index === 'set') {
    // next_check_at itself is already in the SET list as a patch field; open_shard makes it indexed.
    names['#open_shard'] = PAYOUTS_TABLE.openIndex.partitionKey;
    values[':open_shard'] = openShardFor(key);
    sets.push('#open_shard = :open_shard');
  }
  return { names, values, sets, removes };
}

/** The UpdateItem input of built parts, conditional on the status and version the change came from. */
export function versionedUpdate(tableName: string, key: string, parts: UpdateParts): Update {
  const { names, values, sets, removes } = parts;
  return {
    TableName: tableName,
    Key: { [PAYOUTS_TABLE.partitionKey]: { S: key } },
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: '#status = :expectedStatus AND #version = :expectedVersion',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: marshall(values, MARSHALL),
  };
}

export function buildOrderUpdate(tableName: string, expected: OrderVersion, change: OrderChange): Update {
  assertPatchKeys(change.set);
  const parts = versionedUpdateParts(expected.no_order, expected, change, dueIndexEffect(change));
  const { names, values, sets, removes } = parts;
  const fromQueue = waitQueueOf(expected.status);
  const toQueue = waitQueueOf(change.status);
  if (fromQueue !== toQueue) {
    // Approved, denied, voided, refused for funds, resent: it joins or leaves a waiting queue in the
    // same write.
    names['#approval_queue'] = PAYOUTS_TABLE.awaitingIndex.partitionKey;
    if (toQueue === undefined) {
      removes.push('#approval_queue');
    } else {
      values[':approval_queue'] = toQueue;
      sets.push('#approval_queue = :approval_queue');
    }
  }

  // The unacknowledged-anomalies queue (issue 12): the write that records an anomaly joins it, the write
  // that acknowledges every anomaly (anomalies_acknowledged) leaves it — in the same conditional write.
  const anomalyQueue = anomalyQueueEffect(change);
  if (anomalyQueue !== 'keep') {
    names['#anomaly_queue'] = PAYOUTS_TABLE.anomalyIndex.partitionKey;
    names['#anomaly_at'] = PAYOUTS_TABLE.anomalyIndex.sortKey;
    if (anomalyQueue === 'join') {
      values[':anomaly_queue'] = PAYOUTS_TABLE.anomalyIndex.queue;
      values[':anomaly_at'] = change.at;
      sets.push('#anomaly_queue = :anomaly_queue', '#anomaly_at = :anomaly_at');
    } else {
      removes.push('#anomaly_queue', '#anomaly_at');
    }
  }

  return versionedUpdate(tableName, expected.no_order, parts);
}

export class DynamoOrderStore implements OrderStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly onConsumedCapacity: DynamoOrderStoreOptions['onConsumedCapacity'];

  constructor(options: DynamoOrderStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.onConsumedCapacity = options.onConsumedCapacity;
  }

  async create(
    order: PayoutOrder,
    commit?: LimitCommit,
  ): Promise<{ created: true } | { created: false; existing: PayoutOrder }> {
    const item: Record<string, unknown> = { ...order };
    for (const key of STORAGE_ONLY) delete item[key];
    // Only an open order with a due time belongs in the sparse index; writing open_shard without
    // next_check_at would cost bytes for an index entry that can never exist.
    if (!isFinal(order.status) && order.next_check_at !== undefined) {
      item[PAYOUTS_TABLE.openIndex.partitionKey] = openShardFor(order.no_order);
    }
    const queue = waitQueueOf(order.status);
    if (queue !== undefined) item[PAYOUTS_TABLE.awaitingIndex.partitionKey] = queue;
    // Written once, never changed: the by-day index costs one write per payout (see table.ts).
    item[PAYOUTS_TABLE.byDayIndex.partitionKey] = dayShardFor(
      chinaDay(new Date(order.created_at)),
      order.no_order,
    );
    if (commit) return this.createWithCommit(order, item, commit);
    try {
      const out = await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item, MARSHALL),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PAYOUTS_TABLE.partitionKey },
          // Saves a second read (and its RRU) on every idempotent replay of a create.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...this.capacityRequest(),
        }),
      );
      this.report('create', out.ConsumedCapacity);
      return { created: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw storeError('create', error);
      if (error.Item) return { created: false, existing: toOrder(error.Item) };
      // Emulators or older endpoints may not return the old item; nothing ever deletes an order, so a
      // consistent read after the failed condition must find it.
      const existing = await this.get(order.no_order);
      if (!existing) {
        throw new Error(`order ${order.no_order} exists by condition but could not be read`, {
          cause: error,
        });
      }
      return { created: false, existing };
    }
  }

  async get(noOrder: string): Promise<PayoutOrder | undefined> {
    const out = await this.call('get', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: noOrder } },
          ConsistentRead: true,
          ...this.capacityRequest(),
        }),
      ),
    );
    this.report('get', out.ConsumedCapacity);
    return out.Item ? toOrder(out.Item) : undefined;
  }

  async update(expected: OrderVersion, change: OrderChange, commit?: LimitCommit): Promise<PayoutOrder> {
    const update = buildOrderUpdate(this.tableName, expected, change);
    if (commit) return this.updateWithCommit(expected, commit, update);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          ...update,
          ReturnValues: 'ALL_NEW',
          ...this.capacityRequest(),
        }),
      );
      this.report('update', out.ConsumedCapacity);
      if (!out.Attributes) throw new Error(`update of ${expected.no_order} returned no attributes`);
      return toOrder(out.Attributes);
    } catch (error) {
      // TransactionConflict: the order is inside another writer's transaction (an approval, a release)
      // right now. Like a failed condition, the caller re-reads and decides again.
      if (error instanceof ConditionalCheckFailedException || error instanceof TransactionConflictException) {
        throw new TransitionConflictError(expected.no_order, { cause: error });
      }
      throw storeError('update', error);
    }
  }

  /** Create + counters in one transaction; see OrderStore.create. */
  private async createWithCommit(
    order: PayoutOrder,
    item: Record<string, unknown>,
    commit: LimitCommit,
  ): Promise<{ created: true } | { created: false; existing: PayoutOrder }> {
    const counters = await this.counterWrites(commit);
    const put: TransactWriteItem = {
      Put: {
        TableName: this.tableName,
        Item: marshall(item, MARSHALL),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PAYOUTS_TABLE.partitionKey },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
    const failed = await this.transact('create', [put, ...counters.map((c) => ({ Update: c.update }))]);
    if (!failed) return { created: true };
    if (failed.index === 0) {
      // The order exists: an idempotent replay (or a reused number) is answered from the existing order,
      // before any limit, and nothing was counted.
      const existing = failed.item ? toOrder(failed.item) : await this.get(order.no_order);
      if (!existing) throw new Error(`order ${order.no_order} exists by condition but could not be read`);
      return { created: false, existing };
    }
    throw await this.limitError(counters[failed.index - 1]!, commit, failed.item);
  }

  /** Order update + counters in one transaction; see OrderStore.update. */
  private async updateWithCommit(
    expected: OrderVersion,
    commit: LimitCommit,
    update: Update,
  ): Promise<PayoutOrder> {
    const counters = await this.counterWrites(commit);
    const failed = await this.transact('update', [
      { Update: { ...update, ReturnValuesOnConditionCheckFailure: 'NONE' } },
      ...counters.map((c) => ({ Update: c.update })),
    ]);
    if (failed?.index === 0) throw new TransitionConflictError(expected.no_order);
    if (failed) throw await this.limitError(counters[failed.index - 1]!, commit, failed.item);
    // A transaction returns no attributes: read the order back (consistently) for the caller.
    const written = await this.get(expected.no_order);
    if (!written) throw new Error(`update of ${expected.no_order} wrote an order that cannot be read`);
    return written;
  }

  /**
   * Runs a transaction. Returns undefined on success, or the first item whose condition failed (with its
   * old image when DynamoDB returns it). TransactionConflict (another transaction on a hot counter at
   * the same moment) is retried with jittered back-off; nothing was written by a cancelled attempt.
   */
  private async transact(
    operation: OrderStoreOperation,
    items: TransactWriteItem[],
  ): Promise<{ index: number; item?: Record<string, AttributeValue> } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.client.send(
          new TransactWriteItemsCommand({ TransactItems: items, ...this.capacityRequest() }),
        );
        this.report(operation, out.ConsumedCapacity);
        return undefined;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw storeError(operation, error);
        const reasons = error.CancellationReasons ?? [];
        const index = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        if (index >= 0) return { index, ...(reasons[index]?.Item ? { item: reasons[index].Item } : {}) };
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        // Still contended after every retry: a hot counter is a "not now", answered 503 with Retry-After.
        if (conflict && attempt >= TRANSACTION_ATTEMPTS) {
          throw new DependencyError(`${operation}: transaction still contended`, { cause: error });
        }
        if (!conflict) throw storeError(operation, error);
        const cap = Math.min(TRANSACTION_BACKOFF_MS.max, TRANSACTION_BACKOFF_MS.base * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, Math.random() * cap));
      }
    }
  }

  /**
   * The counter updates of a commit. A reserve ADDs the amount and 1, conditioned so no counter ever
   * ends above its limit: `amount_fen <= limit - amount` (and `count <= limitCount - 1`), or the counter
   * does not exist yet. An amount larger than a limit on its own can never fit: refused before writing.
   * A release subtracts, unconditionally (its once-ness comes from the order's condition).
   */
  private async counterWrites(commit: LimitCommit): Promise<CounterWrite[]> {
    const sign = commit.kind === 'reserve' ? 1 : -1;
    const writes: CounterWrite[] = [];
    const counter = (key: string, limitFen?: number, limitCount?: number, limits: LimitName[] = []) => {
      const conditions: string[] = [];
      const values: Record<string, unknown> = {
        ':amount': sign * commit.amountFen,
        ':one': sign,
        ':expires': commit.expiresAt,
      };
      if (commit.kind === 'reserve' && limitFen !== undefined) {
        conditions.push('(attribute_not_exists(#amount) OR #amount <= :maxAmount)');
        values[':maxAmount'] = limitFen - commit.amountFen;
      }
      if (commit.kind === 'reserve' && limitCount !== undefined) {
        conditions.push('(attribute_not_exists(#count) OR #count <= :maxCount)');
        values[':maxCount'] = limitCount - 1;
      }
      writes.push({
        key,
        limitFen,
        limitCount,
        limits,
        update: {
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: key } },
          UpdateExpression: 'ADD #amount :amount, #count :one SET #expires = :expires',
          ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: {
            '#amount': 'amount_fen',
            '#count': 'count',
            '#expires': PAYOUTS_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: marshall(values, MARSHALL),
          ...(conditions.length ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
        },
      });
    };
    counter(dailyCounterKey(commit.day), commit.dailyLimitFen, undefined, ['daily_amount']);
    if (commit.payee) {
      counter(payeeCounterKey(commit.day, commit.payee.key), commit.payee.limitFen, commit.payee.limitCount, [
        'payee_daily_amount',
        'payee_daily_count',
      ]);
    }
    if (commit.kind === 'reserve') {
      // The conditions above admit a missing counter; an amount that alone exceeds a limit must not pass.
      for (const write of writes) {
        const tooBig = write.limitFen !== undefined && commit.amountFen > write.limitFen;
        const noCount = write.limitCount !== undefined && write.limitCount < 1;
        if (tooBig || noCount) throw await this.limitError(write, commit, undefined);
      }
    }
    return writes;
  }

  /** Which limit a refused counter crossed, and what remains of it (from its old image, or a read). */
  private async limitError(
    write: CounterWrite,
    commit: LimitCommit,
    oldItem: Record<string, AttributeValue> | undefined,
  ): Promise<LimitExceededError> {
    const item = oldItem ?? (await this.readCounter(write.key));
    const plain = item ? unmarshall(item) : {};
    const amount = typeof plain.amount_fen === 'number' ? plain.amount_fen : 0;
    const count = typeof plain.count === 'number' ? plain.count : 0;
    const amountLimit = write.limits[0]!;
    if (write.limitFen !== undefined && amount + commit.amountFen > write.limitFen) {
      return new LimitExceededError(amountLimit, formatFen(Math.max(0, write.limitFen - amount)));
    }
    if (write.limitCount !== undefined && count + 1 > write.limitCount) {
      return new LimitExceededError('payee_daily_count', String(Math.max(0, write.limitCount - count)));
    }
    // The condition failed yet the values read now fit: the counter moved in between. Report the limit
    // with what remains now; the caller may simply try again.
    return new LimitExceededError(
      amountLimit,
      write.limitFen === undefined ? '0.00' : formatFen(Math.max(0, write.limitFen - amount)),
    );
  }

  private async readCounter(key: string): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: key } },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }

  async listDue(query: { dueBefore: string; limit: number; cursor?: string }): Promise<DuePage> {
    const { dueBefore, limit } = query;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer`);
    const shards = allOpenShards();
    const states = query.cursor ? decodeCursor(query.cursor, shards.length) : shards.map(() => null);

    // Each shard contributes up to `limit` candidates (or everything it has left), which is enough to know
    // the `limit` globally oldest; a k-way merge then consumes a prefix of every shard's sequence, so a
    // per-shard position is an exact resume point.
    const buffers = await Promise.all(
      shards.map((shard, s) => this.readShard(shard, states[s] ?? null, dueBefore, limit)),
    );

    const taken = buffers.map(() => 0);
    const items: DueOrderRef[] = [];
    while (items.length < limit) {
      let pick = -1;
      for (let s = 0; s < buffers.length; s++) {
        const head = buffers[s]?.items[taken[s] ?? 0];
        if (!head) continue;
        const best = pick < 0 ? undefined : buffers[pick]?.items[taken[pick] ?? 0];
        if (!best || head.next_check_at < best.next_check_at) pick = s;
      }
      if (pick < 0) break;
      const buffer = buffers[pick]!;
      items.push(buffer.items[taken[pick]!]!);
      taken[pick]!++;
    }

    const next: ShardState[] = shards.map((_, s) => {
      const buffer = buffers[s]!;
      const n = taken[s]!;
      if (buffer.exhausted && n === buffer.items.length) return EXHAUSTED;
      if (n === 0) return states[s] ?? null;
      const last = buffer.items[n - 1]!;
      return { n: last.no_order, t: last.next_check_at };
    });
    if (next.every((state) => state === EXHAUSTED)) return { items };
    return { items, cursor: encodeCursor(next) };
  }

  private async readShard(
    shard: string,
    state: ShardState,
    dueBefore: string,
    want: number,
  ): Promise<{ items: DueOrderRef[]; exhausted: boolean }> {
    if (state === EXHAUSTED) return { items: [], exhausted: true };
    const { partitionKey, sortKey, name } = PAYOUTS_TABLE.openIndex;
    const page = await this.queryKeys(
      'listDue',
      {
        IndexName: name,
        KeyConditionExpression: '#shard = :shard AND #due <= :due',
        ExpressionAttributeNames: { '#shard': partitionKey, '#due': sortKey },
        ExpressionAttributeValues: { ':shard': { S: shard }, ':due': { S: dueBefore } },
      },
      state
        ? { [partitionKey]: shard, [sortKey]: state.t, [PAYOUTS_TABLE.partitionKey]: state.n }
        : undefined,
      want,
      sortKey,
    );
    return {
      items: page.items.map(([no_order, next_check_at]) => ({ no_order, next_check_at })),
      exhausted: page.lastKey === undefined,
    };
  }

  async listAwaitingApproval(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.listWaitingQueue('listAwaitingApproval', PAYOUTS_TABLE.awaitingIndex.queue, query);
  }

  /**
   * AWAITING_FUNDS orders, oldest created first: the `FUNDS` partition of the same sparse index (issue 13),
   * the waiting queue the funds check resends from.
   */
  async listAwaitingFunds(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.listWaitingQueue('listAwaitingFunds', PAYOUTS_TABLE.fundsQueue, query);
  }

  private async listWaitingQueue(
    operation: 'listAwaitingApproval' | 'listAwaitingFunds',
    queue: string,
    query: { limit: number; cursor?: string },
  ): Promise<AwaitingPage> {
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer`);
    const { name, partitionKey, sortKey } = PAYOUTS_TABLE.awaitingIndex;
    const start = query.cursor ? decodeAwaitingCursor(query.cursor) : undefined;
    const page = await this.queryKeys(
      operation,
      {
        IndexName: name,
        KeyConditionExpression: '#queue = :queue',
        ExpressionAttributeNames: { '#queue': partitionKey },
        ExpressionAttributeValues: { ':queue': { S: queue } },
      },
      start
        ? { [partitionKey]: queue, [sortKey]: start.created_at, [PAYOUTS_TABLE.partitionKey]: start.no_order }
        : undefined,
      limit,
      sortKey,
    );
    const items: AwaitingOrderRef[] = page.items.map(([no_order, created_at]) => ({ no_order, created_at }));
    const last = items.at(-1);
    // A full page may be followed by nothing; the next call then simply returns an empty last page.
    return page.lastKey && last ? { items, cursor: encodeAwaitingCursor(last) } : { items };
  }

  /**
   * Up to `want` (no_order, sort key) pairs from a KEYS_ONLY index, ascending, from `start` (exclusive).
   * A Query page can stop short of Limit (1 MB cap), so it keeps going until it has `want` or the end:
   * callers (the due merge, the approvals list) never see a partial view.
   */
  private async queryKeys(
    operation: OrderStoreOperation,
    query: Pick<
      QueryCommandInput,
      'IndexName' | 'KeyConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
    start: Record<string, string> | undefined,
    want: number,
    sortKey: string,
  ): Promise<{ items: [string, string][]; lastKey?: Record<string, AttributeValue> }> {
    const items: [string, string][] = [];
    let startKey: Record<string, AttributeValue> | undefined = start
      ? Object.fromEntries(Object.entries(start).map(([k, v]) => [k, { S: v }]))
      : undefined;
    do {
      const request = new QueryCommand({
        TableName: this.tableName,
        ...query,
        ScanIndexForward: true,
        Limit: want - items.length,
        ExclusiveStartKey: startKey,
        ...this.capacityRequest(),
      });
      const out = await this.call(operation, () => this.client.send(request));
      this.report(operation, out.ConsumedCapacity);
      for (const raw of out.Items ?? []) {
        const noOrder = raw[PAYOUTS_TABLE.partitionKey]?.S;
        const sort = raw[sortKey]?.S;
        if (noOrder !== undefined && sort !== undefined) items.push([noOrder, sort]);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length < want);
    return startKey ? { items, lastKey: startKey } : { items };
  }

  /**
   * Reads go through here (writes translate in their own catch blocks) so that "DynamoDB is throttled or
   * unreachable" reaches callers as the core's DependencyError (retry later), whatever the operation. Everything else — the condition
   * failures the callers handle, validation errors that are our bugs — passes through unchanged.
   */
  private async call<T>(operation: OrderStoreOperation, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw storeError(operation, error);
    }
  }

  private capacityRequest(): { ReturnConsumedCapacity?: 'INDEXES' } {
    return this.onConsumedCapacity ? { ReturnConsumedCapacity: 'INDEXES' } : {};
  }

  private report(
    operation: OrderStoreOperation,
    capacity: ConsumedCapacity | ConsumedCapacity[] | undefined,
  ) {
    if (!this.onConsumedCapacity || capacity === undefined) return;
    this.onConsumedCapacity(operation, Array.isArray(capacity) ? capacity : [capacity]);
  }
}

/** DynamoDB answers that mean "not now": throttling, capacity, the service's own faults. */
const UNAVAILABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
/** Network failures below the SDK (after its own retries). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, $fault } = error as Error & { code?: unknown; $fault?: unknown };
  return (
    UNAVAILABLE.has(error.name) ||
    (typeof code === 'string' && NETWORK_CODES.has(code)) ||
    // Any 5xx the SDK classified as the service's fault, including ones not named above.
    $fault === 'server'
  );
}

/**
 * "DynamoDB is throttled or unreachable" as the core's DependencyError; anything else unchanged. The one
 * classifier of every DynamoDB adapter (orders, batches, search, dispatch claims).
 */
export function storeError(operation: string, error: unknown): unknown {
  if (!isUnavailable(error)) return error;
  // The SDK's message is left out: only the operation and the exception's name.
  return new DependencyError(`DynamoDB ${operation} failed: ${(error as Error).name}`, { cause: error });
}

function toOrder(item: Record<string, AttributeValue>): PayoutOrder {
  const plain = unmarshall(item);
  for (const key of STORAGE_ONLY) delete plain[key];
  return plain as PayoutOrder;
}

interface CounterWrite {
  readonly key: string;
  readonly limitFen: number | undefined;
  readonly limitCount: number | undefined;
  /** The amount limit this counter enforces first, then (payee) the count limit. */
  readonly limits: readonly LimitName[];
  readonly update: Update;
}

function encodeAwaitingCursor(ref: AwaitingOrderRef): string {
  return Buffer.from(JSON.stringify({ v: 1, n: ref.no_order, c: ref.created_at }), 'utf8').toString(
    'base64url',
  );
}

function decodeAwaitingCursor(cursor: string): AwaitingOrderRef {
  try {
    const { v, n, c } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    if (v === 1 && typeof n === 'string' && typeof c === 'string') return { no_order: n, created_at: c };
  } catch {
    // fall through to the uniform error below
  }
  throw new RangeError('invalid listAwaitingApproval cursor');
}

/** Per shard: null = from the start, EXHAUSTED = nothing left, or the last key handed out. */
type ShardState = null | typeof EXHAUSTED | { readonly n: string; readonly t: string };
const EXHAUSTED = 'x' as const;

function encodeCursor(states: readonly ShardState[]): string {
  return Buffer.from(JSON.stringify({ v: 1, s: states }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, shardCount: number): ShardState[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new RangeError('invalid listDue cursor', { cause: error });
  }
  const { v, s: states } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    v?: unknown;
    s?: unknown;
  };
  if (v !== 1 || !Array.isArray(states) || states.length !== shardCount) {
    throw new RangeError('invalid listDue cursor');
  }
  return states.map((state: unknown): ShardState => {
    if (state === null || state === EXHAUSTED) return state;
    const { n, t } = (state ?? {}) as { n?: unknown; t?: unknown };
    if (typeof n !== 'string' || typeof t !== 'string') throw new RangeError('invalid listDue cursor');
    return { n, t };
  });
}
