import { BatchGetItemCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoCloseReader } from '../../../../src/adapters/dynamodb/close-reader';
import { DependencyError } from '../../../../src/core/errors';

const ddb = mockClient(DynamoDBClient);
const client = new DynamoDBClient({
  region: 'cn-north-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
});
const TABLE = 'payouts-test';
const order = (no: string) =>
  marshall({
    no_order: no,
    status: 'SUCCESS',
    money_fen: 100,
    money_order: '1.00',
    created_at: '2026-11-27T04:00:00.000Z',
    updated_at: '2026-11-27T04:00:00.000Z',
    anomalies: 0,
  });
const key = (no: string) => ({ no_order: { S: no } });

beforeEach(() => ddb.reset());

describe('DynamoCloseReader', () => {
  it('queries the late-by-day partition, then BatchGets eventually consistent with the projection, retrying UnprocessedKeys', async () => {
    ddb.on(QueryCommand).resolves({ Items: [key('A'), key('B'), key('LIMIT#2026-11-27')] });
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [order('A')] },
        UnprocessedKeys: { [TABLE]: { Keys: [key('B')] } },
      })
      .resolvesOnce({ Responses: { [TABLE]: [order('B')] } });

    const orders = await new DynamoCloseReader({ client, tableName: TABLE }).lateOn('2026-11-27');
    expect(orders.map((o) => o.no_order).sort()).toEqual(['A', 'B']);

    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      IndexName: 'late-by-day',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'late_day' },
      ExpressionAttributeValues: { ':pk': { S: '2026-11-27' } },
      ExclusiveStartKey: undefined,
    });
    const gets = ddb.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input);
    expect(gets).toHaveLength(2);
    // Counter keys (not orders) are never fetched.
    expect(gets[0]!.RequestItems?.[TABLE]).toMatchObject({
      Keys: [key('A'), key('B')],
      ConsistentRead: false,
    });
    expect(gets[0]!.RequestItems?.[TABLE]?.ProjectionExpression).toBe(
      '#a0, #a1, #a2, #a3, #a4, #a5, #a6, #a7, #a8, #a9',
    );
    expect(Object.values(gets[0]!.RequestItems?.[TABLE]?.ExpressionAttributeNames ?? {})).toEqual([
      'no_order',
      'status',
      'money_fen',
      'money_order',
      'created_at',
      'updated_at',
      'anomalies',
      'late_day',
      'history',
      'batch_id',
    ]);
    expect(gets[1]!.RequestItems?.[TABLE]?.Keys).toEqual([key('B')]);
  });

  it('queries all 4 by-day shards of the day and reads in chunks of 100', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => `N${i}`);
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: { ':pk': { S: string } } }) => {
      const shard = Number(input.ExpressionAttributeValues[':pk'].S.split('#')[1]);
      return { Items: keys.filter((_, i) => i % 4 === shard).map(key) };
    });
    ddb.on(BatchGetItemCommand).callsFake((input: { RequestItems: Record<string, { Keys: unknown[] }> }) => ({
      Responses: {
        [TABLE]: input.RequestItems[TABLE]!.Keys.map((k) =>
          order((k as { no_order: { S: string } }).no_order.S),
        ),
      },
    }));
    const orders = await new DynamoCloseReader({ client, tableName: TABLE, concurrency: 2 }).createdOn(
      '2026-11-27',
    );
    expect(orders).toHaveLength(250);
    const shards = ddb
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':pk']?.S);
    expect(shards.sort()).toEqual(['2026-11-27#0', '2026-11-27#1', '2026-11-27#2', '2026-11-27#3']);
    expect(
      ddb.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input.RequestItems?.[TABLE]?.Keys?.length),
    ).toEqual([100, 100, 50]);
  });

  it('gives up on keys that stay unprocessed with a DependencyError (the close is retried, never partial)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [key('A')] });
    ddb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [key('A')] } } });
    const reader = new DynamoCloseReader({ client, tableName: TABLE, backoffMs: { base: 1, max: 2 } });
    await expect(reader.lateOn('2026-11-27')).rejects.toBeInstanceOf(DependencyError);
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(12);
  });
});
