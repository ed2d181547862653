import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactionConflictException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  BatchChange,
  BatchItemPage,
  BatchItemRow,
  BatchRecord,
  BatchVersion,
} from '../../core/batch-model';
import type { BatchWriteStore, CounterMove } from '../../core/batches';
import {
  DependencyError,
  LimitExceededError,
  type LimitName,
  TransitionConflictError,
} from '../../core/errors';
import type { PayoutOrder } from '../../core/model';
import type { PayoutStatus } from '../../core/status';
import { formatFen } from '../../lianlian/money';
import { batchGetAll } from './batch-get';
import { storeError, versionedUpdate, versionedUpdateParts } from './order-store';
import { batchKey, dailyCounterKey, openShardFor, PAYOUTS_TABLE, payeeCounterKey } from './table';

/**
 * Batches in DynamoDB (issue 11): the batch record under `BATCH#<id>` in the payouts table (in the due
 * index through `open_shard` + `next_check_at`, like an order), its items read from the sparse by-batch
 * index, and the counter moves that commit a whole batch. Every write is conditional.
 */
export type BatchStoreOperation =
  | 'getBatch'
  | 'putBatch'
  | 'updateBatch'
  | 'listItems'
  | 'getOrders'
  | 'moveCounters'
  | 'deleteQueuedItem';

export interface DynamoBatchStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

const MARSHALL = { removeUndefinedValues: true } as const;
const GET_CONCURRENCY = 8;
const TRANSACTION_ATTEMPTS = 25;
const BATCH_GET_ATTEMPTS = 10;
/** Unprocessed keys wait as long as a conflicting transaction does (backoff below): 10 ms doubling to 400. */
const BACKOFF_MS = { base: 10, max: 400 } as const;

/** Attributes of the batch record that exist only for indexing. */
const INDEX_ONLY = [PAYOUTS_TABLE.partitionKey, PAYOUTS_TABLE.openIndex.partitionKey] as const;

/** The batch record fields a change may set (BatchChange['set']); anything else is a bug. */
const BATCH_PATCH_KEYS: ReadonlySet<string> = new Set([
  'approved_by',
  'denied_by',
  'voided_by',
  'approved_at',
  'dispatched_at',
  'completed_at',
  'next_check_at',
  'limit_day',
  // Written by the dispatcher with the completion (Batch Completed carries them).
  'counts',
  'amounts',
]);

export class DynamoBatchStore implements BatchWriteStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: DynamoBatchStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const out = await this.call('getBatch', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: batchKey(batchId) } },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async putBatch(
    record: BatchRecord,
    commit?: CounterMove,
  ): Promise<{ created: true } | { created: false; existing: BatchRecord }> {
    const key = batchKey(record.batch_id);
    const item: Record<string, unknown> = { ...record, [PAYOUTS_TABLE.partitionKey]: key };
    if (record.next_check_at !== undefined) item[PAYOUTS_TABLE.openIndex.partitionKey] = openShardFor(key);
    const put = {
      TableName: this.tableName,
      Item: marshall(item, MARSHALL),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PAYOUTS_TABLE.partitionKey },
    };
    if (!commit) {
      try {
        await this.client.send(
          new PutItemCommand({ ...put, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
        );
        return { created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw batchStoreError('putBatch', error);
        const existing = error.Item ? toRecord(error.Item) : await this.getBatch(record.batch_id);
        if (!existing) throw new Error(`batch ${record.batch_id} exists by condition but could not be read`);
        return { created: false, existing };
      }
    }
    const counter = this.counterUpdate(commit);
    const failed = await this.transact('putBatch', [
      { Put: { ...put, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      counter,
    ]);
    if (!failed) return { created: true };
    if (failed.index === 0) {
      const existing = failed.item ? toRecord(failed.item) : await this.getBatch(record.batch_id);
      if (!existing) throw new Error(`batch ${record.batch_id} exists by condition but could not be read`);
      return { created: false, existing };
    }
    throw await this.limitError(commit, failed.item);
  }

  async updateBatch(expected: BatchVersion, change: BatchChange, commit?: CounterMove): Promise<BatchRecord> {
    if (change.leaveDueIndex && change.set.next_check_at !== undefined) {
      throw new TypeError('a change cannot both leave the due index and set next_check_at');
    }
    const key = batchKey(expected.batch_id);
    for (const [field, value] of Object.entries(change.set)) {
      if (value !== undefined && !BATCH_PATCH_KEYS.has(field))
        throw new TypeError(`field ${field} cannot be changed by an update`);
    }
    const index = change.leaveDueIndex ? 'leave' : change.set.next_check_at !== undefined ? 'set' : 'keep';
    const update = versionedUpdate(this.tableName, key, versionedUpdateParts(key, expected, change, index));
    if (commit) {
      const failed = await this.transact('updateBatch', [{ Update: update }, this.counterUpdate(commit)]);
      if (failed?.index === 0) throw new TransitionConflictError(expected.batch_id);
      if (failed) throw await this.limitError(commit, failed.item);
      const written = await this.getBatch(expected.batch_id);
      if (!written) throw new Error(`batch ${expected.batch_id} was updated but cannot be read`);
      return written;
    }
    try {
      const out = await this.client.send(new UpdateItemCommand({ ...update, ReturnValues: 'ALL_NEW' }));
      if (!out.Attributes) throw new Error(`update of batch ${expected.batch_id} returned no attributes`);
      return toRecord(out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || error instanceof TransactionConflictException) {
        throw new TransitionConflictError(expected.batch_id, { cause: error });
      }
      throw batchStoreError('updateBatch', error);
    }
  }

  async listItems(
    batchId: string,
    query: { limit: number; cursor?: string; status?: PayoutStatus; afterSeq?: number },
  ): Promise<BatchItemPage> {
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    // The cursor is the last row handed out: exact whatever the filter skipped or a page cut short.
    let after = query.afterSeq ?? 0;
    if (query.cursor) after = Math.max(after, decodeSeqCursor(query.cursor));
    const { name, partitionKey, sortKey } = PAYOUTS_TABLE.batchIndex;
    const items: BatchItemRow[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    let more = true;
    while (items.length < limit && more) {
      const out = await this.call('listItems', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: name,
            KeyConditionExpression: '#batch = :batch AND #seq > :after',
            ExpressionAttributeNames: {
              '#batch': partitionKey,
              '#seq': sortKey,
              ...(query.status ? { '#status': 'status' } : {}),
            },
            ExpressionAttributeValues: {
              ':batch': { S: batchId },
              ':after': { N: String(after) },
              ...(query.status ? { ':status': { S: query.status } } : {}),
            },
            ...(query.status ? { FilterExpression: '#status = :status' } : {}),
            ScanIndexForward: true,
            // Without a filter every read row is returned; with one, read ahead a little.
            Limit: query.status ? Math.max(limit - items.length, 100) : limit - items.length,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const raw of out.Items ?? []) {
        if (items.length >= limit) break;
        items.push(toRow(raw));
      }
      startKey = out.LastEvaluatedKey;
      more = startKey !== undefined;
    }
    const last = items.at(-1);
    // A full page may be followed by nothing; the next call then returns an empty last page.
    return items.length === limit && last ? { items, cursor: encodeSeqCursor(last.batch_seq) } : { items };
  }

  async getOrders(noOrders: readonly string[]): Promise<Map<string, PayoutOrder>> {
    const items = await batchGetAll({
      client: this.client,
      tableName: this.tableName,
      keys: noOrders,
      consistentRead: true,
      concurrency: GET_CONCURRENCY,
      attempts: BATCH_GET_ATTEMPTS,
      backoffMs: BACKOFF_MS,
      storeError: (error) => batchStoreError('getOrders', error),
      unprocessed: () => new DependencyError('DynamoDB getOrders: keys left unprocessed'),
    });
    const found = new Map<string, PayoutOrder>();
    for (const raw of items) {
      const order = unmarshall(raw) as PayoutOrder & Record<string, unknown>;
      for (const k of ['open_shard', 'approval_queue', 'day_shard']) delete order[k];
      found.set(order.no_order, order);
    }
    return found;
  }

  async moveCounters(moves: readonly CounterMove[]): Promise<void> {
    if (moves.length === 0) return;
    if (moves.length > 100) throw new Error('a transaction holds at most 100 items');
    const failed = await this.transact(
      'moveCounters',
      moves.map((m) => this.counterUpdate(m)),
    );
    if (failed) throw await this.limitError(moves[failed.index]!, failed.item);
  }

  async deleteQueuedItem(noOrder: string, batchId: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: noOrder } },
          ConditionExpression: '#status = :queued AND #batch = :batch',
          ExpressionAttributeNames: { '#status': 'status', '#batch': PAYOUTS_TABLE.batchIndex.partitionKey },
          ExpressionAttributeValues: { ':queued': { S: 'QUEUED' }, ':batch': { S: batchId } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw batchStoreError('deleteQueuedItem', error);
    }
  }

  /**
   * A counter update. A reserve ADDs amount and count, conditioned so the counter never ends above its
   * limit (`amount_fen <= limit - amount`, `count <= limitCount - count`) or is new; a release subtracts.
   */
  private counterUpdate(move: CounterMove): TransactWriteItem {
    const sign = move.kind === 'reserve' ? 1 : -1;
    const key =
      move.payeeKey === undefined ? dailyCounterKey(move.day) : payeeCounterKey(move.day, move.payeeKey);
    const conditions: string[] = [];
    const values: Record<string, unknown> = {
      ':amount': sign * move.amountFen,
      ':count': sign * move.count,
      ':expires': move.expiresAt,
    };
    if (move.kind === 'reserve' && move.limitFen !== undefined) {
      conditions.push('(attribute_not_exists(#amount) OR #amount <= :maxAmount)');
      values[':maxAmount'] = move.limitFen - move.amountFen;
    }
    if (move.kind === 'reserve' && move.limitCount !== undefined) {
      conditions.push('(attribute_not_exists(#count) OR #count <= :maxCount)');
      values[':maxCount'] = move.limitCount - move.count;
    }
    // A counter that does not exist passes the conditions above; an amount over a limit alone must not.
    if (
      move.kind === 'reserve' &&
      ((move.limitFen !== undefined && move.amountFen > move.limitFen) ||
        (move.limitCount !== undefined && move.count > move.limitCount))
    ) {
      conditions.push('attribute_not_exists(#pk) AND attribute_exists(#pk)');
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: key } },
        UpdateExpression: 'ADD #amount :amount, #count :count SET #expires = :expires',
        ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
        ExpressionAttributeNames: {
          '#amount': 'amount_fen',
          '#count': 'count',
          '#expires': PAYOUTS_TABLE.ttlAttribute,
          ...(conditions.some((c) => c.includes('#pk')) ? { '#pk': PAYOUTS_TABLE.partitionKey } : {}),
        },
        ExpressionAttributeValues: marshall(values, MARSHALL),
        ...(conditions.length ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
      },
    };
  }

  private async limitError(
    move: CounterMove,
    old: Record<string, AttributeValue> | undefined,
  ): Promise<LimitExceededError> {
    let item = old;
    if (!item) {
      const key =
        move.payeeKey === undefined ? dailyCounterKey(move.day) : payeeCounterKey(move.day, move.payeeKey);
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: key } },
          ConsistentRead: true,
        }),
      );
      item = out.Item;
    }
    const plain = item ? unmarshall(item) : {};
    const amount = typeof plain.amount_fen === 'number' ? plain.amount_fen : 0;
    const count = typeof plain.count === 'number' ? plain.count : 0;
    const amountLimit: LimitName = move.payeeKey === undefined ? 'daily_amount' : 'payee_daily_amount';
    if (
      move.limitCount !== undefined &&
      count + move.count > move.limitCount &&
      !(move.limitFen !== undefined && amount + move.amountFen > move.limitFen)
    ) {
      return new LimitExceededError('payee_daily_count', String(Math.max(0, move.limitCount - count)));
    }
    return new LimitExceededError(
      amountLimit,
      move.limitFen === undefined ? '0.00' : formatFen(Math.max(0, move.limitFen - amount)),
    );
  }

  private async transact(
    operation: BatchStoreOperation,
    items: TransactWriteItem[],
  ): Promise<{ index: number; item?: Record<string, AttributeValue> } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        if (error instanceof TransactionCanceledException) {
          const reasons = error.CancellationReasons ?? [];
          const index = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
          if (index >= 0) return { index, ...(reasons[index]?.Item ? { item: reasons[index].Item } : {}) };
          const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
          if (conflict && attempt < TRANSACTION_ATTEMPTS) {
            await backoff(attempt);
            continue;
          }
        }
        if (error instanceof TransactionConflictException && attempt < TRANSACTION_ATTEMPTS) {
          await backoff(attempt);
          continue;
        }
        throw batchStoreError(operation, error);
      }
    }
  }

  private async call<T>(operation: BatchStoreOperation, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw batchStoreError(operation, error);
    }
  }
}

async function backoff(attempt: number): Promise<void> {
  const cap = Math.min(400, 10 * 2 ** (attempt - 1));
  await new Promise((r) => setTimeout(r, Math.random() * cap));
}

/**
 * The shared classifier (order-store.ts), plus a transaction still cancelled after the batch store's own
 * retries: a hot counter or record is a "not now" too.
 */
function batchStoreError(operation: BatchStoreOperation, error: unknown): unknown {
  if (error instanceof Error && error.name === 'TransactionCanceledException') {
    return new DependencyError(`DynamoDB ${operation} failed: ${error.name}`, { cause: error });
  }
  return storeError(operation, error);
}

function toRecord(item: Record<string, AttributeValue>): BatchRecord {
  const plain = unmarshall(item);
  for (const key of INDEX_ONLY) delete plain[key];
  return plain as BatchRecord;
}

function toRow(item: Record<string, AttributeValue>): BatchItemRow {
  const plain = unmarshall(item);
  delete plain[PAYOUTS_TABLE.batchIndex.partitionKey];
  return plain as BatchItemRow;
}

/** The items cursor: the last row handed out (shared with the memory store). */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ v: 1, s: seq }), 'utf8').toString('base64url');
}

export function decodeSeqCursor(cursor: string): number {
  try {
    const { v, s } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v?: unknown;
      s?: unknown;
    };
    if (v === 1 && typeof s === 'number' && Number.isInteger(s) && s >= 0) return s;
  } catch {
    // the uniform error below
  }
  throw new RangeError('invalid batch items cursor');
}
