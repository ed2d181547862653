import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Sandbox } from '../../sandbox/server';
import { payoutBody, postPayout, startTestStack, type TestStack } from '../support/local-stack';

/**
 * The returns watch (RETURN_WATCH_SECONDS): a SUCCESS can still turn into CANCEL (spec §8), and if all 30
 * notifications of that CANCEL are lost only a query finds it. With the watch on, a SUCCESS stays due
 * once more; reconciliation then finds the CANCEL, or ends the watch.
 */

const DAY = 24 * 60 * 60_000;
let stack: TestStack;
let sandbox: Sandbox;

beforeAll(async () => {
  stack = await startTestStack('returns', {
    env: { RECONCILE_MIN_AGE_SECONDS: '21', RETURN_WATCH_SECONDS: String(DAY / 1000) },
    // One second per provider step: SUCCESS stands a full second before the cancel scenario's CANCEL.
    sandbox: { stepMs: 1_000, dropNotifications: true },
  });
  sandbox = stack.sandbox!;
});

afterAll(async () => {
  await stack?.dispose();
});

const later = (ms: number) => new Date(Date.now() + ms);
const stored = async (noOrder: string) => (await stack.runtime.deps.store.get(noOrder))!;
const due = async (at: Date) =>
  (await stack.runtime.deps.store.listDue({ dueBefore: at.toISOString(), limit: 100 })).items.map(
    (r) => r.no_order,
  );

async function providerReaches(noOrder: string, result: string): Promise<void> {
  await vi.waitFor(() => expect(sandbox.order(noOrder)?.result_pay).toBe(result), {
    timeout: 8_000,
    interval: 20,
  });
}

describe('the returns watch', () => {
  it('finds a CANCEL whose notifications were all lost, after the SUCCESS was reconciled', async () => {
    const body = payoutBody('cancel');
    expect((await postPayout(stack, body)).status).toBe(202);
    await providerReaches(body.no_order, 'SUCCESS');
    await stack.reconcileOnce({ now: later(25_000) });
    const paid = await stored(body.no_order);
    expect(paid.status).toBe('SUCCESS');
    expect(paid.next_check_at).toBeDefined();
    expect(await due(later(DAY + 60_000))).toContain(body.no_order);

    await providerReaches(body.no_order, 'CANCEL');
    const summary = await stack.reconcileOnce({ now: later(DAY + 60_000) });
    expect(summary.changed).toBeGreaterThanOrEqual(1);
    const returned = await stored(body.no_order);
    expect(returned.status).toBe('CANCEL');
    expect(returned.history.at(-1)).toMatchObject({ source: 'reconcile', from: 'SUCCESS', to: 'CANCEL' });
    expect(await due(later(30 * DAY))).not.toContain(body.no_order);
  });

  it('ends the watch when no CANCEL came: one bookkeeping write, no history entry, off the due index', async () => {
    const body = payoutBody('success');
    expect((await postPayout(stack, body)).status).toBe(202);
    await providerReaches(body.no_order, 'SUCCESS');
    await stack.reconcileOnce({ now: later(25_000) });
    const paid = await stored(body.no_order);
    expect(paid.status).toBe('SUCCESS');

    await stack.reconcileOnce({ now: later(DAY + 60_000) });
    const after = await stored(body.no_order);
    expect(after.status).toBe('SUCCESS');
    expect(after.history).toEqual(paid.history);
    expect(after.check_count).toBe(paid.check_count + 1);
    expect(after.next_check_at).toBeUndefined();
    expect(await due(later(30 * DAY))).not.toContain(body.no_order);
    expect(sandbox.acceptedApplies(body.no_order)).toBe(1);
  });
});
