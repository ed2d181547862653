import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TransitionConflictError } from '../../core/errors';
import type { OrderChange, OrderPatch, PayoutOrder } from '../../core/model';
import type { AwaitingPage, DueOrderRef, DuePage, OrderStore, OrderVersion } from '../../core/ports';
import { isDueIndexed, isFinal } from '../../core/status';
import { allOpenShards, openShardFor, PAYOUTS_TABLE } from './table';

export type OrderStoreOperation = 'create' | 'get' | 'update' | 'listDue';

export interface DynamoOrderStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Called with what DynamoDB reports per request; setting it makes every request ask for INDEXES detail. */
  readonly onConsumedCapacity?: (operation: OrderStoreOperation, capacity: ConsumedCapacity[]) => void;
}

/**
 * The patch keys an update may write. Checked at run time too: a stray key (e.g. `status` or `no_order`
 * smuggled in through a cast) would otherwise become a silent overwrite of identity or state.
 */
const PATCH_KEYS: ReadonlySet<string> = new Set<keyof OrderPatch>([
  'oid_paybill',
  'result_pay',
  'settle_date',
  'ret_code',
  'ret_msg',
  'memo',
  'applied_at',
  'apply_attempts',
  'next_check_at',
  'check_count',
  'anomalies',
]);

/** Attributes that exist only for indexing and must never reach callers. */
const STORAGE_ONLY = [PAYOUTS_TABLE.openIndex.partitionKey] as const;

const MARSHALL = { removeUndefinedValues: true } as const;

export function assertPatchKeys(patch: OrderPatch): void {
  for (const key of Object.keys(patch)) {
    if (!PATCH_KEYS.has(key)) throw new TypeError(`field ${key} cannot be changed by an update`);
  }
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

  async create(order: PayoutOrder): Promise<{ created: true } | { created: false; existing: PayoutOrder }> {
    const item: Record<string, unknown> = { ...order };
    for (const key of STORAGE_ONLY) delete item[key];
    // Only an open order with a due time belongs in the sparse index; writing open_shard without
    // next_check_at would cost bytes for an index entry that can never exist.
    if (!isFinal(order.status) && order.next_check_at !== undefined) {
      item[PAYOUTS_TABLE.openIndex.partitionKey] = openShardFor(order.no_order);
    }
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
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
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
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [PAYOUTS_TABLE.partitionKey]: { S: noOrder } },
        ConsistentRead: true,
        ...this.capacityRequest(),
      }),
    );
    this.report('get', out.ConsumedCapacity);
    return out.Item ? toOrder(out.Item) : undefined;
  }

  async update(expected: OrderVersion, change: OrderChange): Promise<PayoutOrder> {
    assertPatchKeys(change.set);
    // Leaves the index unless the change keeps a check time on an open order or a watched SUCCESS.
    const indexed = isDueIndexed(change.status, change.set.next_check_at);
    const leavesIndex = isFinal(change.status) && !indexed;
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
    for (const [key, value] of Object.entries(change.set)) {
      if (value === undefined) continue;
      // A final order leaves the index; SET and REMOVE on the same path would also be rejected outright.
      if (leavesIndex && key === PAYOUTS_TABLE.openIndex.sortKey) continue;
      names[`#p${i}`] = key;
      values[`:p${i}`] = value;
      sets.push(`#p${i} = :p${i}`);
      i++;
    }
    if (change.history) {
      names['#history'] = 'history';
      values[':entry'] = [change.history];
      sets.push('#history = list_append(#history, :entry)');
    }
    if (leavesIndex) {
      names['#open_shard'] = PAYOUTS_TABLE.openIndex.partitionKey;
      names['#next_check_at'] = PAYOUTS_TABLE.openIndex.sortKey;
      removes.push('#open_shard', '#next_check_at');
    } else if (indexed) {
      // next_check_at itself is already in the SET list as a patch field; open_shard makes it indexed.
      names['#open_shard'] = PAYOUTS_TABLE.openIndex.partitionKey;
      values[':open_shard'] = openShardFor(expected.no_order);
      sets.push('#open_shard = :open_shard');
    }

    const updateExpression = `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`;
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: expected.no_order } },
          UpdateExpression: updateExpression,
          ConditionExpression: '#status = :expectedStatus AND #version = :expectedVersion',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values, MARSHALL),
          ReturnValues: 'ALL_NEW',
          ...this.capacityRequest(),
        }),
      );
      this.report('update', out.ConsumedCapacity);
      if (!out.Attributes) throw new Error(`update of ${expected.no_order} returned no attributes`);
      return toOrder(out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new TransitionConflictError(expected.no_order, { cause: error });
      }
      throw error;
    }
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
    const items: DueOrderRef[] = [];
    let startKey: Record<string, AttributeValue> | undefined = state
      ? {
          [partitionKey]: { S: shard },
          [sortKey]: { S: state.t },
          [PAYOUTS_TABLE.partitionKey]: { S: state.n },
        }
      : undefined;
    // A Query page can stop short of Limit (1 MB cap); keep going so the merge never sees a partial view.
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: name,
          KeyConditionExpression: '#shard = :shard AND #due <= :due',
          ExpressionAttributeNames: { '#shard': partitionKey, '#due': sortKey },
          ExpressionAttributeValues: { ':shard': { S: shard }, ':due': { S: dueBefore } },
          ScanIndexForward: true,
          Limit: want - items.length,
          ExclusiveStartKey: startKey,
          ...this.capacityRequest(),
        }),
      );
      this.report('listDue', out.ConsumedCapacity);
      for (const raw of out.Items ?? []) {
        const noOrder = raw[PAYOUTS_TABLE.partitionKey]?.S;
        const due = raw[sortKey]?.S;
        if (noOrder === undefined || due === undefined) continue;
        items.push({ no_order: noOrder, next_check_at: due });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length < want);
    return { items, exhausted: startKey === undefined };
  }

  async listAwaitingApproval(_query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    throw new Error('not implemented yet');
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

function toOrder(item: Record<string, AttributeValue>): PayoutOrder {
  const plain = unmarshall(item);
  for (const key of STORAGE_ONLY) delete plain[key];
  return plain as PayoutOrder;
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
