import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { BalanceReading, FundsLowFigures, FundsStore, OrderAmount } from '../../core/funds';
import type { AwaitingPage } from '../../core/ports';
import { isPayoutStatus } from '../../core/status';
import { batchGetAll } from './batch-get';
import { PAYOUTS_TABLE } from './table';

/**
 * The funds items (issue 13) in the payouts table, under keys no no_order can take (no_order is
 * `[A-Za-z0-9_-]`, these contain `#`), so the stream publisher and every order read pass them by:
 *
 * - `BALANCE#<China day>`: `first_fen`, `first_at` (the first reading of the day, written once) and
 *   `last_fen`, `last_at` (the latest). The daily close reads these for the balance at the start and end
 *   of a day (readBalanceDay).
 * - `FUNDS#low`: `low` (boolean), `changed_at`, and the figures of the last change (`balance_fen`,
 *   `waiting_fen`, `low_balance_fen` when a threshold is set): the low-balance state, moved only by a
 *   conditional write so one crossing is announced once. The stream publisher turns a move to low into
 *   the Funds Low event (the one item under these keys the publisher reads).
 * - `FUNDS#check`: `checked_at`, the last claimed balance check (BALANCE_CHECK_SECONDS apart).
 */

export function balanceDayKey(day: string): string {
  return `BALANCE#${day}`;
}
export const FUNDS_LOW_KEY = 'FUNDS#low';
export const FUNDS_CHECK_KEY = 'FUNDS#check';

/** A day's balance readings as the close reads them (fen; absent when no reading was known that day). */
export interface BalanceDay {
  readonly day: string;
  readonly first_fen?: number;
  readonly first_at?: string;
  readonly last_fen?: number;
  readonly last_at?: string;
}

/** The order store's waiting-queue listing (DynamoOrderStore.listAwaitingFunds). */
export interface FundsQueueSource {
  listAwaitingFunds(query: { limit: number; cursor?: string }): Promise<AwaitingPage>;
}

const BATCH_GET_ATTEMPTS = 8;
const BACKOFF_MS = { base: 50, max: 1000 } as const;

export class DynamoFundsStore implements FundsStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly queue: FundsQueueSource;

  constructor(options: { client: DynamoDBClient; tableName: string; queue: FundsQueueSource }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.queue = options.queue;
  }

  listAwaitingFunds(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.queue.listAwaitingFunds(query);
  }

  async claimBalanceCheck(at: string, intervalMs: number): Promise<boolean> {
    const before = new Date(Date.parse(at) - intervalMs).toISOString();
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: FUNDS_CHECK_KEY } },
        UpdateExpression: 'SET checked_at = :at',
        ConditionExpression: 'attribute_not_exists(checked_at) OR checked_at <= :before',
        ExpressionAttributeValues: { ':at': { S: at }, ':before': { S: before } },
      }),
    );
  }

  async recordBalance(reading: BalanceReading): Promise<void> {
    const fen = { N: String(reading.balanceFen) };
    const at = { S: reading.at };
    // The first reading of the day is written once; the last only moves forward (an overlapping run
    // with an older reading must not overwrite a newer one). last_at exists only once first_at does.
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: balanceDayKey(reading.day) } },
        UpdateExpression:
          'SET first_fen = if_not_exists(first_fen, :fen), first_at = if_not_exists(first_at, :at), last_fen = :fen, last_at = :at',
        ConditionExpression: 'attribute_not_exists(last_at) OR last_at < :at',
        ExpressionAttributeValues: { ':fen': fen, ':at': at },
      }),
    );
  }

  async setFundsLow(low: boolean, at: string, figures: FundsLowFigures): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: FUNDS_LOW_KEY } },
        // The figures travel with the state: the stream publisher builds the Funds Low event from this
        // image alone (src/core/funds.ts fundsLowEvents).
        UpdateExpression:
          figures.lowBalanceFen === undefined
            ? 'SET low = :low, changed_at = :at, balance_fen = :balance, waiting_fen = :waiting REMOVE low_balance_fen'
            : 'SET low = :low, changed_at = :at, balance_fen = :balance, waiting_fen = :waiting, low_balance_fen = :threshold',
        // Absent counts as "not low": the first low reading after deployment is a crossing.
        ConditionExpression: low ? 'attribute_not_exists(low) OR low = :false' : 'low = :true',
        ExpressionAttributeValues: {
          ':low': { BOOL: low },
          ':at': { S: at },
          ':balance': { N: String(figures.balanceFen) },
          ':waiting': { N: String(figures.waitingFen) },
          ...(figures.lowBalanceFen === undefined
            ? {}
            : { ':threshold': { N: String(figures.lowBalanceFen) } }),
          ...(low ? { ':false': { BOOL: false } } : { ':true': { BOOL: true } }),
        },
      }),
    );
  }

  async amountsOf(noOrders: readonly string[]): Promise<OrderAmount[]> {
    const items = await batchGetAll({
      client: this.client,
      tableName: this.tableName,
      keys: noOrders,
      // Status and amount only: never the sealed payee.
      attributes: [PAYOUTS_TABLE.partitionKey, 'status', 'money_fen'],
      attempts: BATCH_GET_ATTEMPTS,
      backoffMs: BACKOFF_MS,
      // Failures pass unclassified, as every other read of this store.
      storeError: (error) => error,
      unprocessed: () => new Error('BatchGetItem left keys unprocessed'),
    });
    const out: OrderAmount[] = [];
    for (const item of items) {
      const status = item.status?.S;
      const noOrder = item[PAYOUTS_TABLE.partitionKey]?.S;
      const fen = Number(item.money_fen?.N);
      if (noOrder && isPayoutStatus(status) && Number.isSafeInteger(fen)) {
        out.push({ no_order: noOrder, status, money_fen: fen });
      }
    }
    return out;
  }

  /** A day's readings (the daily close's balance at the start and end of the day). */
  async readBalanceDay(day: string): Promise<BalanceDay> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: balanceDayKey(day) } },
        ConsistentRead: true,
      }),
    );
    const item = out.Item ?? {};
    const num = (v: AttributeValue | undefined) => (v?.N === undefined ? undefined : Number(v.N));
    return {
      day,
      ...(num(item.first_fen) === undefined ? {} : { first_fen: num(item.first_fen) }),
      ...(item.first_at?.S ? { first_at: item.first_at.S } : {}),
      ...(num(item.last_fen) === undefined ? {} : { last_fen: num(item.last_fen) }),
      ...(item.last_at?.S ? { last_at: item.last_at.S } : {}),
    };
  }

  /** True when the write happened; false when its condition failed. */
  private async conditional(command: UpdateItemCommand): Promise<boolean> {
    try {
      await this.client.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
