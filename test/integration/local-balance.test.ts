import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amountFor } from '../../sandbox/scenarios';
import { payoutBody, postPayout, startTestStack, type TestStack } from '../support/local-stack';

/**
 * SANDBOX_BALANCE reaches local mode's embedded sandbox: started with 1.00 yuan, a 2.00 payout does not
 * fit, the sandbox answers an unsigned 9104 and the payout waits for funds (AWAITING_FUNDS, issue 13):
 * nothing was taken, and it is not final.
 */
describe('local mode with SANDBOX_BALANCE', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('local-balance', { env: { SANDBOX_BALANCE: '1.00' } });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('a payout larger than the balance gets 9104 → AWAITING_FUNDS (not REJECTED, nothing taken)', async () => {
    const body = payoutBody('success', { money_order: amountFor('success', 2) });
    expect(body.money_order).toBe('2.00');
    const created = await postPayout(stack, body);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'AWAITING_FUNDS', ret_code: '9104' });
    expect(stack.sandbox?.acceptedApplies(body.no_order)).toBe(0);
  });

  it('refuses a malformed SANDBOX_BALANCE, naming it', async () => {
    await expect(startTestStack('local-balance-bad', { env: { SANDBOX_BALANCE: '1.005' } })).rejects.toThrow(
      /SANDBOX_BALANCE must be yuan/,
    );
  });
});
