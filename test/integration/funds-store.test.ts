import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensurePayoutsTable, localDynamoClient } from '../../local/dynamodb';
import { DynamoFundsStore, FUNDS_LOW_KEY } from '../../src/adapters/dynamodb/funds-store';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import type { PayoutOrder } from '../../src/core/model';
import { makeOrder } from '../support/order-fixtures';

/**
 * The funds items and the waiting queue against DynamoDB Local (issue 13): the FUNDS partition of the
 * awaiting-approval index lists AWAITING_FUNDS orders oldest first and nothing else; the check claim,
 * the daily readings and the low state are conditional writes.
 */

let client: DynamoDBClient;
let tableName: string;
let orders: DynamoOrderStore;
let funds: DynamoFundsStore;

beforeAll(async () => {
  client = localDynamoClient(inject('dynamoEndpoint'));
  tableName = `funds-${randomUUID()}`;
  await ensurePayoutsTable(client, tableName);
  orders = new DynamoOrderStore({ client, tableName });
  funds = new DynamoFundsStore({ client, tableName, queue: orders });
});

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
});

/** An order created PENDING, then refused with 9104 through the store (as the transition writes it). */
async function awaitingFunds(createdAt: string, money = 1000): Promise<PayoutOrder> {
  const order = makeOrder({ created_at: createdAt, updated_at: createdAt, money_fen: money });
  await orders.create(order);
  return orders.update(order, {
    status: 'AWAITING_FUNDS',
    set: {
      ret_code: '9104',
      refused_applies: 1,
      funds_since: createdAt,
      next_check_at: '2026-11-28T04:00:00.000Z',
    },
    at: createdAt,
  });
}

describe('the waiting queue (listAwaitingFunds)', () => {
  it('lists AWAITING_FUNDS orders oldest first, paged, and drops them once they move on', async () => {
    const c = await awaitingFunds('2026-11-27T04:00:03.000Z');
    const a = await awaitingFunds('2026-11-27T04:00:01.000Z');
    const b = await awaitingFunds('2026-11-27T04:00:02.000Z');
    // Neither an approval nor a plain PENDING order is in the funds queue.
    await orders.create(
      makeOrder({ status: 'AWAITING_APPROVAL', next_check_at: '2026-11-30T04:00:00.000Z' }),
    );
    await orders.create(makeOrder());

    const first = await funds.listAwaitingFunds({ limit: 2 });
    expect(first.items.map((r) => r.no_order)).toEqual([a.no_order, b.no_order]);
    expect(first.cursor).toBeDefined();
    const second = await funds.listAwaitingFunds({ limit: 2, cursor: first.cursor });
    expect(second.items.map((r) => r.no_order)).toEqual([c.no_order]);
    expect((await orders.listAwaitingApproval({ limit: 10 })).items).toHaveLength(1);

    // Claimed for a resend: it leaves the queue.
    await orders.update(a, { status: 'PENDING', set: { apply_attempts: 2 }, at: '2026-11-27T05:00:00.000Z' });
    const after = await funds.listAwaitingFunds({ limit: 10 });
    expect(after.items.map((r) => r.no_order)).toEqual([b.no_order, c.no_order]);

    // Status and amount in batches (more than one BatchGetItem's 100 keys would be split the same way).
    const amounts = await funds.amountsOf([a.no_order, b.no_order, 'NOSUCHORDER']);
    expect(amounts.sort((x, y) => x.no_order.localeCompare(y.no_order))).toEqual(
      [
        { no_order: a.no_order, status: 'PENDING', money_fen: 1000 },
        { no_order: b.no_order, status: 'AWAITING_FUNDS', money_fen: 1000 },
      ].sort((x, y) => x.no_order.localeCompare(y.no_order)),
    );
  });
});

describe('funds items', () => {
  it('claims a balance check at most once per interval', async () => {
    expect(await funds.claimBalanceCheck('2026-11-27T04:00:00.000Z', 300_000)).toBe(true);
    expect(await funds.claimBalanceCheck('2026-11-27T04:04:59.000Z', 300_000)).toBe(false);
    expect(await funds.claimBalanceCheck('2026-11-27T04:05:00.000Z', 300_000)).toBe(true);
  });

  it('keeps the first reading of a day and the latest, never an older one over a newer', async () => {
    const day = '2026-11-27';
    await funds.recordBalance({ day, balanceFen: 500, at: '2026-11-27T01:00:00.000Z' });
    await funds.recordBalance({ day, balanceFen: 300, at: '2026-11-27T03:00:00.000Z' });
    await funds.recordBalance({ day, balanceFen: 400, at: '2026-11-27T02:00:00.000Z' });
    expect(await funds.readBalanceDay(day)).toEqual({
      day,
      first_fen: 500,
      first_at: '2026-11-27T01:00:00.000Z',
      last_fen: 300,
      last_at: '2026-11-27T03:00:00.000Z',
    });
    expect(await funds.readBalanceDay('2026-11-26')).toEqual({ day: '2026-11-26' });
  });

  it('moves the low state only across a crossing: two concurrent runs, one winner', async () => {
    const figures = { balanceFen: 1, waitingFen: 100 };
    const wins = await Promise.all([
      funds.setFundsLow(true, '2026-11-27T04:00:00.000Z', figures),
      funds.setFundsLow(true, '2026-11-27T04:00:00.001Z', figures),
    ]);
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await funds.setFundsLow(true, '2026-11-27T04:05:00.000Z', figures)).toBe(false);
    expect(
      await funds.setFundsLow(false, '2026-11-27T04:10:00.000Z', { balanceFen: 500, waitingFen: 0 }),
    ).toBe(true);
    expect(
      await funds.setFundsLow(false, '2026-11-27T04:15:00.000Z', { balanceFen: 500, waitingFen: 0 }),
    ).toBe(false);
    const item = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { no_order: { S: FUNDS_LOW_KEY } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.low?.BOOL).toBe(false);
  });
});
