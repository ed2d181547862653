import {
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod/mini';
import {
  type BalanceReadings,
  CLOSE_ORDER_ATTRIBUTES,
  type CloseOrder,
  type CloseReader,
} from '../../core/close';
import { DependencyError } from '../../core/errors';
import '../../lib/zod-messages';
import { batchGetAll } from './batch-get';
import { balanceDayKey } from './funds-store';
import { allDayShards, allOpenShards, isOrderKey, PAYOUTS_TABLE } from './table';

/** UnprocessedKeys (throttling, the 16 MB cap) are retried this often with jittered back-off. */
const UNPROCESSED_ATTEMPTS = 12;
const BACKOFF_MS = { base: 20, max: 2_000 } as const;

/** Where the funds module keeps a China day's balance readings (first and last of the day): one key rule. */
export { balanceDayKey as balanceKey } from './funds-store';

export interface DynamoCloseReaderOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** BatchGetItem requests in flight at once per read (default 16). */
  readonly concurrency?: number;
  /** Called with what DynamoDB reports per request; setting it asks every request for TOTAL capacity. */
  readonly onConsumedCapacity?: (capacity: ConsumedCapacity) => void;
  /** Back-off between UnprocessedKeys retries (tests shorten it). */
  readonly backoffMs?: { readonly base: number; readonly max: number };
}

const readingsSchema = z.object({
  first_fen: z.int(),
  first_at: z.string().check(z.minLength(1)),
  last_fen: z.int(),
  last_at: z.string().check(z.minLength(1)),
});

/**
 * The daily close's reads: keys from the KEYS_ONLY indexes (by-day: every shard of the day; late-by-day;
 * open-by-due: every shard, no due bound), then the orders themselves by BatchGetItem, 100 keys a request,
 * a bounded number in flight, eventually consistent (the day is over; a result still settling is
 * "open" in this run and counted by the next), UnprocessedKeys retried until none is left.
 */
export class DynamoCloseReader implements CloseReader {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly concurrency: number;
  private readonly onConsumedCapacity: DynamoCloseReaderOptions['onConsumedCapacity'];
  private readonly backoff: { readonly base: number; readonly max: number };

  constructor(options: DynamoCloseReaderOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.concurrency = options.concurrency ?? 16;
    this.onConsumedCapacity = options.onConsumedCapacity;
    this.backoff = options.backoffMs ?? BACKOFF_MS;
  }

  async createdOn(day: string): Promise<CloseOrder[]> {
    const { name, partitionKey } = PAYOUTS_TABLE.byDayIndex;
    const keys = await Promise.all(allDayShards(day).map((shard) => this.keys(name, partitionKey, shard)));
    return this.orders(keys.flat());
  }

  async lateOn(day: string): Promise<CloseOrder[]> {
    const { name, partitionKey } = PAYOUTS_TABLE.lateIndex;
    return this.orders(await this.keys(name, partitionKey, day));
  }

  async openOrders(): Promise<CloseOrder[]> {
    const { name, partitionKey } = PAYOUTS_TABLE.openIndex;
    const keys = await Promise.all(allOpenShards().map((shard) => this.keys(name, partitionKey, shard)));
    return this.orders(keys.flat());
  }

  async balanceReadings(day: string): Promise<BalanceReadings | undefined> {
    const out = await this.call(() =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: balanceDayKey(day) } },
          ...this.capacityRequest(),
        }),
      ),
    );
    this.report(out.ConsumedCapacity);
    if (!out.Item) return undefined;
    // A malformed record is no reading: the statement then says "unknown", never a made-up figure.
    const parsed = readingsSchema.safeParse(unmarshall(out.Item));
    return parsed.success ? parsed.data : undefined;
  }

  /** Every no_order under one partition of a KEYS_ONLY index, all pages. */
  private async keys(indexName: string, partitionKey: string, value: string): Promise<string[]> {
    const keys: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: indexName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': partitionKey },
            ExpressionAttributeValues: { ':pk': { S: value } },
            ExclusiveStartKey: startKey,
            ...this.capacityRequest(),
          }),
        ),
      );
      this.report(out.ConsumedCapacity);
      for (const item of out.Items ?? []) {
        const key = item[PAYOUTS_TABLE.partitionKey]?.S;
        if (key !== undefined && isOrderKey(key)) keys.push(key);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return keys;
  }

  /** The orders of `keys` (duplicates read once), in no particular order; a key that vanished is left out. */
  private async orders(keys: readonly string[]): Promise<CloseOrder[]> {
    const items = await batchGetAll({
      client: this.client,
      tableName: this.tableName,
      keys,
      attributes: CLOSE_ORDER_ATTRIBUTES,
      // The day is over: eventually consistent reads (half the units) are good enough.
      consistentRead: false,
      concurrency: this.concurrency,
      attempts: UNPROCESSED_ATTEMPTS,
      backoffMs: this.backoff,
      ...(this.onConsumedCapacity
        ? {
            capacity: {
              level: 'TOTAL',
              // One report per capacity entry, as the Query and GetItem reads make.
              report: (list) => {
                for (const c of list) this.report(c);
              },
            },
          }
        : {}),
      storeError: closeReadError,
      unprocessed: (count) =>
        new DependencyError(`BatchGetItem left ${count} keys unprocessed; retry the close`),
    });
    return items.map((item) => unmarshall(item) as CloseOrder);
  }

  /** One request, its failure classified as closeReadError says. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw closeReadError(error);
    }
  }

  private capacityRequest(): { ReturnConsumedCapacity?: 'TOTAL' } {
    return this.onConsumedCapacity ? { ReturnConsumedCapacity: 'TOTAL' } : {};
  }

  private report(capacity: ConsumedCapacity | undefined): void {
    if (this.onConsumedCapacity && capacity) this.onConsumedCapacity(capacity);
  }
}

/** Throttling and outages become the core's DependencyError (retry the close later); the rest passes. */
function closeReadError(error: unknown): unknown {
  if (error instanceof Error && (error as { $fault?: string }).$fault === 'server') {
    return new DependencyError(`DynamoDB read for the close failed: ${error.name}`, { cause: error });
  }
  if (
    error instanceof Error &&
    /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(error.name)
  ) {
    return new DependencyError(`DynamoDB read for the close failed: ${error.name}`, { cause: error });
  }
  return error;
}
