import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput,
  type ConsumedCapacity,
  DeleteTableCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensurePayoutsTable, localDynamoClient } from '../../local/dynamodb';
import { type BatchGetAllRequest, batchGetAll } from '../../src/adapters/dynamodb/batch-get';
import { DependencyError } from '../../src/core/errors';

/**
 * The one BatchGetItem loop of the DynamoDB adapters against DynamoDB Local: chunks of 100, missing keys
 * left out, duplicates read once, UnprocessedKeys asked again, and the caller's error classification.
 */

let client: DynamoDBClient;
let tableName: string;
const STORED = Array.from({ length: 230 }, (_, i) => `BG${String(i).padStart(4, '0')}`);
const MISSING = Array.from({ length: 20 }, (_, i) => `BGMISSING${i}`);

beforeAll(async () => {
  client = localDynamoClient(inject('dynamoEndpoint'));
  tableName = `batch-get-${randomUUID()}`;
  await ensurePayoutsTable(client, tableName);
  for (let i = 0; i < STORED.length; i += 25) {
    await Promise.all(
      STORED.slice(i, i + 25).map((no, j) =>
        client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              no_order: { S: no },
              status: { S: 'SUCCESS' },
              money_fen: { N: String(i + j + 1) },
              memo: { S: 'not projected' },
            },
          }),
        ),
      ),
    );
  }
});

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
});

/**
 * The real client, except that the first request (or every one, `always`) gets its first `hold` keys
 * back as UnprocessedKeys instead of read; every request's input is recorded.
 */
function holdingBack(hold: number, always = false) {
  const calls: BatchGetItemCommandInput[] = [];
  let held = false;
  const send = async (command: BatchGetItemCommand): Promise<BatchGetItemCommandOutput> => {
    calls.push(structuredClone(command.input));
    if (held && !always) return client.send(command);
    held = true;
    const items = command.input.RequestItems ?? {};
    const [table] = Object.keys(items);
    const request = items[table!]!;
    const keys = request.Keys ?? [];
    const rest = keys.slice(hold);
    const out =
      rest.length > 0
        ? await client.send(
            new BatchGetItemCommand({
              ...command.input,
              RequestItems: { [table!]: { ...request, Keys: rest } },
            }),
          )
        : ({ $metadata: {}, Responses: { [table!]: [] } } as BatchGetItemCommandOutput);
    return { ...out, UnprocessedKeys: { [table!]: { ...request, Keys: keys.slice(0, hold) } } };
  };
  return { client: { send } as unknown as DynamoDBClient, calls };
}

const keysOf = (input: BatchGetItemCommandInput) =>
  (input.RequestItems?.[tableName]?.Keys ?? []).map((k) => k.no_order?.S);

function request(overrides: Partial<BatchGetAllRequest>): BatchGetAllRequest {
  return {
    client,
    tableName,
    keys: [],
    attempts: 4,
    backoffMs: { base: 1, max: 4 },
    storeError: (error) => error,
    unprocessed: (count) => new DependencyError(`${count} keys left unprocessed`),
    ...overrides,
  };
}

describe('batchGetAll', () => {
  it('reads more than 100 keys in chunks of 100, leaves missing keys out, reads a duplicate once and asks again for unprocessed keys', async () => {
    const flaky = holdingBack(30);
    const asked = [...STORED, ...MISSING, ...STORED.slice(0, 10)];
    const items = await batchGetAll(
      request({
        client: flaky.client,
        keys: asked,
        attributes: ['no_order', 'money_fen'],
        consistentRead: true,
        concurrency: 2,
      }),
    );

    const read = items.map((item) => unmarshall(item));
    expect(read.map((r) => r.no_order).sort()).toEqual(STORED);
    // The projection: no other attribute comes back.
    expect(read.every((r) => Object.keys(r).sort().join() === 'money_fen,no_order')).toBe(true);
    expect(read.find((r) => r.no_order === 'BG0229')?.money_fen).toBe(230);

    // 250 distinct keys: 100 + 100 + 50, and one more request for the 30 held back, nothing else.
    const sizes = flaky.calls.map((c) => keysOf(c).length);
    expect(sizes.sort((a, b) => a - b)).toEqual([30, 50, 100, 100]);
    const first = flaky.calls[0]!;
    const retry = flaky.calls.find((c) => keysOf(c).length === 30)!;
    expect(keysOf(retry)).toEqual(keysOf(first).slice(0, 30));
    for (const call of flaky.calls) {
      expect(call.RequestItems?.[tableName]).toMatchObject({
        ConsistentRead: true,
        ProjectionExpression: '#a0, #a1',
        ExpressionAttributeNames: { '#a0': 'no_order', '#a1': 'money_fen' },
      });
      expect(call.ReturnConsumedCapacity).toBeUndefined();
    }
  });

  it('reports the consumed capacity of every request, retries included, when asked', async () => {
    const flaky = holdingBack(5);
    const reports: ConsumedCapacity[][] = [];
    const items = await batchGetAll(
      request({
        client: flaky.client,
        keys: STORED.slice(0, 120),
        capacity: { level: 'TOTAL', report: (c) => reports.push(c) },
      }),
    );
    expect(items).toHaveLength(120);
    expect(flaky.calls).toHaveLength(3);
    expect(flaky.calls.every((c) => c.ReturnConsumedCapacity === 'TOTAL')).toBe(true);
    expect(flaky.calls.every((c) => c.RequestItems?.[tableName]?.ConsistentRead === false)).toBe(true);
    expect(reports).toHaveLength(3);
    for (const report of reports) {
      expect(report).toHaveLength(1);
      expect(report[0]!.TableName).toBe(tableName);
      expect(report[0]!.CapacityUnits).toBeGreaterThan(0);
    }
  });

  it("throws the caller's error when keys stay unprocessed after the attempts, never a partial answer", async () => {
    const stuck = holdingBack(3, true);
    await expect(
      batchGetAll(request({ client: stuck.client, keys: STORED.slice(0, 10), attempts: 3 })),
    ).rejects.toThrow(new DependencyError('3 keys left unprocessed'));
    expect(stuck.calls.map(keysOf)).toEqual([STORED.slice(0, 10), STORED.slice(0, 3), STORED.slice(0, 3)]);
  });

  it("throws what the caller's classification makes of a failed request", async () => {
    const failed = await batchGetAll(
      request({
        tableName: `no-such-table-${randomUUID()}`,
        keys: ['BG0001'],
        storeError: (error) => new DependencyError('classified', { cause: error }),
      }),
    ).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(DependencyError);
    expect((failed as Error).message).toBe('classified');
    expect(((failed as Error).cause as Error).name).toBe('ResourceNotFoundException');
  });

  it('sends nothing for no keys', async () => {
    const flaky = holdingBack(0);
    expect(await batchGetAll(request({ client: flaky.client, keys: [] }))).toEqual([]);
    expect(flaky.calls).toHaveLength(0);
  });
});
