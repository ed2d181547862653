import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amountFor } from '../../sandbox/scenarios';
import type { PayoutView } from '../../src/core/view';
import { startTestStack, TEST_CARD, TEST_NAME, type TestStack } from '../support/local-stack';
import { testNoOrder } from '../support/order-fixtures';

/**
 * Spending controls end to end (issue 10), in local mode with two people: HTTP with `x-principal` → local
 * front → the deployed handlers → DynamoDB Local, and the provider sandbox over HTTP, whose own record of
 * applies is what proves "nothing sent" and "sent once".
 */

const ALICE = 'alice';
const BOB = 'bob';

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; fields?: unknown[] } };
}

async function call(
  stack: TestStack,
  method: 'GET' | 'POST',
  path: string,
  principal: string | undefined,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(principal === undefined ? {} : { 'x-principal': principal }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const create = (stack: TestStack, who: string, body: Record<string, string>) =>
  call(stack, 'POST', '/payouts', who, body);
const act = (stack: TestStack, who: string, noOrder: string, action: string, body?: unknown) =>
  call(stack, 'POST', `/payouts/${noOrder}/${action}`, who, body);

function payout(money: string, card = TEST_CARD): Record<string, string> & { no_order: string } {
  return {
    no_order: testNoOrder('C'),
    money_order: money,
    card_no: card,
    acct_name: TEST_NAME,
    flag_card: '0',
    info_order: 'controls e2e',
  };
}

const appliesOf = (stack: TestStack, noOrder: string) =>
  stack.sandbox?.requests().filter((r) => r.path.endsWith('cardandpay.htm') && r.body.no_order === noOrder)
    .length ?? Number.NaN;
const requestsOf = (stack: TestStack, noOrder: string) =>
  stack.sandbox?.requests().filter((r) => r.body.no_order === noOrder).length ?? Number.NaN;

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('approvals, two principals', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('controls-approvals', {
      env: { APPROVAL_MIN_AMOUNT: '100', APPROVAL_TTL_SECONDS: '3600' },
      sandbox: { stepMs: 20, notifyIntervalMs: 100 },
    });
  });
  afterAll(async () => stack?.dispose());

  it('below the threshold a payout goes straight to the provider, as before controls', async () => {
    const body = payout(amountFor('success', 99));
    const created = await create(stack, ALICE, body);
    expect(created.status).toBe(202);
    expect(created.body.status).not.toBe('AWAITING_APPROVAL');
    expect(created.body.created_by).toBe('local:alice');
    expect(appliesOf(stack, body.no_order)).toBe(1);
  });

  it('at the threshold it waits, listed, with nothing sent; the creator cannot approve; another person can, once', async () => {
    const body = payout(amountFor('success', 100));
    const created = await create(stack, ALICE, body);
    expect(created).toMatchObject({
      status: 202,
      body: { status: 'AWAITING_APPROVAL', created_by: 'local:alice', approved_by: null },
    });
    expect(requestsOf(stack, body.no_order)).toBe(0);

    const listed = await until(
      'the awaiting list',
      () => call(stack, 'GET', '/payouts?status=AWAITING_APPROVAL&limit=100', BOB),
      (a) => (a.body.items as PayoutView[]).some((v) => v.no_order === body.no_order),
    );
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveProperty('next_cursor');

    const self = await act(stack, ALICE, body.no_order, 'approve');
    expect(self.status).toBe(403);
    expect(self.body.error?.code).toBe('same_principal');
    expect(requestsOf(stack, body.no_order)).toBe(0);

    const approved = await act(stack, BOB, body.no_order, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ approved_by: 'local:bob', created_by: 'local:alice' });
    expect(['PENDING', 'ACCEPTED', 'WAITING', 'PROCESSING', 'SUCCESS']).toContain(approved.body.status);
    expect(appliesOf(stack, body.no_order)).toBe(1);

    const again = await act(stack, 'carol', body.no_order, 'approve');
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('invalid_state');
    const done = await until(
      'the approved payout to succeed',
      () => call(stack, 'GET', `/payouts/${body.no_order}`, ALICE),
      (a) => a.body.status === 'SUCCESS',
    );
    expect(done.body.approved_by).toBe('local:bob');
    expect(appliesOf(stack, body.no_order)).toBe(1);
    const later = await call(stack, 'GET', '/payouts?status=AWAITING_APPROVAL', BOB);
    expect((later.body.items as PayoutView[]).map((v) => v.no_order)).not.toContain(body.no_order);
  });

  it('concurrent approvals by many people send exactly one apply', async () => {
    const body = payout(amountFor('success', 150));
    expect((await create(stack, ALICE, body)).status).toBe(202);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => act(stack, `approver${i}`, body.no_order, 'approve')),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
    expect(appliesOf(stack, body.no_order)).toBe(1);
  });

  it('deny: needs a reason and another person; final, nothing sent', async () => {
    const body = payout(amountFor('success', 200));
    expect((await create(stack, ALICE, body)).status).toBe(202);

    const noReason = await act(stack, BOB, body.no_order, 'deny', {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.error?.fields).toEqual([expect.objectContaining({ field: 'reason' })]);
    const self = await act(stack, ALICE, body.no_order, 'deny', { reason: 'changed my mind' });
    expect(self.status).toBe(403);
    expect(self.body.error?.code).toBe('same_principal');

    const denied = await act(stack, BOB, body.no_order, 'deny', { reason: 'unknown payee' });
    expect(denied).toMatchObject({ status: 200, body: { status: 'DENIED', denied_by: 'local:bob' } });
    const history = denied.body.history as { to: string; principal?: string }[];
    expect(history.at(-1)).toMatchObject({ to: 'DENIED', principal: 'local:bob' });

    expect((await act(stack, BOB, body.no_order, 'approve')).body.error?.code).toBe('invalid_state');
    expect((await act(stack, ALICE, body.no_order, 'void')).status).toBe(409);
    expect(requestsOf(stack, body.no_order)).toBe(0);
  });

  it('void: the creator withdraws while nothing is sent; not once something was', async () => {
    const body = payout(amountFor('success', 300));
    expect((await create(stack, ALICE, body)).status).toBe(202);
    const voided = await act(stack, ALICE, body.no_order, 'void', { reason: 'duplicate' });
    expect(voided).toMatchObject({ status: 200, body: { status: 'VOIDED', voided_by: 'local:alice' } });
    expect((await act(stack, BOB, body.no_order, 'approve')).status).toBe(409);
    expect(requestsOf(stack, body.no_order)).toBe(0);

    const sent = payout(amountFor('success', 5));
    expect((await create(stack, ALICE, sent)).status).toBe(202);
    const tooLate = await act(stack, ALICE, sent.no_order, 'void');
    expect(tooLate.status).toBe(409);
    expect(tooLate.body.error?.code).toBe('invalid_state');
  });

  it('an approval not given in time expires on the reconciliation schedule, without asking the provider', async () => {
    const body = payout(amountFor('success', 400));
    expect((await create(stack, ALICE, body)).status).toBe(202);
    await stack.reconcileOnce({ now: new Date(Date.now() + 2 * 3600_000) });
    const view = await call(stack, 'GET', `/payouts/${body.no_order}`, BOB);
    expect(view.body).toMatchObject({ status: 'VOIDED', voided_by: 'system:expiry' });
    expect(requestsOf(stack, body.no_order)).toBe(0);
    expect((await act(stack, BOB, body.no_order, 'approve')).status).toBe(409);
  });

  it('the principal header is for local mode names only; unknown actions and filters are refused', async () => {
    const bad = await create(stack, 'not a name!', payout('1.00'));
    expect(bad.status).toBe(400);
    expect(bad.body.error?.fields).toEqual([expect.objectContaining({ field: 'x-principal' })]);
    // GET /payouts is the full search since issue 12: a bad filter is still named.
    const filter = await call(stack, 'GET', '/payouts?status=PAID', BOB);
    expect(filter.status).toBe(400);
    expect(filter.body.error?.fields).toEqual([expect.objectContaining({ field: 'status' })]);
    const from = await call(stack, 'GET', '/payouts?status=AWAITING_APPROVAL&from=2026-13-01', BOB);
    expect(from.status).toBe(400);
    expect(from.body.error?.fields).toEqual([expect.objectContaining({ field: 'from' })]);
    expect((await act(stack, BOB, 'NOSUCHORDER1', 'approve')).status).toBe(404);
  });
});

describe('limits', () => {
  let stack: TestStack;
  const CARD_A = '6222020000000000123';
  const CARD_B = '6222020000000000456';
  const CARD_C = '6222020000000000789';
  const CARD_D = '6222020000000000111';
  const CARD_E = '6222020000000000222';
  beforeAll(async () => {
    stack = await startTestStack('controls-limits', {
      env: {
        PAYOUT_MAX_AMOUNT: '8',
        DAILY_LIMIT_AMOUNT: '10',
        PAYEE_DAILY_LIMIT_AMOUNT: '5',
        PAYEE_DAILY_LIMIT_COUNT: '2',
      },
      sandbox: { stepMs: 20, notifyIntervalMs: 100 },
    });
  });
  afterAll(async () => stack?.dispose());

  const refusedBy = (answer: Answer, limit: string, remaining: string) => {
    expect(answer.status).toBe(422);
    expect(answer.body.error?.code).toBe('limit_exceeded');
    expect(answer.body.error?.fields).toEqual([
      expect.objectContaining({ field: 'money_order', limit, remaining }),
    ]);
  };

  it('every limit refuses with 422 naming money_order and what remains; nothing is recorded, the no_order stays usable', async () => {
    // The per-payout maximum.
    const big = payout('9.00', CARD_A);
    refusedBy(await create(stack, ALICE, big), 'payout_max', '8.00');
    expect((await call(stack, 'GET', `/payouts/${big.no_order}`, ALICE)).status).toBe(404);
    expect((await create(stack, ALICE, { ...big, money_order: '1.00' })).status).toBe(202);

    // The payee's daily count (2): A has 1, one more, then refused; the same no_order then pays B.
    expect((await create(stack, ALICE, payout('1.00', CARD_A))).status).toBe(202);
    const third = payout('1.00', CARD_A);
    refusedBy(await create(stack, ALICE, third), 'payee_daily_count', '0');
    expect((await call(stack, 'GET', `/payouts/${third.no_order}`, ALICE)).status).toBe(404);
    expect((await create(stack, ALICE, { ...third, card_no: CARD_B })).status).toBe(202);

    // The payee's daily amount (5.00): C takes 4.00, then 2.00 would cross it.
    expect((await create(stack, ALICE, payout('4.00', CARD_C))).status).toBe(202);
    refusedBy(await create(stack, ALICE, payout('2.00', CARD_C)), 'payee_daily_amount', '1.00');

    // The daily amount (10.00): 7.00 committed, 4.00 more would cross it.
    refusedBy(await create(stack, ALICE, payout('4.00', CARD_D)), 'daily_amount', '3.00');
  });

  it('a payout that ends with nothing paid gives its amount back, once', async () => {
    // 7.00 committed by the test above; 2.13 fails at the bank (sandbox scenario `fail`).
    const failing = payout(amountFor('fail', 2), CARD_E);
    expect((await create(stack, ALICE, failing)).status).toBe(202);
    refusedBy(await create(stack, ALICE, payout('1.00', CARD_D)), 'daily_amount', '0.87');
    await until(
      'the failing payout to fail',
      () => call(stack, 'GET', `/payouts/${failing.no_order}`, ALICE),
      (a) => a.body.status === 'FAILURE',
    );
    expect((await create(stack, ALICE, payout('3.00', CARD_D))).status).toBe(202);
    refusedBy(await create(stack, ALICE, payout('0.01', CARD_B)), 'daily_amount', '0.00');
  });
});
