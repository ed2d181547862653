/**
 * `batch_accept_ms` (issue 11): a 5,000-row CSV accepted by PUT /batches's use case against DynamoDB
 * Local, median of 3 runs (target ≤ 3,000 ms). Measures parsing, validation, sealing (one data key),
 * the taken-number check (BatchGetItem), 5,000 conditional puts and the commit — everything the request
 * does. Each run uses a fresh batch id and fresh numbers on one table, after one untimed warm-up run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ensurePayoutsTable, localDynamoClient } from '../local/dynamodb';
import { EnvelopeFieldCipher, LocalDataKeySource } from '../src/adapters/crypto/field-cipher';
import { batchGetAll } from '../src/adapters/dynamodb/batch-get';
import { DynamoBatchStore } from '../src/adapters/dynamodb/batch-store';
import { DynamoOrderStore } from '../src/adapters/dynamodb/order-store';
import { PAYOUTS_TABLE } from '../src/adapters/dynamodb/table';
import { acceptBatch, type BatchDeps, WRITE_CONCURRENCY } from '../src/core/batches';
import { systemClock } from '../src/core/ports';
import { startBenchDynamo } from './dynamo';
import { median, round } from './stats';

export interface BatchAcceptSizes {
  readonly rows: number;
  readonly runs: number;
}

export const FULL_BATCH_ACCEPT: BatchAcceptSizes = { rows: 5000, runs: 3 };
export const QUICK_BATCH_ACCEPT: BatchAcceptSizes = { rows: 500, runs: 1 };

export interface BatchAcceptResult {
  readonly rows: number;
  readonly runsMs: readonly number[];
  readonly medianMs: number;
  /**
   * What the emulator alone takes for the same rows, after the runs (JVM warm): the last run's stored
   * items copied under fresh keys, written (a) as acceptance writes them, one conditional PutItem each at
   * the same concurrency, and (b) by unconditional BatchWriteItem, 25 per request, which acceptance must
   * not use (it would overwrite a payout created by a concurrent POST under the same number).
   */
  readonly floor?: { readonly conditionalPutsMs: number; readonly batchWriteMs: number };
}

const HEADER = 'no_order,money_order,card_no,acct_name,flag_card,info_order';

/** A CSV of `rows` payouts with fake card numbers and names (quoted names, as spreadsheets write them). */
export function benchCsv(rows: number, tag: string): string {
  const lines = [HEADER];
  for (let i = 1; i <= rows; i++) {
    const card = `622202${String(i).padStart(13, '0')}`;
    lines.push(
      `${tag}${i},${(i % 997) + 1}.${String(i % 100).padStart(2, '0')},${card},"测试收款人${i % 50}",0,"bench row ${i}"`,
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function runBatchAcceptBench(
  sizes: BatchAcceptSizes,
  progress: (line: string) => void,
  endpoint?: string,
): Promise<BatchAcceptResult> {
  const dynamo = endpoint ? undefined : await startBenchDynamo();
  const client = localDynamoClient(endpoint ?? dynamo!.endpoint);
  try {
    const tableName = `bench-batch-${randomUUID()}`;
    await ensurePayoutsTable(client, tableName);
    const silent = () => undefined;
    const deps: BatchDeps = {
      store: new DynamoOrderStore({ client, tableName }),
      batches: new DynamoBatchStore({ client, tableName }),
      dispatch: { batchReady: async () => undefined },
      provider: {
        apply: async () => {
          throw new Error('acceptance never sends');
        },
        query: async () => {
          throw new Error('acceptance never queries');
        },
      },
      cipher: new EnvelopeFieldCipher(new LocalDataKeySource(randomBytes(32))),
      clock: systemClock,
      log: { debug: silent, info: silent, warn: silent, error: silent },
      metrics: { count: silent },
      config: {
        oidPartner: '201103171000000000',
        notifyUrl: 'http://127.0.0.1/notify',
        notFoundGraceMs: 1_800_000,
        firstCheckDelayMs: 120_000,
      },
    };
    // One untimed acceptance first: DynamoDB Local is a JVM, and its first thousands of requests run
    // while the JIT compiles (the first run took about twice the later ones). The service has no such
    // warm-up; the timed runs and the floor below are then all measured on the same warm emulator.
    const warmTag = `BW${randomUUID().replaceAll('-', '').slice(0, 10)}N`;
    await acceptBatch(
      deps,
      `bench-${warmTag}`,
      { kind: 'csv', text: benchCsv(sizes.rows, warmTag) },
      'bench',
    );
    progress(`batch accept warm-up: ${sizes.rows} rows (not timed)`);
    const runsMs: number[] = [];
    let lastRunTag: string | undefined;
    for (let run = 0; run < sizes.runs; run++) {
      const tag = `BA${run}${randomUUID().replaceAll('-', '').slice(0, 10)}N`;
      lastRunTag = tag;
      const csv = benchCsv(sizes.rows, tag);
      const started = performance.now();
      const result = await acceptBatch(deps, `bench-${tag}`, { kind: 'csv', text: csv }, 'bench');
      const ms = performance.now() - started;
      if (!result.created || result.view.item_count !== sizes.rows)
        throw new Error('batch not accepted whole');
      runsMs.push(round(ms, 0));
      progress(`batch accept run ${run + 1}/${sizes.runs}: ${sizes.rows} rows in ${round(ms, 0)} ms`);
    }
    const lastTag = lastRunTag;
    const floor = lastTag ? await emulatorFloor(client, tableName, lastTag, sizes.rows, progress) : undefined;
    return { rows: sizes.rows, runsMs, medianMs: round(median(runsMs), 0), ...(floor ? { floor } : {}) };
  } finally {
    client.destroy();
    await dynamo?.stop();
  }
}

async function emulatorFloor(
  client: DynamoDBClient,
  tableName: string,
  tag: string,
  rows: number,
  progress: (line: string) => void,
): Promise<{ conditionalPutsMs: number; batchWriteMs: number }> {
  const pk = PAYOUTS_TABLE.partitionKey;
  const items = await batchGetAll({
    client,
    tableName,
    keys: Array.from({ length: rows }, (_, k) => `${tag}${k + 1}`),
    attempts: 10,
    backoffMs: { base: 20, max: 500 },
    storeError: (error) => error,
    unprocessed: (count) => new Error(`floor: ${count} keys left unprocessed`),
  });
  if (items.length !== rows) throw new Error(`floor: read ${items.length} of ${rows} items back`);
  const copy = (item: Record<string, AttributeValue>, prefix: string) => ({
    ...item,
    [pk]: { S: `${prefix}${item[pk]?.S ?? ''}` },
    batch_id: { S: `${prefix}${tag}` },
  });

  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITE_CONCURRENCY }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: copy(items[i]!, 'FP'),
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': pk },
          }),
        );
      }
    }),
  );
  const conditionalPutsMs = round(performance.now() - started, 0);

  const chunks: Record<string, AttributeValue>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25).map((it) => copy(it, 'FB')));
  let nextChunk = 0;
  const startedBatch = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let c = nextChunk++; c < chunks.length; c = nextChunk++) {
        let request = chunks[c]!.map((Item) => ({ PutRequest: { Item } }));
        while (request.length > 0) {
          const out = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: request } }),
          );
          request = (out.UnprocessedItems?.[tableName] ?? []) as typeof request;
        }
      }
    }),
  );
  const batchWriteMs = round(performance.now() - startedBatch, 0);
  progress(
    `batch accept floor: ${rows} conditional puts ${conditionalPutsMs} ms, unconditional BatchWriteItem ${batchWriteMs} ms`,
  );
  return { conditionalPutsMs, batchWriteMs };
}
