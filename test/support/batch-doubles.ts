import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { batchKey, openShardFor, PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import type {
  BatchChange,
  BatchItemPage,
  BatchItemRow,
  BatchRecord,
  BatchStore,
  BatchVersion,
  DispatchTrigger,
} from '../../src/core/batch-model';
import type { ClaimResult, DispatchClaims } from '../../src/core/dispatch';
import { TransitionConflictError } from '../../src/core/errors';
import type { OrderChange, PayoutOrder } from '../../src/core/model';
import { formatFen } from '../../src/lianlian/money';
import type { MemoryOrderStore } from './memory-order-store';

/**
 * Minimal stand-ins for the batch module's BatchStore (src/adapters/dynamodb/batch-store.ts is the batch
 * helper's; these only serve the dispatcher's tests and bench): a memory one over MemoryOrderStore.all(),
 * and one over DynamoDB Local rows (`BATCH#<id>` records, the by-batch index) with the same semantics the
 * real store promises: conditional on status and version.
 */

export function batchRecord(
  batchId: string,
  items: readonly PayoutOrder[],
  overrides: Partial<BatchRecord> = {},
): BatchRecord {
  const total = items.reduce((sum, o) => sum + o.money_fen, 0);
  const at = items[0]?.created_at ?? '2026-11-27T04:00:00.000Z';
  return {
    batch_id: batchId,
    status: 'DISPATCHING',
    version: 1,
    item_count: items.length,
    total_fen: total,
    total_amount: formatFen(total),
    content_digest: 'digest',
    created_by: 'maker',
    created_at: at,
    updated_at: at,
    next_check_at: at,
    history: [],
    ...overrides,
  };
}

function changed(batch: BatchRecord, expected: BatchVersion, change: BatchChange): BatchRecord {
  if (batch.status !== expected.status || batch.version !== expected.version) {
    throw new TransitionConflictError(`BATCH#${expected.batch_id}`);
  }
  const next: Record<string, unknown> = { ...batch, ...change.set };
  next.status = change.status;
  next.version = batch.version + 1;
  next.updated_at = change.at;
  if (change.history) next.history = [...batch.history, change.history];
  if (change.leaveDueIndex) delete next.next_check_at;
  return next as unknown as BatchRecord;
}

function toRow(order: PayoutOrder): BatchItemRow {
  return {
    no_order: order.no_order,
    batch_seq: order.batch_seq ?? 0,
    status: order.status,
    money_fen: order.money_fen,
    money_order: order.money_order,
    card_no_masked: order.card_no_masked,
    acct_name_masked: order.acct_name_masked,
    created_at: order.created_at,
    updated_at: order.updated_at,
  };
}

function page(rows: BatchItemRow[], query: { limit: number; cursor?: string }): BatchItemPage {
  const start = query.cursor ? Number(query.cursor) : 0;
  const items = rows.slice(start, start + query.limit);
  return start + query.limit < rows.length ? { items, cursor: String(start + query.limit) } : { items };
}

export class MemoryBatchStore implements BatchStore {
  readonly records = new Map<string, BatchRecord>();
  constructor(private readonly orders: MemoryOrderStore) {}

  put(batch: BatchRecord): void {
    this.records.set(batch.batch_id, batch);
  }

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const batch = this.records.get(batchId);
    return batch ? structuredClone(batch) : undefined;
  }

  async updateBatch(expected: BatchVersion, change: BatchChange): Promise<BatchRecord> {
    const batch = this.records.get(expected.batch_id);
    if (!batch) throw new TransitionConflictError(`BATCH#${expected.batch_id}`);
    const next = changed(batch, expected, change);
    this.records.set(expected.batch_id, next);
    return structuredClone(next);
  }

  async listItems(
    batchId: string,
    query: { limit: number; cursor?: string; status?: PayoutOrder['status']; afterSeq?: number },
  ): Promise<BatchItemPage> {
    const rows = this.orders
      .all()
      .filter((o) => o.batch_id === batchId)
      .filter((o) => query.status === undefined || o.status === query.status)
      .filter((o) => query.afterSeq === undefined || (o.batch_seq ?? 0) > query.afterSeq)
      .sort((a, b) => (a.batch_seq ?? 0) - (b.batch_seq ?? 0))
      .map(toRow);
    return page(rows, query);
  }
}

/** The claim over the memory stores: both conditions checked and the write made in one JS turn. */
export class MemoryDispatchClaims implements DispatchClaims {
  constructor(
    private readonly orders: MemoryOrderStore,
    private readonly batches: MemoryBatchStore,
  ) {}

  async claim(order: PayoutOrder, change: OrderChange, batchId: string): Promise<ClaimResult> {
    if (this.batches.records.get(batchId)?.status !== 'DISPATCHING') return { kind: 'batch_not_dispatching' };
    const promise = this.orders.update(order, change);
    try {
      return { kind: 'claimed', order: await promise };
    } catch (error) {
      if (error instanceof TransitionConflictError) return { kind: 'order_changed' };
      throw error;
    }
  }
}

/** Batch records as rows of the payouts table in DynamoDB Local; items through the by-batch index. */
export class DynamoBatchStoreDouble implements BatchStore {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  async put(batch: BatchRecord): Promise<void> {
    const key = batchKey(batch.batch_id);
    await this.options.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: marshall(
          { ...batch, no_order: key, open_shard: openShardFor(key) },
          { removeUndefinedValues: true },
        ),
      }),
    );
  }

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const out = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { no_order: { S: batchKey(batchId) } },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const { no_order: _key, open_shard: _shard, ...batch } = unmarshall(out.Item);
    return batch as BatchRecord;
  }

  async updateBatch(expected: BatchVersion, change: BatchChange): Promise<BatchRecord> {
    // Read-modify-write conditional on status + version: enough for a test double.
    const current = await this.getBatch(expected.batch_id);
    if (!current) throw new TransitionConflictError(`BATCH#${expected.batch_id}`);
    const next = changed(current, expected, change);
    const key = batchKey(expected.batch_id);
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: marshall(
            { ...next, no_order: key, ...(next.next_check_at ? { open_shard: openShardFor(key) } : {}) },
            { removeUndefinedValues: true },
          ),
          ConditionExpression: '#s = :s AND #v = :v',
          ExpressionAttributeNames: { '#s': 'status', '#v': 'version' },
          ExpressionAttributeValues: marshall({ ':s': expected.status, ':v': expected.version }),
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new TransitionConflictError(key, { cause: error });
      }
      throw error;
    }
    return next;
  }

  /** The batch helper's void, as far as the dispatcher can see it: the batch record first. */
  async setStatus(batchId: string, status: BatchRecord['status']): Promise<void> {
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { no_order: { S: batchKey(batchId) } },
        UpdateExpression: 'SET #s = :s, #v = #v + :one',
        ExpressionAttributeNames: { '#s': 'status', '#v': 'version' },
        ExpressionAttributeValues: marshall({ ':s': status, ':one': 1 }),
      }),
    );
  }

  async listItems(
    batchId: string,
    query: { limit: number; cursor?: string; status?: PayoutOrder['status']; afterSeq?: number },
  ): Promise<BatchItemPage> {
    const { name, partitionKey, sortKey } = PAYOUTS_TABLE.batchIndex;
    const items: BatchItemRow[] = [];
    let start = query.cursor
      ? JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8'))
      : undefined;
    do {
      const out = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: name,
          KeyConditionExpression: query.afterSeq === undefined ? '#b = :b' : '#b = :b AND #seq > :after',
          ...(query.status ? { FilterExpression: '#status = :status' } : {}),
          ExpressionAttributeNames: {
            '#b': partitionKey,
            ...(query.afterSeq === undefined ? {} : { '#seq': sortKey }),
            ...(query.status ? { '#status': 'status' } : {}),
          },
          ExpressionAttributeValues: marshall({
            ':b': batchId,
            ...(query.afterSeq === undefined ? {} : { ':after': query.afterSeq }),
            ...(query.status ? { ':status': query.status } : {}),
          }),
          Limit: query.limit - items.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const raw of out.Items ?? []) items.push(unmarshall(raw) as BatchItemRow);
      start = out.LastEvaluatedKey;
    } while (start && items.length < query.limit);
    return start
      ? { items, cursor: Buffer.from(JSON.stringify(start), 'utf8').toString('base64url') }
      : { items };
  }
}

/** Records every batchReady (and optionally runs something for it). */
export class RecordingTrigger implements DispatchTrigger {
  readonly calls: string[] = [];
  constructor(private readonly onReady?: (batchId: string) => Promise<void>) {}
  async batchReady(batchId: string): Promise<void> {
    this.calls.push(batchId);
    await this.onReady?.(batchId);
  }
}

/** A QUEUED batch item (seal given by the caller's cipher). */
export function queuedItem(base: PayoutOrder, batchId: string, seq: number): PayoutOrder {
  return {
    ...base,
    status: 'QUEUED',
    batch_id: batchId,
    batch_seq: seq,
    next_check_at: new Date(Date.parse(base.created_at) + 15 * 60_000).toISOString(),
  };
}
