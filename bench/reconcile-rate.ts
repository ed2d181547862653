import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../local/dynamodb';
import type { OrderStoreOperation } from '../src/adapters/dynamodb/order-store';
import { createPayout } from '../src/core/payouts';
import type { ReconcileSummary } from '../src/core/reconcile';
import { QUERY_PATH } from '../src/lianlian/endpoints';
import { startMeteredStack } from './dynamo';
import { maxInWindow, rateOverSpan, round } from './stats';

/**
 * Reconciliation throughput against a 10,000-order backlog: every order was applied to the sandbox
 * (which pays it and then loses every notification), so ours are all ACCEPTED and due. One pass runs at
 * the configured rate; the achieved rate is read from the sandbox's own request timestamps — what the
 * provider's throttling would see — and divided by the configured one.
 */

export interface ReconcileRateResult {
  readonly orders: number;
  readonly configuredRate: number;
  readonly concurrency: number;
  readonly achievedRate: number;
  readonly ratio: number;
  /** Most queries in any 1 s window: the limiter must never exceed the rate (+1 at a window edge). */
  readonly peakPerSecond: number;
  /** Most queries in one clock second (hh:mm:ss), and how many clock seconds went over the rate. */
  readonly peakCalendarSecond: number;
  readonly secondsOverRate: number;
  readonly calendarSeconds: number;
  readonly queries: number;
  readonly final: number;
  readonly passSeconds: number;
  readonly seedSeconds: number;
  readonly seedPerSecond: number;
  readonly summary: ReconcileSummary;
  /** DynamoDB capacity per examined order (read, query answer written, index entry removed). */
  readonly rruPerOrder: number;
  readonly wruPerOrder: number;
}

export async function reconcileRateBench(
  dynamoEndpoint: string,
  options: { orders: number; ratePerSecond: number; concurrency: number; maxPassSeconds: number },
  progress: (line: string) => void,
): Promise<ReconcileRateResult> {
  const capacity = { reads: 0, writes: 0, on: false };
  const onConsumedCapacity = (operation: OrderStoreOperation, units: ConsumedCapacity[]) => {
    if (!capacity.on) return;
    const total = units.reduce((sum, u) => sum + (u.CapacityUnits ?? 0), 0);
    if (operation === 'get' || operation === 'listDue') capacity.reads += total;
    else capacity.writes += total;
  };
  const tableName = `bench-reconcile-${Date.now()}`;
  // Paid 100 ms after the apply; every notification is lost (one attempt, dropped), so only
  // reconciliation can finish the orders.
  const stack = await startMeteredStack({
    dynamoEndpoint,
    tableName,
    sandbox: { stepMs: 50, dropNotifications: true, notifyMaxAttempts: 1 },
    onConsumedCapacity,
  });
  const sandbox = stack.sandbox!;
  const raw = localDynamoClient(dynamoEndpoint);
  try {
    const seedStart = Date.now();
    const prefix = `RC${seedStart.toString(36)}`;
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let i = next++; i < options.orders; i = next++) {
        const result = await createPayout(stack.runtime.deps, {
          no_order: `${prefix}${i.toString().padStart(6, '0')}`,
          money_order: '88.00',
          card_no: '6222021234567890123',
          acct_name: '张三丰',
          flag_card: '0',
          info_order: 'reconcile backlog',
        });
        if (result.view.status !== 'ACCEPTED') throw new Error(`seed order is ${result.view.status}`);
        done++;
        if (done % 2000 === 0) progress(`reconcile: ${done}/${options.orders} orders seeded`);
      }
    };
    // The seed is the applies of a busy day: many in flight, as API Gateway would run them.
    await Promise.all(Array.from({ length: 16 }, worker));
    const seedSeconds = (Date.now() - seedStart) / 1000;
    // Every order is paid at the sandbox a few steps after its apply.
    const paidBy = Date.now() + 5_000;
    while (sandbox.orders().some((o) => o.result_pay !== 'SUCCESS')) {
      if (Date.now() > paidBy) throw new Error('the sandbox did not finish the seeded orders');
      await new Promise((r) => setTimeout(r, 200));
    }

    // Due: the pass runs "later", past the minimum age (RECONCILE_MIN_AGE_SECONDS) of every order.
    const minAgeMs = stack.runtime.config.reconcile.minAgeMs;
    const now = new Date(Date.now() + minAgeMs + 60_000);
    const passStart = Date.now();
    const deadline = passStart + options.maxPassSeconds * 1000;
    capacity.on = true;
    const summary = await stack.reconcileOnce({
      now,
      ratePerSecond: options.ratePerSecond,
      concurrency: options.concurrency,
      remainingTimeMs: () => deadline - Date.now(),
      safetyMarginMs: 0,
    });
    capacity.on = false;
    const passSeconds = (Date.now() - passStart) / 1000;
    const times = sandbox
      .requests()
      .filter((r) => r.path === QUERY_PATH && Date.parse(r.at) >= passStart)
      .map((r) => Date.parse(r.at));
    const achieved = rateOverSpan(times);

    // What is still due after the pass is the undrained backlog (read with the store, not counted).
    let stillDue = 0;
    let cursor: string | undefined;
    do {
      const page = await stack.runtime.deps.store.listDue({
        dueBefore: now.toISOString(),
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      stillDue += page.items.length;
      cursor = page.cursor;
    } while (cursor);
    const final = options.orders - stillDue;
    // Calendar seconds, as a provider's per-second throttle would count them.
    const perSecond = new Map<number, number>();
    for (const t of times)
      perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    const secondsOverRate = [...perSecond.values()].filter((n) => n > options.ratePerSecond).length;
    progress(`reconcile: pass done, ${summary.examined} examined in ${passSeconds.toFixed(0)} s`);

    return {
      orders: options.orders,
      configuredRate: options.ratePerSecond,
      concurrency: options.concurrency,
      achievedRate: round(achieved, 3),
      ratio: round(achieved / options.ratePerSecond, 4),
      peakPerSecond: maxInWindow(times, 1000),
      peakCalendarSecond: Math.max(0, ...perSecond.values()),
      secondsOverRate,
      calendarSeconds: perSecond.size,
      queries: times.length,
      final,
      passSeconds: round(passSeconds, 1),
      seedSeconds: round(seedSeconds, 1),
      seedPerSecond: round(options.orders / seedSeconds, 1),
      summary,
      rruPerOrder: round(capacity.reads / Math.max(1, summary.examined), 3),
      wruPerOrder: round(capacity.writes / Math.max(1, summary.examined), 3),
    };
  } finally {
    await stack.close();
    await raw.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    raw.destroy();
  }
}
