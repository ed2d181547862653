import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileOptionsFor } from '../../functions/reconcile/handler';
import { amountFor } from '../../sandbox/scenarios';
import type { Sandbox } from '../../sandbox/server';
import { SimulatedClock, TokenBucket } from '../../src/core/rate-limit';
import { type ReconcileOptions, type ReconcileSummary, runReconciliation } from '../../src/core/reconcile';
import { QUERY_PATH } from '../../src/lianlian/endpoints';
import { payoutBody, postPayout, startTestStack, type TestStack } from '../support/local-stack';

/**
 * Rate limit, back-off and the time budget of a reconciliation run against the real store and the
 * sandbox over HTTP, with the limiter on a SimulatedClock: pacing is checked by counting grants per
 * simulated second, so the result does not depend on how fast this machine happens to be. The sandbox's
 * processing step is a minute long, so every order stays WAITING. Each test starts its own stack.
 */

const ORDERS = 30;
const RATE = 5;
const MIN = 60_000;
/** RECONCILE_MIN_AGE_SECONDS is the default 120 s: the first pass runs three minutes "ahead". */
const FIRST_PASS = 3 * MIN;

let stack: TestStack;
let sandbox: Sandbox;
let noOrders: string[];

beforeEach(async () => {
  stack = await startTestStack('reconcile-rate', { sandbox: { stepMs: 60_000, notifyIntervalMs: 50 } });
  sandbox = stack.sandbox!;
  noOrders = [];
  for (let batch = 0; batch < ORDERS; batch += 10) {
    const created = await Promise.all(
      Array.from({ length: Math.min(10, ORDERS - batch) }, async () => {
        const body = payoutBody('success', { money_order: amountFor('success', 2) });
        expect((await postPayout(stack, body)).status).toBe(202);
        return body.no_order;
      }),
    );
    noOrders.push(...created);
  }
});

afterEach(async () => {
  await stack?.dispose();
});

const ahead = (ms: number) => new Date(Date.now() + ms);
const queried = () => sandbox.requests().filter((r) => r.path === QUERY_PATH);

/**
 * One reconciliation run as the scheduled handler makes it, but paced by a TokenBucket on `clock`;
 * returns the summary and the simulated time of every grant.
 */
async function paced(
  clock: SimulatedClock,
  overrides: Partial<ReconcileOptions> & { ratePerSecond: number },
): Promise<{ summary: ReconcileSummary; grants: number[] }> {
  await stack.runtime.merchantKeys();
  const bucket = new TokenBucket({ ratePerSecond: overrides.ratePerSecond, clock });
  const grants: number[] = [];
  const limiter = { acquire: async () => void grants.push(await bucket.grant()) };
  const base = reconcileOptionsFor(
    stack.runtime.config,
    { kind: 'reconcile' },
    () => Number.POSITIVE_INFINITY,
  );
  const summary = await runReconciliation({ ...stack.runtime.deps, limiter }, { ...base, ...overrides });
  return { summary, grants };
}

/** Grants per simulated second since the first one. */
function perSecond(grants: readonly number[]): number[] {
  const first = Math.min(...grants);
  const counts: number[] = [];
  for (const t of grants) {
    const second = Math.floor((t - first) / 1000 + 1e-9);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (c) => c ?? 0);
}

describe('reconciliation pacing', () => {
  it(`queries ${ORDERS} due orders at exactly ${RATE}/s, one limiter grant per provider query`, async () => {
    const { summary, grants } = await paced(new SimulatedClock(), {
      now: ahead(FIRST_PASS),
      ratePerSecond: RATE,
      concurrency: 4,
    });

    expect(summary.examined).toBe(ORDERS);
    expect(summary.changed).toBe(ORDERS);
    const queries = queried();
    expect(queries).toHaveLength(ORDERS);
    expect(new Set(queries.map((q) => q.body.no_order))).toEqual(new Set(noOrders));
    // Every query waited for its own grant, and the grants are the rate, second by second.
    expect(grants).toHaveLength(ORDERS);
    expect(perSecond(grants)).toEqual(Array.from({ length: ORDERS / RATE }, () => RATE));
    for (const noOrder of noOrders) {
      expect(await stack.runtime.deps.store.get(noOrder)).toMatchObject({
        status: 'WAITING',
        check_count: 1,
      });
    }
  });

  it('backs off: orders still WAITING are not queried by the next scheduled run', async () => {
    await paced(new SimulatedClock(), { now: ahead(FIRST_PASS), ratePerSecond: 100, concurrency: 4 });
    const before = queried().length;
    expect(before).toBe(ORDERS);

    // The next run, one default interval (60 s) after the first pass.
    const next = await paced(new SimulatedClock(), { now: ahead(FIRST_PASS + MIN), ratePerSecond: 100 });
    expect(next.summary.examined).toBe(0);
    expect(next.grants).toEqual([]);
    expect(queried()).toHaveLength(before);
    // Still in the index, due after the back-off (the minimum age, 120 s, after the first check).
    const order = await stack.runtime.deps.store.get(noOrders[0]!);
    expect(Date.parse(order?.next_check_at ?? '')).toBeGreaterThan(Date.now() + FIRST_PASS + MIN);
  });

  it('stops before the time runs out and leaves the rest to the next run, asking about no order twice', async () => {
    const RUN_RATE = 10;
    const CONCURRENCY = 2;
    const BUDGET_MS = 1_000;
    const clock = new SimulatedClock();
    const now = ahead(FIRST_PASS);
    const first = await paced(clock, {
      now,
      ratePerSecond: RUN_RATE,
      concurrency: CONCURRENCY,
      // The Lambda's remaining time, on the same simulated clock the limiter waits on.
      remainingTimeMs: () => BUDGET_MS - clock.now(),
      safetyMarginMs: 0,
    });

    expect(first.summary.stoppedEarly).toBe(true);
    // A grant every 100 ms: the eleven at 0…1000 ms fit the budget and are asked about. A worker already
    // waiting when the budget ran out gets its grant late and leaves its order unasked (at most one per
    // worker), and no worker takes up a new order afterwards.
    const inTime = BUDGET_MS / (1000 / RUN_RATE) + 1;
    expect(first.grants.filter((t) => t <= BUDGET_MS)).toHaveLength(inTime);
    expect(first.grants.filter((t) => t > BUDGET_MS).length).toBeLessThanOrEqual(CONCURRENCY);
    expect(first.summary.examined).toBe(inTime);
    expect(queried()).toHaveLength(inTime);

    const second = await paced(new SimulatedClock(), {
      now,
      ratePerSecond: 100,
      remainingTimeMs: () => 60_000,
    });
    expect(second.summary.stoppedEarly).toBe(false);
    expect(first.summary.examined + second.summary.examined).toBe(ORDERS);
    const asked = queried().map((q) => q.body.no_order);
    expect(asked).toHaveLength(ORDERS);
    expect(new Set(asked).size).toBe(ORDERS);
  });
});
