import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ensurePayoutsTable, localDynamoClient } from '../local/dynamodb';
import { LocalReportStore } from '../local/report-store';
import { DynamoCloseReader } from '../src/adapters/dynamodb/close-reader';
import { dayShardFor, openShardFor, PAYOUTS_TABLE } from '../src/adapters/dynamodb/table';
import { closeDay } from '../src/core/close';
import { chinaDayStart, DAY_MS } from '../src/core/days';
import type { HistoryEntry, PayoutOrder } from '../src/core/model';
import type { PayoutStatus } from '../src/core/status';
import { startBenchDynamo } from './dynamo';

/**
 * `close_seconds_100k`: the daily close of a China day with 100,000 payouts against DynamoDB Local (target
 * ≤ 60 s), with the read units it consumed (ReturnConsumedCapacity TOTAL on every Query, BatchGetItem and
 * GetItem). The day is seeded directly with BatchWriteItem (25 items a request, 16 in flight) of items
 * shaped like real orders — history, sealed payee, index attributes — not through the API: seeding is
 * setup, not what is measured.
 */

export interface CloseBenchSize {
  readonly payouts: number;
}

export const FULL_CLOSE: CloseBenchSize = { payouts: 100_000 };
export const QUICK_CLOSE: CloseBenchSize = { payouts: 2_000 };

const DAY = '2026-11-27';
const BATCH = 25;
const WRITERS = 16;

export interface CloseBenchResult {
  readonly keys: { readonly close_seconds_100k: number; readonly close_read_units_100k: number };
  readonly details: {
    readonly payouts: number;
    readonly late: number;
    readonly seed_seconds: number;
    readonly close_seconds: number;
    readonly read_units: number;
    readonly created_count: number;
    readonly open_count: number;
  };
}

/** The mix of a payday: mostly paid, some failed or returned, a few still at the bank. */
function statusOf(i: number): PayoutStatus {
  const r = i % 100;
  if (r < 88) return 'SUCCESS';
  if (r < 94) return 'FAILURE';
  if (r < 96) return 'CANCEL';
  if (r < 98) return 'PROCESSING';
  return 'REJECTED';
}

function benchOrder(
  i: number,
  createdAt: Date,
  status: PayoutStatus,
  lateDay?: string,
): Record<string, unknown> {
  const noOrder = `BENCH${String(i).padStart(9, '0')}${lateDay ? 'L' : 'D'}`;
  const fen = 100 + ((i * 7919) % 5_000_000);
  const at = (ms: number) => new Date(createdAt.getTime() + ms).toISOString();
  const history: HistoryEntry[] = [
    { at: at(800), source: 'apply', from: 'PENDING', to: 'ACCEPTED', ret_code: '0000' },
  ];
  if (status !== 'PROCESSING' && status !== 'REJECTED') {
    history.push({
      at: at(60_000),
      source: 'notify',
      from: 'ACCEPTED',
      to: 'PROCESSING',
      result_pay: 'PROCESSING',
    });
    const final = status === 'CANCEL' ? 'SUCCESS' : status;
    history.push({ at: at(120_000), source: 'notify', from: 'PROCESSING', to: final, result_pay: final });
    if (status === 'CANCEL') {
      history.push({
        at: at(lateDay ? DAY_MS : 3_600_000),
        source: 'notify',
        from: 'SUCCESS',
        to: 'CANCEL',
        result_pay: 'CANCEL',
      });
    }
  }
  const created = createdAt.toISOString();
  const order: PayoutOrder = {
    no_order: noOrder,
    status,
    version: history.length + 1,
    money_fen: fen,
    money_order: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`,
    flag_card: '0',
    info_order: `salary ${i}`,
    dt_order: '20261127120000',
    // A sealed payee of realistic size (envelope: data key ciphertext + IV + tag + card and name).
    payee_sealed: 'v1.'.padEnd(360, 'A'),
    card_no_masked: '622200******0000',
    acct_name_masked: '测*',
    request_digest: 'd'.repeat(64),
    oid_paybill: `2026112700${String(i).padStart(8, '0')}`,
    created_at: created,
    updated_at: history.at(-1)?.at ?? created,
    applied_at: created,
    apply_attempts: 1,
    check_count: 0,
    anomalies: i % 5_000 === 0 ? 1 : 0,
    history,
    created_by: 'arn:aws:iam::111122223333:user/payroll',
    ...(status === 'PROCESSING' ? { next_check_at: at(300_000) } : {}),
    ...(lateDay ? { late_day: lateDay } : {}),
  };
  return {
    ...order,
    [PAYOUTS_TABLE.byDayIndex.partitionKey]: dayShardFor(lateDay ? '2026-11-26' : DAY, noOrder),
    ...(status === 'PROCESSING' ? { [PAYOUTS_TABLE.openIndex.partitionKey]: openShardFor(noOrder) } : {}),
  };
}

async function seed(
  client: DynamoDBClient,
  tableName: string,
  items: Record<string, unknown>[],
): Promise<void> {
  let next = 0;
  const writer = async () => {
    while (next < items.length) {
      const start = next;
      next += BATCH;
      let requests = items
        .slice(start, start + BATCH)
        .map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 20 * 2 ** attempt)));
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        requests = (out.UnprocessedItems?.[tableName] ?? []) as {
          PutRequest: { Item: Record<string, AttributeValue> };
        }[];
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

export async function runCloseBench(
  size: CloseBenchSize,
  log: (line: string) => void,
): Promise<CloseBenchResult> {
  const dynamo = await startBenchDynamo();
  const client = localDynamoClient(dynamo.endpoint);
  const dir = await mkdtemp(join(tmpdir(), 'bench-close-'));
  try {
    const tableName = 'bench-close';
    await ensurePayoutsTable(client, tableName);
    const dayStart = chinaDayStart(DAY).getTime();
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < size.payouts; i++) {
      // Spread over the day, busiest in the morning run.
      items.push(
        benchOrder(
          i,
          new Date(dayStart + Math.floor((i / size.payouts) * (DAY_MS - 3 * 3_600_000))),
          statusOf(i),
        ),
      );
    }
    // Late results of the day before: 1% of the day's volume (returns and late successes).
    const late = Math.max(1, Math.floor(size.payouts / 100));
    for (let i = 0; i < late; i++) {
      items.push(benchOrder(i, new Date(dayStart - 6 * 3_600_000), i % 2 === 0 ? 'CANCEL' : 'SUCCESS', DAY));
    }
    const seedStarted = performance.now();
    await seed(client, tableName, items);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    log(`close: seeded ${items.length} orders in ${seedSeconds.toFixed(1)} s`);

    let readUnits = 0;
    const started = performance.now();
    const result = await closeDay(
      {
        reader: new DynamoCloseReader({
          client,
          tableName,
          onConsumedCapacity: (c) => {
            readUnits += c.CapacityUnits ?? c.ReadCapacityUnits ?? 0;
          },
        }),
        reports: new LocalReportStore({ dir }),
        events: { publish: async () => ({ failed: [] }) },
        clock: { now: () => new Date(dayStart + DAY_MS + 30 * 60_000) },
      },
      DAY,
    );
    const closeSeconds = (performance.now() - started) / 1000;
    log(
      `close: ${result.statement.created.count} created, ${result.statement.open.count} open, ${closeSeconds.toFixed(1)} s, ${readUnits.toFixed(1)} read units`,
    );
    if (result.statement.created.count !== size.payouts) {
      throw new Error(`the close counted ${result.statement.created.count} payouts of ${size.payouts}`);
    }
    return {
      keys: {
        close_seconds_100k: Math.round(closeSeconds * 10) / 10,
        close_read_units_100k: Math.round(readUnits),
      },
      details: {
        payouts: size.payouts,
        late,
        seed_seconds: Math.round(seedSeconds * 10) / 10,
        close_seconds: Math.round(closeSeconds * 1000) / 1000,
        read_units: Math.round(readUnits * 10) / 10,
        created_count: result.statement.created.count,
        open_count: result.statement.open.count,
      },
    };
  } finally {
    client.destroy();
    await dynamo.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `npx tsx bench/close.ts [payouts]`: this benchmark alone (a smoke with a small number). */
if (process.argv[1]?.endsWith('bench/close.ts')) {
  const payouts = Number(process.argv[2] ?? QUICK_CLOSE.payouts);
  runCloseBench({ payouts }, (line) => process.stdout.write(`${line}\n`)).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
