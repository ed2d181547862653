import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { localDispatcher } from '../local/dispatcher';
import { localDynamoClient } from '../local/dynamodb';
import { startLocalStack } from '../local/stack';
import type { PayoutOrder } from '../src/core/model';
import { TokenBucket } from '../src/core/rate-limit';
import { APPLY_PATH } from '../src/lianlian/endpoints';
import { formatFen } from '../src/lianlian/money';
import { batchRecord, DynamoBatchStoreDouble, queuedItem } from '../test/support/batch-doubles';
import { makeOrder } from '../test/support/order-fixtures';
import { quietLogger, startBenchDynamo } from './dynamo';
import { maxInWindow, rateOverSpan, round } from './stats';

/**
 * `batch_dispatch_rate_ratio` (issue 11): one batch of `items` QUEUED payouts dispatched through the
 * sandbox at `ratePerSecond` by the local dispatcher (the same dispatchBatch as the deployed function,
 * the real claim transaction on DynamoDB Local). The achieved rate is read from the sandbox's own request
 * timestamps (what the provider's throttle would see) and divided by the configured one; the target is
 * ≥ 0.9. It also counts what must be zero: applies beyond one per item, items left QUEUED.
 *
 * The batch record is written by the dispatcher's test double of the BatchStore (test/support): the
 * acceptance path is `batch_accept_ms`'s, not this one's.
 */

export interface BatchDispatchResult {
  readonly items: number;
  readonly configuredRate: number;
  readonly concurrency: number;
  readonly achievedRate: number;
  readonly ratio: number;
  /** Most applies in any 1 s window: never above the rate (+1 at a window edge). */
  readonly peakPerSecond: number;
  readonly applies: number;
  readonly duplicateApplies: number;
  readonly leftQueued: number;
  readonly batchStatus: string | undefined;
  readonly dispatchSeconds: number;
  readonly seedSeconds: number;
}

export async function batchDispatchBench(
  dynamoEndpoint: string,
  options: { items: number; ratePerSecond: number; concurrency: number },
  progress: (line: string) => void,
): Promise<BatchDispatchResult> {
  const tableName = `bench-dispatch-${Date.now()}`;
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint,
    tableName,
    // The provider answers at once and pays a few steps later; notifications are beside the point here.
    sandbox: { stepMs: 50 },
    overrides: () => ({ logger: quietLogger() }),
  });
  const raw = localDynamoClient(dynamoEndpoint);
  try {
    const sandbox = stack.sandbox!;
    const deps = stack.runtime.deps;
    const batches = new DynamoBatchStoreDouble({ client: raw, tableName });
    const batchId = `BD${Date.now().toString(36)}`;
    const seedStart = Date.now();
    const items: PayoutOrder[] = [];
    let next = 0;
    const seed = async () => {
      for (let i = next++; i < options.items; i = next++) {
        const noOrder = `${batchId}${i.toString().padStart(6, '0')}`;
        const order = queuedItem(
          makeOrder({
            no_order: noOrder,
            money_fen: 8800,
            money_order: formatFen(8800),
            created_at: new Date().toISOString(),
            updated_at: new Date().toISOString(),
            payee_sealed: await deps.cipher.seal(
              { card_no: '6222021234567890123', acct_name: '张三丰' },
              noOrder,
            ),
          }),
          batchId,
          i + 1,
        );
        await deps.store.create(order);
        items[i] = order;
      }
    };
    await Promise.all(Array.from({ length: 16 }, seed));
    await batches.put(batchRecord(batchId, items));
    const seedSeconds = (Date.now() - seedStart) / 1000;
    progress(`batch dispatch: ${options.items} items seeded in ${seedSeconds.toFixed(0)} s`);

    const dispatcher = localDispatcher(stack.runtime, {
      client: raw,
      batches,
      limiter: new TokenBucket({ ratePerSecond: options.ratePerSecond }),
      concurrency: options.concurrency,
    });
    const start = Date.now();
    await dispatcher.batchReady(batchId);
    await dispatcher.idle();
    const dispatchSeconds = (Date.now() - start) / 1000;

    const applyTimes = sandbox
      .requests()
      .filter((r) => r.path === APPLY_PATH && Date.parse(r.at) >= start)
      .map((r) => Date.parse(r.at));
    const perOrder = new Map<string, number>();
    for (const r of sandbox.requests()) {
      if (r.path !== APPLY_PATH) continue;
      const no = String(r.body.no_order);
      perOrder.set(no, (perOrder.get(no) ?? 0) + 1);
    }
    const duplicateApplies = [...perOrder.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    let leftQueued = 0;
    for (const item of items) {
      const order = await deps.store.get(item.no_order);
      if (!order || order.status === 'QUEUED') leftQueued++;
    }
    const achieved = rateOverSpan(applyTimes);
    const batch = await batches.getBatch(batchId);
    progress(`batch dispatch: ${applyTimes.length} applies in ${dispatchSeconds.toFixed(1)} s`);
    return {
      items: options.items,
      configuredRate: options.ratePerSecond,
      concurrency: options.concurrency,
      achievedRate: round(achieved, 3),
      ratio: round(achieved / options.ratePerSecond, 4),
      peakPerSecond: maxInWindow(applyTimes, 1000),
      applies: applyTimes.length,
      duplicateApplies,
      leftQueued,
      batchStatus: batch?.status,
      dispatchSeconds: round(dispatchSeconds, 1),
      seedSeconds: round(seedSeconds, 1),
    };
  } finally {
    await stack.close();
    await raw.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    raw.destroy();
  }
}

/** `npm run bench`: 5,000 items at 50/s (the numbers); `--quick`: 300 items. */
export async function runBatchDispatch(
  quick: boolean,
  progress: (line: string) => void,
): Promise<BatchDispatchResult> {
  const dynamo = await startBenchDynamo();
  try {
    return await batchDispatchBench(
      dynamo.endpoint,
      { items: quick ? 300 : 5000, ratePerSecond: 50, concurrency: 64 },
      progress,
    );
  } finally {
    await dynamo.stop();
  }
}
