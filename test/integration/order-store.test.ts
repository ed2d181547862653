import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensurePayoutsTable } from '../../local/dynamodb';
import { DynamoOrderStore, type OrderStoreOperation } from '../../src/adapters/dynamodb/order-store';
import { dayShardFor, openShardFor, PAYOUTS_INDEXES, PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { chinaDay } from '../../src/core/days';
import { TransitionConflictError } from '../../src/core/errors';
import type { PayoutOrder } from '../../src/core/model';
import { useLocalTables } from '../support/local-tables';
import { MemoryOrderStore } from '../support/memory-order-store';
import { makeOrder } from '../support/order-fixtures';
import { describeOrderStoreContract } from './order-store.contract';

let client: DynamoDBClient;
const local = useLocalTables();

function freshTable(): Promise<string> {
  return local.freshTable('orders');
}

beforeAll(() => {
  client = local.client();
});

describeOrderStoreContract('MemoryOrderStore', async () => new MemoryOrderStore());

// A table per test: listDue sees the whole table, so sharing one would make the due-list tests depend on
// what other tests wrote.
describeOrderStoreContract(
  'DynamoOrderStore',
  async () => new DynamoOrderStore({ client, tableName: await freshTable() }),
);

describe('ensurePayoutsTable', () => {
  it('adds a missing index and the counter TTL to a local table made by an older version', async () => {
    const name = `orders-old-${randomUUID()}`;
    local.track(name);
    const { partitionKey, awaitingIndex, ttlAttribute } = PAYOUTS_TABLE;
    // A table with every index but one (DynamoDB Local builds one new index at a time, slowly, so the
    // test leaves exactly one to add), no TTL.
    const old = PAYOUTS_INDEXES.filter((i) => i.name !== awaitingIndex.name);
    const attributes = new Map<string, 'S' | 'N'>([[partitionKey, 'S']]);
    for (const i of old) {
      attributes.set(i.partitionKey.name, i.partitionKey.type);
      attributes.set(i.sortKey.name, i.sortKey.type);
    }
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: old.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: i.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: i.include
            ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...i.include] }
            : { ProjectionType: 'KEYS_ONLY' },
        })),
      }),
    );
    await ensurePayoutsTable(client, name);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    // Present (DynamoDB Local may still be backfilling it: CREATING until then).
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(
      PAYOUTS_INDEXES.map((i) => i.name).sort(),
    );
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: ttlAttribute,
    });
    // Idempotent: a second call changes nothing and does not fail.
    await ensurePayoutsTable(client, name);
  }, 120_000);
});

describe('DynamoOrderStore on DynamoDB Local', () => {
  let tableName: string;
  const raw = async (noOrder: string): Promise<Record<string, AttributeValue> | undefined> =>
    (
      await client.send(
        new GetItemCommand({ TableName: tableName, Key: { no_order: { S: noOrder } }, ConsistentRead: true }),
      )
    ).Item;

  beforeAll(async () => {
    tableName = await freshTable();
  });

  const toAccepted = (order: PayoutOrder) => ({
    status: 'ACCEPTED' as const,
    set: { oid_paybill: '2026112700000009', next_check_at: '2026-11-27T04:10:00.000Z' },
    history: {
      at: '2026-11-27T04:00:01.000Z',
      source: 'apply' as const,
      from: order.status,
      to: 'ACCEPTED' as const,
    },
    at: '2026-11-27T04:00:01.000Z',
  });

  it('reports consumed capacity, with index detail, for create, get, update and listDue', async () => {
    const seen: { operation: OrderStoreOperation; capacity: ConsumedCapacity[] }[] = [];
    const store = new DynamoOrderStore({
      client,
      tableName,
      onConsumedCapacity: (operation, capacity) => seen.push({ operation, capacity }),
    });
    const order = makeOrder();
    await store.create(order);
    await store.get(order.no_order);
    const accepted = await store.update(order, toAccepted(order));
    await store.update(accepted, {
      status: 'SUCCESS',
      set: { result_pay: 'SUCCESS' },
      at: '2026-11-27T04:10:00.000Z',
      // As the transition function says it for a SUCCESS without the returns watch.
      leaveDueIndex: true,
    });
    await store.listDue({ dueBefore: '2026-11-27T04:00:00.000Z', limit: 5 });

    expect(seen.map((s) => s.operation)).toEqual([
      'create',
      'get',
      'update',
      'update',
      'listDue',
      'listDue',
      'listDue',
      'listDue',
    ]);
    const units = (i: number) => seen[i]?.capacity[0];
    for (const i of [0, 1, 2, 3]) {
      expect(units(i)?.TableName).toBe(tableName);
      expect(units(i)?.Table?.CapacityUnits).toBeGreaterThan(0);
    }
    // Writes of an open order touch the index; the read does not.
    expect(units(0)?.GlobalSecondaryIndexes?.['open-by-due']?.CapacityUnits).toBeGreaterThan(0);
    expect(units(1)?.GlobalSecondaryIndexes).toBeUndefined();
    expect(units(3)?.GlobalSecondaryIndexes?.['open-by-due']?.CapacityUnits).toBeGreaterThan(0);
  });

  it('stores open_shard only while the order is open and due-tracked, and nothing beyond the order fields', async () => {
    const store = new DynamoOrderStore({ client, tableName });
    const order = makeOrder();
    await store.create(order);
    const before = await raw(order.no_order);
    expect(before?.open_shard).toEqual({ S: openShardFor(order.no_order) });
    expect(Object.keys(before ?? {}).sort()).toEqual(
      [...Object.keys(order), 'open_shard', 'day_shard'].sort(),
    );
    // The by-day index key: written once, at creation, from the China day of created_at.
    expect(before?.day_shard).toEqual({
      S: dayShardFor(chinaDay(new Date(order.created_at)), order.no_order),
    });

    const accepted = await store.update(order, toAccepted(order));
    expect((await raw(order.no_order))?.open_shard).toEqual({ S: openShardFor(order.no_order) });

    await store.update(accepted, {
      status: 'SUCCESS',
      set: { result_pay: 'SUCCESS' },
      at: '2026-11-27T04:10:00.000Z',
      // As the transition function says it for a SUCCESS without the returns watch.
      leaveDueIndex: true,
    });
    const after = await raw(order.no_order);
    expect(after).not.toHaveProperty('open_shard');
    expect(after).not.toHaveProperty('next_check_at');
    expect(after?.status).toEqual({ S: 'SUCCESS' });

    const unscheduled = makeOrder({ next_check_at: undefined });
    await store.create(unscheduled);
    expect(await raw(unscheduled.no_order)).not.toHaveProperty('open_shard');
    const createdFinal = makeOrder({ status: 'REJECTED' });
    await store.create(createdFinal);
    expect(await raw(createdFinal.no_order)).not.toHaveProperty('open_shard');
  });

  it('stores approval_queue only while AWAITING_APPROVAL; the approving write removes it in the same write', async () => {
    const store = new DynamoOrderStore({ client, tableName });
    const order = makeOrder({ status: 'AWAITING_APPROVAL', created_by: 'maker' });
    await store.create(order);
    const before = await raw(order.no_order);
    expect(before?.approval_queue).toEqual({ S: 'AWAITING' });
    expect(Object.keys(before ?? {}).sort()).toEqual(
      [...Object.keys(order), 'open_shard', 'approval_queue', 'day_shard'].sort(),
    );
    await store.update(
      order,
      {
        status: 'PENDING',
        set: { approved_by: 'checker', next_check_at: '2026-11-27T04:07:00.000Z' },
        at: '2026-11-27T04:05:00.000Z',
      },
      {
        kind: 'reserve',
        day: '2026-11-27',
        amountFen: order.money_fen,
        expiresAt: 1_800_000_000,
        dailyLimitFen: 1_000_000,
      },
    );
    const after = await raw(order.no_order);
    expect(after).not.toHaveProperty('approval_queue');
    expect(after?.open_shard).toEqual({ S: openShardFor(order.no_order) });
    expect(after?.status).toEqual({ S: 'PENDING' });
    // The counter item: amount, count and the TTL attribute, nothing else.
    expect(await raw('LIMIT#2026-11-27')).toEqual({
      no_order: { S: 'LIMIT#2026-11-27' },
      amount_fen: { N: String(order.money_fen) },
      count: { N: '1' },
      expires_at: { N: '1800000000' },
    });
  });

  it('a failed condition leaves the item byte-identical', async () => {
    const store = new DynamoOrderStore({ client, tableName });
    const order = makeOrder();
    await store.create(order);
    const accepted = await store.update(order, toAccepted(order));
    const before = await raw(order.no_order);

    await expect(
      store.update(order, {
        status: 'FAILURE',
        set: { result_pay: 'FAILURE' },
        at: '2026-11-27T05:00:00.000Z',
      }),
    ).rejects.toBeInstanceOf(TransitionConflictError);
    await expect(
      store.update(
        { ...accepted, status: 'PROCESSING' },
        { status: 'SUCCESS', set: {}, at: '2026-11-27T05:00:00.000Z' },
      ),
    ).rejects.toBeInstanceOf(TransitionConflictError);
    const replay = await store.create({ ...order, money_fen: 999_999, money_order: '9999.99' });
    expect(replay).toEqual({ created: false, existing: accepted });

    const after = await raw(order.no_order);
    expect(after).toStrictEqual(before);
    expect(JSON.stringify(after, Object.keys(after ?? {}).sort())).toBe(
      JSON.stringify(before, Object.keys(before ?? {}).sort()),
    );
  });

  it('the conflict error keeps the SDK exception as its cause; other SDK errors propagate unchanged', async () => {
    const store = new DynamoOrderStore({ client, tableName });
    const order = makeOrder();
    await store.create(order);
    const conflict = await store.update({ ...order, version: 7 }, toAccepted(order)).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(TransitionConflictError);
    expect((conflict as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);

    const missingTable = new DynamoOrderStore({ client, tableName: `missing-${randomUUID()}` });
    await expect(missingTable.update(order, toAccepted(order))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(missingTable.create(order)).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('falls back to a consistent read when the endpoint does not return the old item on a failed create', async () => {
    const existing = makeOrder({ status: 'ACCEPTED', version: 2 });
    const sent: unknown[] = [];
    const fake = {
      send: async (command: unknown) => {
        sent.push(command);
        if (command instanceof PutItemCommand) {
          throw new ConditionalCheckFailedException({
            message: 'The conditional request failed',
            $metadata: {},
          });
        }
        if (command instanceof GetItemCommand) {
          expect(command.input.ConsistentRead).toBe(true);
          return {
            Item: { ...marshall(existing, { removeUndefinedValues: true }), open_shard: { S: 'OPEN#1' } },
          };
        }
        throw new Error('unexpected command');
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoOrderStore({ client: fake, tableName: 'unused' });
    const result = await store.create(makeOrder({ no_order: existing.no_order }));
    expect(result).toEqual({ created: false, existing });
    expect(sent.map((c) => (c as object).constructor.name)).toEqual(['PutItemCommand', 'GetItemCommand']);
  });
});
