import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type ConsumedCapacity,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { PAYOUTS_TABLE } from './table';

/** BatchGetItem takes at most 100 keys per request. */
export const BATCH_GET_MAX = 100;

export interface BatchGetAllRequest {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Values of the table's partition key (no_order); a key given twice is read once. */
  readonly keys: readonly string[];
  /** Only these attributes (a projection through `#a<i>` names); absent: the whole item. */
  readonly attributes?: readonly string[];
  /** Default false (eventually consistent, half the read units). */
  readonly consistentRead?: boolean;
  /** Requests in flight at once, each with up to 100 keys (default 1: one chunk after another). */
  readonly concurrency?: number;
  /** Requests per chunk before keys still unprocessed (throttling, the 16 MB cap) give up. */
  readonly attempts: number;
  /** Jittered exponential back-off before each retry of unprocessed keys: base, doubling, capped at max. */
  readonly backoffMs: { readonly base: number; readonly max: number };
  /**
   * Asks every request for this level of consumed capacity and hands what DynamoDB reports, once per
   * request, to `report` (the benches count read units through it).
   */
  readonly capacity?: {
    readonly level: 'TOTAL' | 'INDEXES';
    readonly report: (capacity: ConsumedCapacity[]) => void;
  };
  /** The caller's classification of a failed request (storeError and the like); what it returns is thrown. */
  readonly storeError: (error: unknown) => unknown;
  /** What is thrown when keys are still unprocessed after `attempts` requests. */
  readonly unprocessed: (count: number) => Error;
}

/**
 * Every item of `keys` that exists, by BatchGetItem in chunks of 100, UnprocessedKeys asked again (with
 * back-off) until none is left or the attempts run out. Never a partial answer: keys left unprocessed
 * throw. A key with no item is simply absent from the result; the order of the result is unspecified.
 */
export async function batchGetAll(request: BatchGetAllRequest): Promise<Record<string, AttributeValue>[]> {
  const unique = [...new Set(request.keys)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_MAX) chunks.push(unique.slice(i, i + BATCH_GET_MAX));
  const found: Record<string, AttributeValue>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      for (const item of await getChunk(request, chunk)) found.push(item);
    }
  };
  const concurrency = Math.max(1, Math.floor(request.concurrency ?? 1));
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  return found;
}

async function getChunk(
  request: BatchGetAllRequest,
  keys: readonly string[],
): Promise<Record<string, AttributeValue>[]> {
  const { client, tableName, attributes, capacity } = request;
  const names = attributes ? Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a])) : undefined;
  const projection = names
    ? { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names }
    : {};
  let pending: Record<string, AttributeValue>[] = keys.map((k) => ({
    [PAYOUTS_TABLE.partitionKey]: { S: k },
  }));
  const found: Record<string, AttributeValue>[] = [];
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > request.attempts) throw request.unprocessed(pending.length);
    if (attempt > 1) {
      const cap = Math.min(request.backoffMs.max, request.backoffMs.base * 2 ** (attempt - 2));
      await new Promise((r) => setTimeout(r, cap / 2 + (Math.random() * cap) / 2));
    }
    let out: BatchGetItemCommandOutput;
    try {
      out = await client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ConsistentRead: request.consistentRead ?? false,
              ...projection,
            },
          },
          ...(capacity ? { ReturnConsumedCapacity: capacity.level } : {}),
        }),
      );
    } catch (error) {
      throw request.storeError(error);
    }
    if (capacity && out.ConsumedCapacity !== undefined) capacity.report(out.ConsumedCapacity);
    for (const item of out.Responses?.[tableName] ?? []) found.push(item);
    pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
  }
  return found;
}
