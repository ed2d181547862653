import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amountFor } from '../../sandbox/scenarios';
import type { Sandbox } from '../../sandbox/server';
import { QUERY_PATH } from '../../src/lianlian/endpoints';
import { payoutBody, postPayout, startTestStack, type TestStack } from '../support/local-stack';

/**
 * Rate limit, back-off and the time budget, measured at the provider sandbox: its recorded request
 * timestamps are what the real provider's throttling would see. The sandbox's processing step is a
 * minute long, so every order stays WAITING for the whole file.
 */

const ORDERS = 30;
const RATE = 5;
const MIN = 60_000;
/** RECONCILE_MIN_AGE_SECONDS is the default 120 s: the first pass runs three minutes "ahead". */
const FIRST_PASS = 3 * MIN;

let stack: TestStack;
let sandbox: Sandbox;
const noOrders: string[] = [];

beforeAll(async () => {
  stack = await startTestStack('reconcile-rate', { sandbox: { stepMs: 60_000, notifyIntervalMs: 50 } });
  sandbox = stack.sandbox!;
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

afterAll(async () => {
  await stack?.dispose();
});

const queriesSince = (since: number) =>
  sandbox.requests().filter((r) => r.path === QUERY_PATH && Date.parse(r.at) >= since);

/** Most queries in any window [t, t + windowMs). */
function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

const ahead = (ms: number) => new Date(Date.now() + ms);

describe('reconciliation pacing', () => {
  it(`queries ${ORDERS} due orders at ${RATE}/s: never more in any second, and not much less overall`, async () => {
    const start = Date.now();
    const summary = await stack.reconcileOnce({
      now: ahead(FIRST_PASS),
      ratePerSecond: RATE,
      concurrency: 4,
    });

    expect(summary.examined).toBe(ORDERS);
    expect(summary.changed).toBe(ORDERS);
    const queries = queriesSince(start);
    expect(new Set(queries.map((q) => q.body.no_order))).toEqual(new Set(noOrders));
    expect(queries).toHaveLength(ORDERS);
    const times = queries.map((q) => Date.parse(q.at));
    const peak = maxInWindow(times);
    const spanSeconds = (Math.max(...times) - Math.min(...times)) / 1000;
    const achieved = (times.length - 1) / spanSeconds;
    console.info(
      `reconcile rate: configured ${RATE}/s, achieved ${achieved.toFixed(2)}/s, peak ${peak} in 1 s`,
    );
    // +1: a query stamped exactly on a window edge.
    expect(peak).toBeLessThanOrEqual(RATE + 1);
    // Sustained too: the edge tolerance does not add up over longer windows.
    expect(maxInWindow(times, 3_000)).toBeLessThanOrEqual(3 * RATE + 1);
    expect(achieved).toBeGreaterThanOrEqual(0.8 * RATE);
    for (const noOrder of noOrders) {
      expect(await stack.runtime.deps.store.get(noOrder)).toMatchObject({
        status: 'WAITING',
        check_count: 1,
      });
    }
  });

  it('backs off: orders still WAITING are not queried by the next scheduled run', async () => {
    const start = Date.now();
    // The next run, one default interval (60 s) after the first pass.
    const next = await stack.reconcileOnce({ now: ahead(FIRST_PASS + MIN), ratePerSecond: 100 });
    expect(next.examined).toBe(0);
    expect(queriesSince(start)).toHaveLength(0);
    // Still in the index, due after the back-off (the minimum age, 120 s, after the first check).
    const order = await stack.runtime.deps.store.get(noOrders[0]!);
    expect(Date.parse(order?.next_check_at ?? '')).toBeGreaterThan(Date.now() + FIRST_PASS + MIN);
  });

  it('stops before the time runs out and leaves the rest to the next run, asking about no order twice', async () => {
    const start = Date.now();
    const now = ahead(FIRST_PASS + 2 * 60 * MIN);
    const deadline = Date.now() + 1_000;
    const first = await stack.reconcileOnce({
      now,
      ratePerSecond: 10,
      concurrency: 2,
      remainingTimeMs: () => deadline - Date.now(),
      safetyMarginMs: 0,
    });
    const elapsed = Date.now() - start;

    expect(first.stoppedEarly).toBe(true);
    expect(first.examined).toBeGreaterThanOrEqual(5);
    expect(first.examined).toBeLessThan(ORDERS);
    // In-flight queries finish, nothing new starts: done shortly after the deadline.
    expect(elapsed).toBeLessThan(1_000 + 500);

    const second = await stack.reconcileOnce({ now, ratePerSecond: 100, remainingTimeMs: () => 60_000 });
    expect(second.stoppedEarly).toBe(false);
    expect(first.examined + second.examined).toBe(ORDERS);
    const asked = queriesSince(start).map((q) => q.body.no_order);
    expect(asked).toHaveLength(ORDERS);
    expect(new Set(asked).size).toBe(ORDERS);
  });
});
