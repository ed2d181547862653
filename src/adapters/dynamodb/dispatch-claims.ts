import {
  type DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { ClaimResult, DispatchClaims } from '../../core/dispatch';
import { DependencyError } from '../../core/errors';
import type { OrderChange, PayoutOrder } from '../../core/model';
import { buildOrderUpdate, storeError } from './order-store';
import { batchKey, PAYOUTS_TABLE } from './table';

/** A claim contended by another transaction on the same batch record is retried this often, with jitter. */
const ATTEMPTS = 10;
const BACKOFF_MS = { base: 5, max: 200 } as const;

/**
 * The dispatcher's claim of a QUEUED item as one DynamoDB transaction: the order's own conditional update
 * (the very Update `DynamoOrderStore.update` would send: status + version condition, due index, history)
 * and a ConditionCheck that the batch record is still DISPATCHING. A void or denial of the batch commits
 * its batch record first, so from that moment no item of it can be claimed, and nothing unclaimed is sent.
 */
export class DynamoDispatchClaims implements DispatchClaims {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  async claim(order: PayoutOrder, change: OrderChange, batchId: string): Promise<ClaimResult> {
    const { client, tableName } = this.options;
    const update = buildOrderUpdate(tableName, order, change);
    const command = new TransactWriteItemsCommand({
      TransactItems: [
        { Update: update },
        {
          ConditionCheck: {
            TableName: tableName,
            Key: { [PAYOUTS_TABLE.partitionKey]: { S: batchKey(batchId) } },
            ConditionExpression: '#status = :dispatching',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':dispatching': { S: 'DISPATCHING' } },
          },
        },
      ],
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(command);
        // A transaction returns no attributes; the written order is the known one with the change applied
        // (a later write that finds it otherwise fails its own condition and re-reads).
        return { kind: 'claimed', order: applied(order, change) };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw storeError('update', error);
        const reasons = error.CancellationReasons ?? [];
        if (reasons[1]?.Code === 'ConditionalCheckFailed') return { kind: 'batch_not_dispatching' };
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return { kind: 'order_changed' };
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!conflict) throw storeError('update', error);
        if (attempt >= ATTEMPTS) {
          throw new DependencyError('dispatch claim: transaction still contended', { cause: error });
        }
        const cap = Math.min(BACKOFF_MS.max, BACKOFF_MS.base * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
      }
    }
  }
}

/** The order as the claim wrote it (what DynamoOrderStore.update would return). */
export function applied(order: PayoutOrder, change: OrderChange): PayoutOrder {
  const next: Record<string, unknown> = { ...order };
  for (const [key, value] of Object.entries(change.set)) if (value !== undefined) next[key] = value;
  if (change.leaveDueIndex) delete next.next_check_at;
  next.status = change.status;
  next.version = order.version + 1;
  next.updated_at = change.at;
  if (change.history) next.history = [...order.history, change.history];
  return next as unknown as PayoutOrder;
}
