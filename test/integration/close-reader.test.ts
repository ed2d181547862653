import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { balanceKey, DynamoCloseReader } from '../../src/adapters/dynamodb/close-reader';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { allDayShards, dayShardFor } from '../../src/adapters/dynamodb/table';
import { closeDay } from '../../src/core/close';
import type { PayoutEvent } from '../../src/core/events';
import {
  ACCEPTED_INPUT,
  AFTER_D,
  advance,
  DAY,
  DAY_BEFORE,
  MemoryReportStore,
  ON_D,
  orderAt,
  seedCloseScenario,
} from '../support/close-fixtures';
import { useLocalTables } from '../support/local-tables';

let client: DynamoDBClient;
const local = useLocalTables();

function freshTable(): Promise<string> {
  return local.freshTable('close');
}

beforeAll(() => {
  client = local.client();
});

function closeDeps(tableName: string, capacity?: (units: number) => void) {
  const reader = new DynamoCloseReader({
    client,
    tableName,
    ...(capacity ? { onConsumedCapacity: (c) => capacity(c.CapacityUnits ?? 0) } : {}),
  });
  const published: PayoutEvent[] = [];
  return {
    reader,
    reports: new MemoryReportStore(),
    published,
    events: {
      publish: async (events: readonly PayoutEvent[]) => {
        published.push(...events);
        return { failed: [] };
      },
    },
    clock: { now: () => new Date(AFTER_D) },
  };
}

describe('the close against DynamoDB Local', () => {
  it('reads D through by-day, late-by-day and open-by-due as the memory version does', async () => {
    const tableName = await freshTable();
    const store = new DynamoOrderStore({ client, tableName });
    const ids = await seedCloseScenario(store);
    let units = 0;
    const deps = closeDeps(tableName, (u) => {
      units += u;
    });
    const { statement: s } = await closeDay(deps, DAY);

    expect(s.created.by_status).toEqual({
      ACCEPTED: { count: 1, amount: '3.00' },
      SUCCESS: { count: 2, amount: '13.34' },
      FAILURE: { count: 1, amount: '5.00' },
    });
    // The return of D-1's payout (through late-by-day) and the late SUCCESS.
    expect(s.returns.items.map((r) => r.no_order)).toEqual([ids.returned]);
    expect(s.late_results.items.map((r) => [r.no_order, r.status])).toEqual([[ids.lateSuccess, 'SUCCESS']]);
    expect(s.open.items.map((r) => r.no_order)).toEqual([ids.open]);
    expect(s.anomalies.items.map((r) => r.no_order)).toEqual([ids.anomalous]);
    expect(s.balance.paid_out).toEqual({ count: 3, amount: '20.34' });
    expect(s.balance.unexplained).toBe('unknown');
    expect(units).toBeGreaterThan(0);
    expect(deps.published).toHaveLength(1);
  });

  it('finds every payout of a day spread over all 4 shards, more than one BatchGetItem of them', async () => {
    const tableName = await freshTable();
    const store = new DynamoOrderStore({ client, tableName });
    const shards = new Map<string, number>();
    let fen = 0;
    const orders = Array.from({ length: 230 }, (_, i) => orderAt(ON_D, 100 + i, 'S'));
    for (let i = 0; i < orders.length; i += 23) {
      await Promise.all(orders.slice(i, i + 23).map((o) => store.create(o)));
    }
    for (const o of orders) {
      const shard = dayShardFor(DAY, o.no_order);
      shards.set(shard, (shards.get(shard) ?? 0) + 1);
      fen += o.money_fen;
    }
    // The fixture really covers every shard of the day.
    expect([...shards.keys()].sort()).toEqual(allDayShards(DAY));
    // One of them on the day before, which D's close must not count.
    const before = orderAt('2026-11-26T15:59:59.999Z', 999, 'B');
    await store.create(before);

    const { statement: s } = await closeDay(closeDeps(tableName), DAY);
    expect(s.created.count).toBe(230);
    expect(s.created.by_status).toEqual({
      PENDING: { count: 230, amount: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}` },
    });
    expect(s.open.count).toBe(231);
  });

  it('finds a late result through late-by-day, and reads the balance records of D-1 and D', async () => {
    const tableName = await freshTable();
    const store = new DynamoOrderStore({ client, tableName });
    const late = orderAt('2026-11-25T04:00:00.000Z', 4200, 'L');
    await store.create(late);
    await advance(store, late.no_order, ACCEPTED_INPUT, '2026-11-25T04:00:01.000Z');
    // FAILURE two days later: a late result of D (late_day = D).
    await advance(
      store,
      late.no_order,
      {
        type: 'result',
        source: 'reconcile',
        resultPay: 'FAILURE',
        moneyFen: 4200,
        oidPaybill: '1',
        settleDate: '20261127',
      },
      '2026-11-27T02:00:00.000Z',
    );
    const put = (day: string, item: Record<string, unknown>) =>
      client.send(
        new PutItemCommand({ TableName: tableName, Item: marshall({ no_order: balanceKey(day), ...item }) }),
      );
    await put(DAY_BEFORE, {
      first_fen: 1_000_000,
      first_at: '2026-11-25T16:05:00.000Z',
      last_fen: 900_000,
      last_at: '2026-11-26T15:58:00.000Z',
    });
    await put(DAY, {
      first_fen: 880_000,
      first_at: '2026-11-26T16:05:00.000Z',
      last_fen: 950_000,
      last_at: '2026-11-27T15:58:00.000Z',
    });

    const { statement: s } = await closeDay(closeDeps(tableName), DAY);
    expect(s.created.count).toBe(0);
    expect(s.late_results.items).toEqual([
      {
        no_order: late.no_order,
        status: 'FAILURE',
        created_at: '2026-11-25T04:00:00.000Z',
        money_order: '42.00',
        at: '2026-11-27T02:00:00.000Z',
      },
    ]);
    expect(s.balance.start).toEqual({
      amount: '9000.00',
      at: '2026-11-26T15:58:00.000Z',
      source: 'previous_day_last',
    });
    expect(s.balance.end).toEqual({ amount: '9500.00', at: '2026-11-27T15:58:00.000Z', source: 'day_last' });
    // Nothing paid or returned on D: all 500.00 is unexplained (a top-up).
    expect(s.balance.unexplained).toBe('500.00');
  });

  it('says unknown for a balance record it cannot read, never 0', async () => {
    const tableName = await freshTable();
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ no_order: balanceKey(DAY), last_fen: 'lots', last_at: ON_D }),
      }),
    );
    const { statement: s } = await closeDay(closeDeps(tableName), DAY);
    expect(s.balance.end).toBe('unknown');
    expect(s.balance.unexplained).toBe('unknown');
  });
});
