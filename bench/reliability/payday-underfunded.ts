import { APPLY_PATH } from '../../src/lianlian/endpoints';
import { ourOrders, payoutBody, pool, postWithRetry, startReliabilityStack, waitUntil } from './harness';

/**
 * `payday_underfunded` (issue 13): `orders` payouts of 1.00 against a sandbox balance that covers only
 * `covered` of them. The rest are refused with 9104 and wait (AWAITING_FUNDS, nothing paid); then the
 * account is topped up and reconciliation runs (its funds check resends the waiting ones under the same
 * no_order, oldest first, within the provider rate). Pass: every payout paid exactly once (the sandbox
 * accepted exactly one apply for each), none rejected, none sent twice.
 */

export interface PaydayUnderfundedResult {
  readonly orders: number;
  readonly covered: number;
  /** Orders AWAITING_FUNDS after the POSTs (expected: orders − covered). */
  readonly awaitingFunds: number;
  /** Orders SUCCESS at the end. */
  readonly paid: number;
  readonly rejected: number;
  /** Orders the sandbox accepted more than one apply for (must be 0). */
  readonly sentTwice: number;
  /** Apply requests the sandbox received for these orders (first applies, 9104s and resends). */
  readonly applyRequests: number;
  /** Reconciliation passes it took. */
  readonly passes: number;
  readonly pass: boolean;
}

const PAYOUT = '1.00';
const PAYOUT_FEN = 100;

export async function paydayUnderfunded(
  dynamoEndpoint: string,
  progress: (line: string) => void,
  orders = 500,
  covered = 200,
): Promise<PaydayUnderfundedResult> {
  const rs = await startReliabilityStack(
    dynamoEndpoint,
    'payday',
    { balanceFen: covered * PAYOUT_FEN, stepMs: 20, notifyIntervalMs: 100 },
    { PROVIDER_RATE_PER_SECOND: '150', RECONCILE_RATE_PER_SECOND: '100', RECONCILE_CONCURRENCY: '8' },
  );
  try {
    const stamp = Date.now().toString(36);
    const noOrders = Array.from(
      { length: orders },
      (_, i) => `PAYDAY${stamp}${i.toString().padStart(4, '0')}`,
    );
    // Sequential enough that "the first `covered` fit" is the order they were sent in.
    await pool(noOrders, 4, (n) => postWithRetry(rs.stack.url, payoutBody(n, PAYOUT)));
    const afterPost = await ourOrders(rs, noOrders);
    const awaitingFunds = noOrders.filter((n) => afterPost.get(n)?.status === 'AWAITING_FUNDS').length;
    progress(
      `payday_underfunded: ${orders} payouts, balance for ${covered} → ${awaitingFunds} awaiting funds`,
    );

    rs.sandbox.topup((orders - covered) * PAYOUT_FEN);
    let passes = 0;
    const allPaid = async () => {
      const now = await ourOrders(rs, noOrders);
      return noOrders.every((n) => now.get(n)?.status === 'SUCCESS');
    };
    // Each pass a balance-check interval later (the check runs at most every BALANCE_CHECK_SECONDS) and
    // past the first-check delay, so due orders are queried too.
    for (; passes < 20 && !(await allPaid()); passes++) {
      await rs.stack.reconcileOnce({
        now: new Date(Date.now() + (passes + 1) * 3_600_000),
        ratePerSecond: 100,
        concurrency: 8,
        safetyMarginMs: 0,
      });
      await waitUntil(allPaid, 5_000);
    }
    const final = await ourOrders(rs, noOrders);
    const paid = noOrders.filter((n) => final.get(n)?.status === 'SUCCESS').length;
    const rejected = noOrders.filter((n) => final.get(n)?.status === 'REJECTED').length;
    const sentTwice = noOrders.filter((n) => rs.sandbox.acceptedApplies(n) !== 1).length;
    const wanted = new Set(noOrders);
    const applyRequests = rs.sandbox
      .requests()
      .filter((r) => r.path === APPLY_PATH && wanted.has(String(r.body.no_order))).length;
    progress(
      `payday_underfunded: ${paid}/${orders} paid after ${passes} passes, ${rejected} rejected, ${sentTwice} not accepted exactly once`,
    );
    return {
      orders,
      covered,
      awaitingFunds,
      paid,
      rejected,
      sentTwice,
      applyRequests,
      passes,
      pass: awaitingFunds === orders - covered && paid === orders && rejected === 0 && sentTwice === 0,
    };
  } finally {
    await rs.close();
  }
}
