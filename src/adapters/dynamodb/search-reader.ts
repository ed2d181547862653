import {
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DependencyError } from '../../core/errors';
import {
  type IndexKey,
  type KeyPage,
  LIST_ROW_FIELDS,
  type ListRow,
  type Queue,
  type Range,
  type SearchReader,
} from '../../core/search';
import { batchGetAll } from './batch-get';
import { storeError } from './order-store';
import { openShard, PAYOUTS_TABLE } from './table';

export type SearchOperation = 'searchQuery' | 'searchCount' | 'searchBatchGet';

export interface DynamoSearchReaderOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Called with what DynamoDB reports per request; setting it makes every request ask for INDEXES detail. */
  readonly onConsumedCapacity?: (operation: SearchOperation, capacity: ConsumedCapacity[]) => void;
}

/** Unprocessed keys (throttling) are asked again this often, with a short back-off, before giving up. */
const BATCH_GET_ATTEMPTS = 8;
const BACKOFF_MS = { base: 40, max: 500 } as const;

/**
 * The operations API's reads of the payouts table (issue 12): Query on the by-day, awaiting-approval,
 * open-by-due, by-batch and open-anomalies indexes, and BatchGetItem of the orders a KEYS_ONLY index
 * names. Never a Scan. Reads are eventually consistent (half the RRU): a list is a snapshot anyway, and
 * the core drops rows the index and the table disagree on.
 */
/** The index and partition of a queue: awaiting approval or funds (one index), or the anomalies. */
function queuePartition(queue: Queue | 'ANOMALIES') {
  if (queue === 'ANOMALIES')
    return { index: PAYOUTS_TABLE.anomalyIndex, value: PAYOUTS_TABLE.anomalyIndex.queue };
  const value = queue === 'FUNDS' ? PAYOUTS_TABLE.fundsQueue : PAYOUTS_TABLE.awaitingIndex.queue;
  return { index: PAYOUTS_TABLE.awaitingIndex, value };
}

export class DynamoSearchReader implements SearchReader {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly onConsumedCapacity: DynamoSearchReaderOptions['onConsumedCapacity'];

  constructor(options: DynamoSearchReaderOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.onConsumedCapacity = options.onConsumedCapacity;
  }

  dayShard(partition: string, range: Range, after: IndexKey | undefined, limit: number): Promise<KeyPage> {
    return this.partition(PAYOUTS_TABLE.byDayIndex, partition, { range, forward: false }, after, limit);
  }

  queue(
    queue: Queue,
    order: 'newest' | 'oldest',
    range: Range | undefined,
    after: IndexKey | undefined,
    limit: number,
  ): Promise<KeyPage> {
    const { index, value } = queuePartition(queue);
    return this.partition(
      index,
      value,
      { ...(range ? { range } : {}), forward: order === 'oldest' },
      after,
      limit,
    );
  }

  async countQueue(queue: Queue | 'ANOMALIES'): Promise<number> {
    const { index, value } = queuePartition(queue);
    let count = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: index.name,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': index.partitionKey },
            ExpressionAttributeValues: { ':pk': { S: value } },
            Select: 'COUNT',
            ExclusiveStartKey: start,
            ...this.capacityRequest(),
          }),
        ),
      );
      this.report('searchCount', out.ConsumedCapacity);
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }

  anomalies(after: IndexKey | undefined, limit: number): Promise<KeyPage> {
    const { index, value } = queuePartition('ANOMALIES');
    return this.partition(index, value, { forward: true }, after, limit);
  }

  open(shard: number, after: IndexKey | undefined, limit: number): Promise<KeyPage> {
    return this.partition(PAYOUTS_TABLE.openIndex, openShard(shard), { forward: true }, after, limit);
  }

  async batch(
    batchId: string,
    afterSeq: number | undefined,
    limit: number,
  ): Promise<{ rows: ListRow[]; exhausted: boolean }> {
    const { name, partitionKey, sortKey } = PAYOUTS_TABLE.batchIndex;
    const rows: ListRow[] = [];
    // The cursor holds only the last batch_seq: a key condition below it resumes exactly (batch_seq is
    // unique within a batch), without the base-table key an ExclusiveStartKey would need.
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: name,
            KeyConditionExpression: afterSeq === undefined ? '#pk = :pk' : '#pk = :pk AND #sk < :after',
            ExpressionAttributeNames: {
              '#pk': partitionKey,
              ...(afterSeq === undefined ? {} : { '#sk': sortKey }),
            },
            ExpressionAttributeValues: {
              ':pk': { S: batchId },
              ...(afterSeq === undefined ? {} : { ':after': { N: String(afterSeq) } }),
            },
            ScanIndexForward: false,
            Limit: limit - rows.length,
            ExclusiveStartKey: start,
            ...this.capacityRequest(),
          }),
        ),
      );
      this.report('searchQuery', out.ConsumedCapacity);
      for (const item of out.Items ?? []) rows.push(unmarshall(item) as ListRow);
      start = out.LastEvaluatedKey;
    } while (start && rows.length < limit);
    return { rows, exhausted: start === undefined };
  }

  async getMany(noOrders: readonly string[], options: { history?: boolean } = {}): Promise<ListRow[]> {
    const report = this.onConsumedCapacity;
    const items = await batchGetAll({
      client: this.client,
      tableName: this.tableName,
      keys: noOrders,
      attributes: [...LIST_ROW_FIELDS, ...(options.history ? ['history'] : [])],
      attempts: BATCH_GET_ATTEMPTS,
      backoffMs: BACKOFF_MS,
      ...(report
        ? { capacity: { level: 'INDEXES', report: (capacity) => report('searchBatchGet', capacity) } }
        : {}),
      storeError: (error) => storeError('search', error),
      unprocessed: () => new DependencyError('DynamoDB searchBatchGet: keys still unprocessed'),
    });
    return items.map((item) => unmarshall(item) as ListRow);
  }

  /**
   * One partition of an index (by-day shard, a queue, the anomalies, an open shard), its sort key
   * optionally within `range`, in the asked direction, after `after` (exclusive): every list of keys the
   * search makes is this query.
   */
  private partition(
    index: { readonly name: string; readonly partitionKey: string; readonly sortKey: string },
    value: string,
    options: { readonly range?: Range; readonly forward: boolean },
    after: IndexKey | undefined,
    limit: number,
  ): Promise<KeyPage> {
    const { name, partitionKey, sortKey } = index;
    const range = options.range;
    return this.keys(
      {
        IndexName: name,
        KeyConditionExpression: range ? '#pk = :pk AND #sk BETWEEN :from AND :to' : '#pk = :pk',
        ExpressionAttributeNames: { '#pk': partitionKey, ...(range ? { '#sk': sortKey } : {}) },
        ExpressionAttributeValues: {
          ':pk': { S: value },
          ...(range ? { ':from': { S: range.from }, ':to': { S: range.to } } : {}),
        },
        ScanIndexForward: options.forward,
      },
      after
        ? { [partitionKey]: value, [sortKey]: after.at, [PAYOUTS_TABLE.partitionKey]: after.no_order }
        : undefined,
      limit,
      sortKey,
    );
  }

  /**
   * Up to `limit` keys of a KEYS_ONLY index in the asked direction, after `start` (exclusive). A Query
   * page can stop short of Limit (1 MB), so it keeps going until it has `limit` or the end.
   */
  private async keys(
    query: Pick<
      QueryCommandInput,
      | 'IndexName'
      | 'KeyConditionExpression'
      | 'ExpressionAttributeNames'
      | 'ExpressionAttributeValues'
      | 'ScanIndexForward'
    >,
    start: Record<string, string> | undefined,
    limit: number,
    sortKey: string,
  ): Promise<KeyPage> {
    const items: IndexKey[] = [];
    let startKey: Record<string, AttributeValue> | undefined = start
      ? Object.fromEntries(Object.entries(start).map(([k, v]) => [k, { S: v }]))
      : undefined;
    do {
      const out = await this.call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ...query,
            Limit: limit - items.length,
            ExclusiveStartKey: startKey,
            ...this.capacityRequest(),
          }),
        ),
      );
      this.report('searchQuery', out.ConsumedCapacity);
      for (const raw of out.Items ?? []) {
        const noOrder = raw[PAYOUTS_TABLE.partitionKey]?.S;
        const at = raw[sortKey]?.S;
        if (noOrder !== undefined && at !== undefined) items.push({ no_order: noOrder, at });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return { items, exhausted: startKey === undefined };
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw storeError('search', error);
    }
  }

  private capacityRequest(): { ReturnConsumedCapacity?: 'INDEXES' } {
    return this.onConsumedCapacity ? { ReturnConsumedCapacity: 'INDEXES' } : {};
  }

  private report(operation: SearchOperation, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined) {
    if (!this.onConsumedCapacity || capacity === undefined) return;
    this.onConsumedCapacity(operation, Array.isArray(capacity) ? capacity : [capacity]);
  }
}
