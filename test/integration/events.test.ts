import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalEventSink } from '../../local/events';
import { amountFor, type ScenarioName } from '../../sandbox/scenarios';
import type { Sandbox } from '../../sandbox/server';
import { PAYOUT_DETAIL_TYPES, type PayoutDetailType } from '../../src/core/events';
import type { PayoutOrder } from '../../src/core/model';
import { isFinal } from '../../src/core/status';
import {
  payoutBody,
  postPayout,
  startTestStack,
  TEST_CARD,
  TEST_NAME,
  type TestStack,
} from '../support/local-stack';

/**
 * Payout events end to end in local mode: state writes in DynamoDB Local → its table stream → the
 * stream poller → the same publish step as the deployed function → the local sink.
 */

const MIN = 60_000;

let stack: TestStack;
let sandbox: Sandbox;
const sink = new LocalEventSink();

beforeAll(async () => {
  stack = await startTestStack('events', {
    // The smallest minimum age the default 10 s provider timeout allows (src/config/timing.ts).
    env: { RECONCILE_MIN_AGE_SECONDS: '21' },
    sandbox: { stepMs: 150, notifyIntervalMs: 50, notFoundForMs: 60_000 },
    events: { pollMs: 25, retryMs: 50, sink },
  });
  sandbox = stack.sandbox!;
});

afterEach(() => {
  sandbox.setDropNotifications(false);
});

afterAll(async () => {
  await stack?.dispose();
});

async function payout(scenario: ScenarioName): Promise<string> {
  const body = payoutBody(scenario);
  expect((await postPayout(stack, body)).status).toBe(202);
  return body.no_order;
}

const stored = async (noOrder: string): Promise<PayoutOrder> => {
  const order = await stack.runtime.deps.store.get(noOrder);
  if (!order) throw new Error(`order ${noOrder} not stored`);
  return order;
};

async function reaches(noOrder: string, status: string): Promise<void> {
  await vi.waitFor(async () => expect((await stored(noOrder)).status).toBe(status), {
    timeout: 5_000,
    interval: 25,
  });
}

const typesFor = (noOrder: string): PayoutDetailType[] =>
  stack
    .events()
    .filter((e) => e.detail.no_order === noOrder)
    .map((e) => e.detailType as PayoutDetailType);

/** The events the order's history says there must be: one per transition into a final status. */
function expectedFromHistory(order: PayoutOrder): string[] {
  const byStatus: Record<string, string> = {
    SUCCESS: PAYOUT_DETAIL_TYPES.SUCCESS,
    FAILURE: PAYOUT_DETAIL_TYPES.FAILURE,
    CANCEL: PAYOUT_DETAIL_TYPES.CANCEL,
    REJECTED: PAYOUT_DETAIL_TYPES.REJECTED,
  };
  return order.history.flatMap((h) => {
    if (h.anomaly) return [PAYOUT_DETAIL_TYPES.anomaly];
    return h.from !== h.to && isFinal(h.to) ? [byStatus[h.to]!] : [];
  });
}

describe('payout events from the table stream', () => {
  it('exactly one event per final transition, none for WAITING/PROCESSING, no card data', async () => {
    const success = await payout('success');
    const fail = await payout('fail');
    const cancel = await payout('cancel');
    const rejected = await payout('creditCard');
    const slow = await payout('slow');

    // Catch the slow order mid-way so the store records WAITING/PROCESSING transitions too.
    await vi.waitFor(() => expect(sandbox.order(slow)?.result_pay).toBe('PROCESSING'), { timeout: 3_000 });
    await stack.reconcileOnce({ now: new Date(Date.now() + 25_000) });
    expect((await stored(slow)).history.map((h) => h.to)).toContain('PROCESSING');

    await reaches(success, 'SUCCESS');
    await reaches(fail, 'FAILURE');
    await reaches(cancel, 'CANCEL');
    await reaches(rejected, 'REJECTED');
    await reaches(slow, 'SUCCESS');
    await stack.eventsCaughtUp();

    expect(typesFor(success)).toEqual(['Payout Succeeded']);
    expect(typesFor(fail)).toEqual(['Payout Failed']);
    // SUCCESS and CANCEL notifications may cross on the wire; the history says which path was taken.
    expect(typesFor(cancel).at(-1)).toBe('Payout Returned');
    expect(typesFor(rejected)).toEqual(['Payout Rejected']);
    expect(typesFor(slow)).toEqual(['Payout Succeeded']);
    for (const noOrder of [success, fail, cancel, rejected, slow]) {
      expect(typesFor(noOrder)).toEqual(expectedFromHistory(await stored(noOrder)));
    }

    // The status before FAILURE depends on timing (a reconcile pass may have seen PROCESSING first).
    const fromHistory = async (noOrder: string, to: string) =>
      (await stored(noOrder)).history.find((h) => h.to === to && !h.anomaly)?.from;
    const failed = stack.events().find((e) => e.detail.no_order === fail);
    expect(failed?.detail).toMatchObject({
      status: 'FAILURE',
      previous_status: await fromHistory(fail, 'FAILURE'),
      money_order: amountFor('fail'),
      result_pay: 'FAILURE',
    });
    const returned = stack.events().find((e) => e.detail.no_order === cancel && e.detail.status === 'CANCEL');
    // Notifications carry no memo (only a 1.1 query does), so a notified return has none.
    expect(returned?.detail).toMatchObject({
      status: 'CANCEL',
      previous_status: await fromHistory(cancel, 'CANCEL'),
    });
    const slowEvent = stack.events().find((e) => e.detail.no_order === slow);
    expect(slowEvent?.detail).toMatchObject({ previous_status: 'PROCESSING' });

    const all = stack.events();
    expect(new Set(all.map((e) => e.detail.id)).size).toBe(all.length);
    const text = JSON.stringify(all);
    const masked = (await stored(success)).card_no_masked;
    for (const secret of [
      TEST_CARD,
      TEST_NAME,
      masked,
      TEST_NAME.slice(0, 1),
      'card_no',
      'acct_name',
      'payee',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('anomalies and rejections found by reconciliation are published too', async () => {
    sandbox.setDropNotifications(true);
    const hidden = await payout('notFoundAtFirst');
    const notTaken = await payout('systemErrorNotTaken');
    expect((await stored(hidden)).status).toBe('ACCEPTED');
    expect((await stored(notTaken)).status).toBe('UNKNOWN');

    // After the grace period the provider still has no record of either.
    await stack.reconcileOnce({ now: new Date(Date.now() + 31 * MIN) });
    await stack.eventsCaughtUp();

    expect(typesFor(hidden)).toEqual(['Payout Anomaly']);
    expect(stack.events().find((e) => e.detail.no_order === hidden)?.detail).toMatchObject({
      status: 'ACCEPTED',
      previous_status: 'ACCEPTED',
      ret_code: '8901',
      anomaly: '8901 after grace for ACCEPTED',
    });
    expect(typesFor(notTaken)).toEqual(['Payout Rejected']);
    expect(stack.events().find((e) => e.detail.no_order === notTaken)?.detail).toMatchObject({
      status: 'REJECTED',
      previous_status: 'UNKNOWN',
      ret_code: '8901',
    });

    // The same contradiction seen again by a later pass is not published again.
    await stack.reconcileOnce({ now: new Date(Date.now() + 3 * 60 * MIN) });
    await stack.eventsCaughtUp();
    expect(typesFor(hidden)).toEqual(['Payout Anomaly']);
  });

  it('a failing sink delays events but loses none and duplicates none', async () => {
    sink.failNext(3);
    const attemptsBefore = sink.attempts;
    const noOrder = await payout('success');
    await reaches(noOrder, 'SUCCESS');
    await stack.eventsCaughtUp(10_000);

    expect(sink.attempts - attemptsBefore).toBeGreaterThanOrEqual(4);
    expect(typesFor(noOrder)).toEqual(['Payout Succeeded']);
  });
});
