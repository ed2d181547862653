import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amountFor } from '../../sandbox/scenarios';
import { runTopup } from '../../sandbox/topup';
import { payoutBody, postPayout, startTestStack, type TestStack } from '../support/local-stack';

/**
 * Waiting for funds end to end (issue 13): local mode with the embedded sandbox started short of money.
 * HTTP → local front → handlers → DynamoDB Local; the sandbox answers 9104 over HTTP, is topped up through
 * its admin API, and one reconciliation pass (whose funds check queries the balance) resends the waiting
 * payouts under the same no_order. The sandbox's own count of accepted applies proves nothing went twice.
 */

async function getJson(
  stack: TestStack,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function statusOf(stack: TestStack, noOrder: string): Promise<string> {
  return String((await getJson(stack, `/payouts/${noOrder}`)).body.status);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('waiting for funds (local mode, sandbox balance)', () => {
  let stack: TestStack;
  const lines: string[] = [];
  beforeAll(async () => {
    stack = await startTestStack('funds-e2e', {
      log: (line) => lines.push(line),
      // Funds Low leaves through the table stream, as on AWS.
      events: true,
      // 3.00 yuan: the first 2.00 payout fits, the next two do not.
      env: { SANDBOX_BALANCE: '3.00' },
      sandbox: { stepMs: 20, notifyIntervalMs: 50, applyDelayMs: 0 },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('9104 → AWAITING_FUNDS; GET /balance shows the wait; top-up → one pass → paid, one apply taken each', async () => {
    const bodies = [1, 2, 3].map(() => payoutBody('success', { money_order: amountFor('success', 2) }));
    const created = [];
    for (const body of bodies) created.push(await postPayout(stack, body));
    expect(created.map((c) => c.body.status)).toEqual(['ACCEPTED', 'AWAITING_FUNDS', 'AWAITING_FUNDS']);
    const waiting = bodies.slice(1).map((b) => b.no_order);
    for (const n of waiting) expect(stack.sandbox?.acceptedApplies(n)).toBe(0);

    // The provider's figures beside ours; the first payout is in flight (or paid already).
    const balance = await getJson(stack, '/balance');
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({ waiting_amount: '4.00', queried_at: expect.any(String) });
    expect(balance.body.amt_balance).toMatch(/^[0-9]+\.[0-9]{2}$/);
    expect(['0.00', '2.00']).toContain(balance.body.in_flight_amount);

    // Still short: a pass resends nothing (the balance does not cover the oldest).
    const url = stack.sandbox?.url ?? '';
    const short = await stack.reconcileOnce();
    expect(short.errors).toBe(0);
    for (const n of waiting) expect(await statusOf(stack, n)).toBe('AWAITING_FUNDS');
    // 1.00 left against 4.00 waiting: low, announced once, from the crossing's stream record (locally
    // the event sink, printed; on AWS the bus).
    const fundsLow = async () => {
      await stack.eventsCaughtUp();
      return stack.events().filter((e) => e.detailType === 'Funds Low');
    };
    expect(await fundsLow()).toHaveLength(1);
    expect((await fundsLow())[0]?.detail).toMatchObject({ waiting_amount: '4.00', amt_balance: '1.00' });
    expect(lines.filter((l) => l.startsWith('[event] Funds Low'))).toHaveLength(1);

    expect((await runTopup(['10.00'], { SANDBOX_URL: url })).code).toBe(0);
    // The funds check runs at most every BALANCE_CHECK_SECONDS: a run in the next window takes them.
    await stack.reconcileOnce({ now: new Date(Date.now() + 301_000) });
    await waitFor(async () => {
      const statuses = await Promise.all(waiting.map((n) => statusOf(stack, n)));
      return statuses.every((s) => s === 'SUCCESS');
    });
    for (const body of bodies) expect(stack.sandbox?.acceptedApplies(body.no_order)).toBe(1);
    // Topped up above what waited: no second announcement.
    expect(await fundsLow()).toHaveLength(1);
    const order = (await getJson(stack, `/payouts/${waiting[0]}`)).body;
    expect(order).toMatchObject({ status: 'SUCCESS' });
  });
});

describe('GET /balance without a known balance', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // A balance URL that answers nothing the client can believe: unknown, never zeros.
    stack = await startTestStack('funds-e2e-unknown', {
      env: { LLP_BALANCE_URL: 'http://127.0.0.1:9/nothing' },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('answers 503 balance_unknown', async () => {
    const answer = await getJson(stack, '/balance');
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: { code: 'balance_unknown' } });
  });
});
