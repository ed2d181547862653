/**
 * `batch_accept_ms` (issue 11): a 5,000-row CSV accepted by PUT /batches's use case against DynamoDB
 * Local, median of 3 runs (target ≤ 3,000 ms). Measures parsing, validation, sealing (one data key),
 * the taken-number check (BatchGetItem), 5,000 conditional puts and the commit — everything the request
 * does. Each run uses a fresh batch id and fresh numbers on one table.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ensurePayoutsTable, localDynamoClient } from '../local/dynamodb';
import { EnvelopeFieldCipher, LocalDataKeySource } from '../src/adapters/crypto/field-cipher';
import { DynamoBatchStore } from '../src/adapters/dynamodb/batch-store';
import { DynamoOrderStore } from '../src/adapters/dynamodb/order-store';
import { acceptBatch, type BatchDeps } from '../src/core/batches';
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
    const runsMs: number[] = [];
    for (let run = 0; run < sizes.runs; run++) {
      const tag = `BA${run}${randomUUID().replaceAll('-', '').slice(0, 10)}N`;
      const csv = benchCsv(sizes.rows, tag);
      const started = performance.now();
      const result = await acceptBatch(deps, `bench-${tag}`, { kind: 'csv', text: csv }, 'bench');
      const ms = performance.now() - started;
      if (!result.created || result.view.item_count !== sizes.rows)
        throw new Error('batch not accepted whole');
      runsMs.push(round(ms, 0));
      progress(`batch accept run ${run + 1}/${sizes.runs}: ${sizes.rows} rows in ${round(ms, 0)} ms`);
    }
    return { rows: sizes.rows, runsMs, medianMs: round(median(runsMs), 0) };
  } finally {
    client.destroy();
    await dynamo?.stop();
  }
}
