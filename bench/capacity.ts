import { type ConsumedCapacity, DeleteTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../local/dynamodb';
import type { OrderStoreOperation } from '../src/adapters/dynamodb/order-store';
import { PAYOUTS_TABLE } from '../src/adapters/dynamodb/table';
import { startMeteredStack } from './dynamo';

import { itemSizeBytes, strongReadUnitsFor, writeUnitsFor } from './item-size';
import { percentile, round } from './stats';

/**
 * DynamoDB capacity per payout, from apply to SUCCESS, as DynamoDB Local reports it with
 * ReturnConsumedCapacity=INDEXES (DynamoOrderStore's onConsumedCapacity hook). The payouts go the whole
 * way: POST /payouts over the local front → the apply handler → the sandbox over HTTP → the sandbox
 * processes and notifies → the notify handler. Nothing else touches the tallying store while it runs:
 * completion is read from the sandbox (delivered notifications), final states with a separate client.
 *
 * The same run times the round trips that the cost model needs (local I/O on loopback).
 */

interface Tally {
  calls: number;
  total: number;
  table: number;
  indexes: number;
}

export interface CapacityResult {
  readonly payouts: number;
  readonly wruPerPayout: number;
  readonly rruPerPayout: number;
  readonly byOperation: Record<string, { calls: number; capacity: number; table: number; indexes: number }>;
  /** Billing size of a finished order (DynamoDB item-size rules) and what one write/read of it costs. */
  readonly itemBytes: { min: number; max: number; mean: number };
  readonly itemUnits: { write: number; strongRead: number };
  readonly applyRoundTripMs: { p50: number; p99: number };
  /** The sandbox's measured notification attempt (POST → our 0000), all attempts. */
  readonly notifyRoundTripMs: { p50: number; p99: number };
  readonly notificationsPerPayout: number;
  readonly elapsedSeconds: number;
}

export async function capacityBench(
  dynamoEndpoint: string,
  payouts: number,
  concurrency: number,
  progress: (line: string) => void,
  /** Extra configuration (the spending controls for `wru_per_payout_with_controls`). */
  env: Record<string, string> = {},
): Promise<CapacityResult> {
  const tallies = new Map<OrderStoreOperation, Tally>();
  const onConsumedCapacity = (operation: OrderStoreOperation, capacity: ConsumedCapacity[]) => {
    const t = tallies.get(operation) ?? { calls: 0, total: 0, table: 0, indexes: 0 };
    t.calls += 1;
    for (const c of capacity) {
      t.total += c.CapacityUnits ?? 0;
      t.table += c.Table?.CapacityUnits ?? 0;
      for (const index of Object.values(c.GlobalSecondaryIndexes ?? {}))
        t.indexes += index.CapacityUnits ?? 0;
    }
    tallies.set(operation, t);
  };
  const tableName = `bench-capacity-${Date.now()}`;
  const stack = await startMeteredStack({
    dynamoEndpoint,
    tableName,
    sandbox: { stepMs: 20, notifyIntervalMs: 300 },
    onConsumedCapacity,
    env,
  });
  const sandbox = stack.sandbox!;
  const raw = localDynamoClient(dynamoEndpoint);
  const started = Date.now();
  try {
    const noOrders = Array.from(
      { length: payouts },
      (_, i) => `CAP${started}${i.toString().padStart(5, '0')}`,
    );
    const applyMs: number[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < noOrders.length; i = next++) {
        const t0 = performance.now();
        const response = await fetch(`${stack.url}/payouts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            no_order: noOrders[i],
            money_order: '1234.50',
            card_no: '6222021234567890123',
            acct_name: '张三丰',
            flag_card: '0',
            info_order: '供应商货款结算',
          }),
        });
        await response.arrayBuffer();
        applyMs.push(performance.now() - t0);
        if (response.status !== 202) throw new Error(`POST /payouts answered ${response.status}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    progress(`capacity: ${payouts} payouts applied`);

    const deadline = Date.now() + 120_000;
    while (sandbox.stats().notificationsDelivered < payouts) {
      if (Date.now() > deadline) {
        throw new Error(`only ${sandbox.stats().notificationsDelivered}/${payouts} notifications delivered`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const stats = sandbox.stats();

    const sizes: number[] = [];
    for (const noOrder of noOrders) {
      const out = await raw.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: noOrder } },
          ConsistentRead: true,
        }),
      );
      if (out.Item?.status?.S !== 'SUCCESS')
        throw new Error(`${noOrder} is ${out.Item?.status?.S}, not SUCCESS`);
      sizes.push(itemSizeBytes(out.Item));
    }

    const byOperation: CapacityResult['byOperation'] = {};
    let writes = 0;
    let reads = 0;
    for (const [operation, t] of tallies) {
      byOperation[operation] = { calls: t.calls, capacity: t.total, table: t.table, indexes: t.indexes };
      if (operation === 'get' || operation === 'listDue') reads += t.total;
      else writes += t.total;
    }
    const notifyMs = sandbox.notifications().map((n) => n.durationMs);
    const maxSize = Math.max(...sizes);
    return {
      payouts,
      wruPerPayout: round(writes / payouts, 3),
      rruPerPayout: round(reads / payouts, 3),
      byOperation,
      itemBytes: {
        min: Math.min(...sizes),
        max: maxSize,
        mean: round(sizes.reduce((a, b) => a + b, 0) / sizes.length, 0),
      },
      itemUnits: { write: writeUnitsFor(maxSize), strongRead: strongReadUnitsFor(maxSize) },
      applyRoundTripMs: { p50: round(percentile(applyMs, 50), 2), p99: round(percentile(applyMs, 99), 2) },
      notifyRoundTripMs: { p50: round(percentile(notifyMs, 50), 2), p99: round(percentile(notifyMs, 99), 2) },
      notificationsPerPayout: round(stats.notificationsSent / payouts, 3),
      elapsedSeconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await stack.close();
    await raw.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    raw.destroy();
  }
}
