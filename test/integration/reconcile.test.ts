import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryMetrics } from '../../functions/shared/observability';
import type { ScenarioName } from '../../sandbox/scenarios';
import type { Sandbox } from '../../sandbox/server';
import type { PayoutOrder } from '../../src/core/model';
import { createPayout, type PayoutDeps } from '../../src/core/payouts';
import type { ProviderClient } from '../../src/core/ports';
import { APPLY_PATH } from '../../src/lianlian/endpoints';
import { payoutBody, postPayout, startTestStack, type TestStack } from '../support/local-stack';

/**
 * Reconciliation against the real DynamoDB Local and the provider sandbox over HTTP. Time is scaled
 * down by running passes "in the future" (`now`) instead of sleeping: the minimum age, back-off and the
 * 8901 grace period all count from the run's clock.
 */

const MIN = 60_000;
const _CARD = '6222020000000000123';
const _NAME = '测试收款人';
/** The sandbox answers 8901 for this long after taking a notFoundAtFirst order. */
const NOT_FOUND_FOR_MS = 2_500;

let stack: TestStack;
let sandbox: Sandbox;
const metrics = new MemoryMetrics();

beforeAll(async () => {
  stack = await startTestStack('reconcile', {
    env: {
      // The applyTimeout scenario holds its answer for 1.5 s; the client gives up after 0.5 s.
      LLP_TIMEOUT_MS: '500',
      // Above the 0.5 s timeout plus the apply function's 10 s margin (src/config/timing.ts).
      RECONCILE_MIN_AGE_SECONDS: '11',
      NOT_FOUND_GRACE_SECONDS: '1800',
    },
    sandbox: { stepMs: 20, notifyIntervalMs: 50, applyDelayMs: 1_500, notFoundForMs: NOT_FOUND_FOR_MS },
    ports: { metrics },
  });
  sandbox = stack.sandbox!;
});

afterEach(() => {
  sandbox.setDropNotifications(false);
});

afterAll(async () => {
  await stack?.dispose();
});

async function payout(scenario: ScenarioName): Promise<{ no_order: string; status: string }> {
  const answer = await postPayout(stack, payoutBody(scenario));
  expect(answer.status).toBe(202);
  return answer.body as { no_order: string; status: string };
}

const stored = async (noOrder: string): Promise<PayoutOrder> => {
  const order = await stack.runtime.deps.store.get(noOrder);
  if (!order) throw new Error(`order ${noOrder} not stored`);
  return order;
};

/** Waits until the provider has finished processing the order (the sandbox's own state). */
async function providerFinished(noOrder: string, result: string): Promise<void> {
  await vi.waitFor(() => expect(sandbox.order(noOrder)?.result_pay).toBe(result), {
    timeout: 5_000,
    interval: 20,
  });
}

const later = (ms: number) => new Date(Date.now() + ms);
const applies = (noOrder: string) =>
  sandbox.requests().filter((r) => r.path === APPLY_PATH && r.body.no_order === noOrder);

describe('reconciliation alone brings orders to their final state', () => {
  it('when the provider drops every notification', async () => {
    sandbox.setDropNotifications(true);
    const expected: [ScenarioName, string][] = [
      ['success', 'SUCCESS'],
      ['fail', 'FAILURE'],
      ['cancel', 'CANCEL'],
      ['slow', 'SUCCESS'],
      ['silent', 'SUCCESS'],
    ];
    const orders = await Promise.all(expected.map(([scenario]) => payout(scenario)));
    for (const order of orders) expect(order.status).toBe('ACCEPTED');
    await Promise.all(orders.map((o, i) => providerFinished(o.no_order, expected[i]![1])));

    const summary = await stack.reconcileOnce({ now: later(15_000) });

    expect(summary.changed).toBeGreaterThanOrEqual(expected.length);
    for (const [i, order] of orders.entries()) {
      const after = await stored(order.no_order);
      expect(after.status).toBe(expected[i]![1]);
      expect(after.history.at(-1)).toMatchObject({ source: 'reconcile', from: 'ACCEPTED' });
      expect(after.next_check_at).toBeUndefined();
      expect(sandbox.acceptedApplies(order.no_order)).toBe(1);
    }
    // Nothing was delivered: the results came from queries alone.
    const delivered = sandbox.notifications().filter((n) => orders.some((o) => o.no_order === n.no_order));
    expect(delivered).toEqual([]);
    expect(sandbox.stats().notificationsDropped).toBeGreaterThan(0);
  });

  it('when the apply timed out although the provider took the order (UNKNOWN → the provider result)', async () => {
    sandbox.setDropNotifications(true);
    const order = await payout('applyTimeout');
    expect(order.status).toBe('UNKNOWN');
    expect((await stored(order.no_order)).history.at(-1)?.note).toContain('timeout');
    await providerFinished(order.no_order, 'SUCCESS');

    await stack.reconcileOnce({ now: later(15_000) });

    const after = await stored(order.no_order);
    expect(after.status).toBe('SUCCESS');
    expect(after.history.at(-1)).toMatchObject({ source: 'reconcile', from: 'UNKNOWN', to: 'SUCCESS' });
    expect(applies(order.no_order)).toHaveLength(1);
    expect(sandbox.acceptedApplies(order.no_order)).toBe(1);
  });
});

describe('a crash between recording and sending leaves a PENDING order, reconciled without a second payout', () => {
  /** The process "dies" during the apply: before the request left, or after it reached the provider. */
  function crashing(real: ProviderClient, when: 'before-send' | 'after-send'): ProviderClient {
    return {
      query: (noOrder, dtOrder) => real.query(noOrder, dtOrder),
      apply: async (fields) => {
        if (when === 'after-send') await real.apply(fields);
        throw new Error(`process died ${when}`);
      },
    };
  }

  async function recordThenCrash(
    scenario: ScenarioName,
    when: 'before-send' | 'after-send',
  ): Promise<string> {
    const deps: PayoutDeps = { ...stack.runtime.deps, provider: crashing(stack.runtime.deps.provider, when) };
    const request = payoutBody(scenario);
    await expect(createPayout(deps, request)).rejects.toThrow('process died');
    expect((await stored(request.no_order)).status).toBe('PENDING');
    return request.no_order;
  }

  it('the apply never left: 8901 for the whole grace → resent under the same no_order → paid once', async () => {
    sandbox.setDropNotifications(true);
    const noOrder = await recordThenCrash('success', 'before-send');
    expect(sandbox.order(noOrder)).toBeUndefined();
    const original = await stored(noOrder);

    // 8901 right after the apply proves nothing yet: inside the grace nothing is resent.
    await stack.reconcileOnce({ now: later(15_000) });
    expect(await stored(noOrder)).toMatchObject({ status: 'PENDING', apply_attempts: 1 });
    expect(applies(noOrder)).toEqual([]);

    const first = await stack.reconcileOnce({ now: later(31 * MIN) });
    expect(first.resent).toBeGreaterThanOrEqual(1);
    const resent = await stored(noOrder);
    expect(resent).toMatchObject({ status: 'ACCEPTED', apply_attempts: 2 });
    expect(applies(noOrder).map((r) => r.body.dt_order)).toEqual([original.dt_order]);
    await providerFinished(noOrder, 'SUCCESS');

    // The back-off pushed it out; an hour on it is due again.
    await stack.reconcileOnce({ now: later(90 * MIN) });
    expect((await stored(noOrder)).status).toBe('SUCCESS');
    expect(sandbox.acceptedApplies(noOrder)).toBe(1);
  });

  it('the apply reached the provider before the crash: the query finds it, nothing is resent', async () => {
    sandbox.setDropNotifications(true);
    const noOrder = await recordThenCrash('success', 'after-send');
    await providerFinished(noOrder, 'SUCCESS');

    const summary = await stack.reconcileOnce({ now: later(15_000) });

    expect(summary.resent).toBe(0);
    expect((await stored(noOrder)).status).toBe('SUCCESS');
    expect(applies(noOrder)).toHaveLength(1);
    expect(sandbox.acceptedApplies(noOrder)).toBe(1);
  });

  it('the apply reached the provider but its query still says 8901: the resend gets 1002 and nothing is paid twice', async () => {
    sandbox.setDropNotifications(true);
    const noOrder = await recordThenCrash('notFoundAtFirst', 'after-send');
    const takenAt = Date.now();

    await stack.reconcileOnce({ now: later(31 * MIN) });
    expect(Date.now() - takenAt).toBeLessThan(NOT_FOUND_FOR_MS);
    const afterResend = await stored(noOrder);
    // The provider refused the duplicate: outcome unknown, keep querying (never failed, never re-numbered).
    expect(afterResend).toMatchObject({ status: 'UNKNOWN', ret_code: '1002', apply_attempts: 2 });
    expect(applies(noOrder).map((r) => r.retCode)).toEqual(['0000', '1002']);

    await new Promise((r) => setTimeout(r, Math.max(0, takenAt + NOT_FOUND_FOR_MS + 100 - Date.now())));
    await providerFinished(noOrder, 'SUCCESS');
    await stack.reconcileOnce({ now: later(90 * MIN) });

    expect((await stored(noOrder)).status).toBe('SUCCESS');
    expect(sandbox.acceptedApplies(noOrder)).toBe(1);
  });
});

describe('8901: inside the grace period nothing changes; after it, the documented decision', () => {
  it('apply answered 9999 and the provider took nothing: UNKNOWN, then REJECTED after the grace period', async () => {
    const order = await payout('systemErrorNotTaken');
    expect(order.status).toBe('UNKNOWN');
    const before = await stored(order.no_order);

    await stack.reconcileOnce({ now: later(15_000) });
    const inside = await stored(order.no_order);
    expect(inside).toMatchObject({ status: 'UNKNOWN', ret_code: '9999', anomalies: 0 });
    expect(inside.history).toEqual(before.history);

    await stack.reconcileOnce({ now: later(31 * MIN) });
    const after = await stored(order.no_order);
    expect(after).toMatchObject({ status: 'REJECTED', ret_code: '8901' });
    expect(after.history.at(-1)).toMatchObject({ source: 'reconcile', from: 'UNKNOWN', to: 'REJECTED' });
    expect(after.history.at(-1)?.note).toMatch(/^8901 persisted 3\d min after the apply$/);
    expect(sandbox.acceptedApplies(order.no_order)).toBe(0);
  });

  it('accepted but not yet visible (notFoundAtFirst): nothing inside the grace period, an anomaly after it, then the result', async () => {
    sandbox.setDropNotifications(true);
    const order = await payout('notFoundAtFirst');
    const takenAt = Date.now();
    expect(order.status).toBe('ACCEPTED');
    const before = await stored(order.no_order);

    await stack.reconcileOnce({ now: later(15_000) });
    const inside = await stored(order.no_order);
    expect(inside).toMatchObject({ status: 'ACCEPTED', anomalies: 0 });
    expect(inside.history).toEqual(before.history);

    await stack.reconcileOnce({ now: later(31 * MIN) });
    // Both passes ran while the provider still answered 8901.
    expect(Date.now() - takenAt).toBeLessThan(NOT_FOUND_FOR_MS);
    const after = await stored(order.no_order);
    // A signed 0000 is evidence the order exists: 8901 never closes it, it is recorded for a person.
    expect(after).toMatchObject({ status: 'ACCEPTED', anomalies: 1 });
    expect(after.history.at(-1)).toMatchObject({
      anomaly: '8901 after grace for ACCEPTED',
      ret_code: '8901',
    });

    await providerFinished(order.no_order, 'SUCCESS');
    await new Promise((r) => setTimeout(r, Math.max(0, takenAt + NOT_FOUND_FOR_MS + 100 - Date.now())));
    await stack.reconcileOnce({ now: later(3 * 60 * MIN) });
    expect((await stored(order.no_order)).status).toBe('SUCCESS');
  });
});
