import { amountFor } from '../../sandbox/scenarios';
import { isFinal } from '../../src/core/status';
import { APPLY_PATH } from '../../src/lianlian/endpoints';
import type { CrashPoint } from './faults';
import {
  countNonFinal,
  ourOrders,
  payoutBody,
  pool,
  postOnce,
  postWithRetry,
  type ReliabilityStack,
  reconcileLater,
  startReliabilityStack,
  waitUntil,
} from './harness';

/**
 * The reliability scenarios of issue #6, each against its own local stack (DynamoDB Local + sandbox +
 * the deployed handlers behind the local front). Every count that decides pass/miss is taken at the
 * sandbox (what the provider saw) or with an unfaulted read of our table.
 */

type Progress = (line: string) => void;

const appliesFor = (rs: ReliabilityStack, noOrder: string) =>
  rs.sandbox.requests().filter((r) => r.path === APPLY_PATH && r.body.no_order === noOrder).length;

// ---------------------------------------------------------------------------------------------------

export interface DuplicateStormResult {
  readonly orders: number;
  /** Apply requests the sandbox received for these orders. */
  readonly applies: number;
  readonly acceptedApplies: number;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly created202: number;
  readonly pass: boolean;
}

/** 20 new orders, each POSTed 100 times at once with identical bodies: one apply per order. */
export async function duplicateStorm(
  dynamoEndpoint: string,
  progress: Progress,
  orders = 20,
  perOrder = 100,
): Promise<DuplicateStormResult> {
  const rs = await startReliabilityStack(dynamoEndpoint, 'storm', {});
  try {
    const statuses: Record<string, number> = {};
    const noOrders: string[] = [];
    let created = 0;
    for (let o = 0; o < orders; o++) {
      const noOrder = `STORM${Date.now().toString(36)}${o.toString().padStart(3, '0')}`;
      noOrders.push(noOrder);
      const body = payoutBody(noOrder);
      const results = await Promise.all(Array.from({ length: perOrder }, () => postOnce(rs.stack.url, body)));
      for (const r of results) {
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 202) created++;
      }
    }
    const applies = noOrders.reduce((sum, n) => sum + appliesFor(rs, n), 0);
    const accepted = noOrders.reduce((sum, n) => sum + rs.sandbox.acceptedApplies(n), 0);
    progress(`duplicate_storm: ${orders} orders × ${perOrder} → ${applies} applies at the sandbox`);
    const only200s = Object.keys(statuses).every((s) => s === '200' || s === '202');
    return {
      orders,
      applies,
      acceptedApplies: accepted,
      requests: orders * perOrder,
      statuses,
      created202: created,
      pass: applies === orders && accepted === orders && created === orders && only200s,
    };
  } finally {
    await rs.close();
  }
}

// ---------------------------------------------------------------------------------------------------

export interface LostNotificationsResult {
  readonly orders: number;
  readonly finalAfterRuns: number[];
  readonly runsNeeded: number | null;
  readonly notificationsDropped: number;
  readonly notificationsDelivered: number;
  readonly mismatches: number;
  readonly pass: boolean;
}

/** The sandbox pays 200 orders and loses every notification; reconciliation alone must finish them. */
export async function lostNotifications(
  dynamoEndpoint: string,
  progress: Progress,
  orders = 200,
): Promise<LostNotificationsResult> {
  const rs = await startReliabilityStack(dynamoEndpoint, 'lost', { dropNotifications: true });
  try {
    const prefix = `LOST${Date.now().toString(36)}`;
    const noOrders = Array.from({ length: orders }, (_, i) => `${prefix}${i.toString().padStart(4, '0')}`);
    // A mix of outcomes, so the query has to tell success from failure and a return after success.
    const expected = (i: number) => (i % 10 === 0 ? 'FAILURE' : i % 10 === 1 ? 'CANCEL' : 'SUCCESS');
    const amount = (i: number) =>
      expected(i) === 'FAILURE'
        ? amountFor('fail', 3)
        : expected(i) === 'CANCEL'
          ? amountFor('cancel', 3)
          : amountFor('success', 3);
    const posted = await pool(noOrders, 8, (n) =>
      postWithRetry(rs.stack.url, payoutBody(n, amount(noOrders.indexOf(n)))),
    );
    if (posted.some((p) => p.status !== 202)) throw new Error('lost_notifications: a payout was not created');
    const settled = await waitUntil(
      () => noOrders.every((n, i) => rs.sandbox.order(n)?.result_pay === expected(i)),
      30_000,
    );
    if (!settled) throw new Error('lost_notifications: the sandbox did not finish the orders');
    const finalAfterRuns: number[] = [];
    let runsNeeded: number | null = null;
    for (let run = 0; run < 2; run++) {
      await reconcileLater(rs, run);
      const ours = await ourOrders(rs, noOrders);
      const nonFinal = countNonFinal(ours, noOrders);
      finalAfterRuns.push(orders - nonFinal);
      if (nonFinal === 0) {
        runsNeeded = run + 1;
        break;
      }
    }
    const ours = await ourOrders(rs, noOrders);
    const mismatches = noOrders.filter((n) => ours.get(n)?.status !== rs.sandbox.order(n)?.result_pay).length;
    const stats = rs.sandbox.stats();
    progress(`lost_notifications: final after runs ${finalAfterRuns.join(', ')}`);
    return {
      orders,
      finalAfterRuns,
      runsNeeded,
      notificationsDropped: stats.notificationsDropped,
      notificationsDelivered: stats.notificationsDelivered,
      mismatches,
      pass: runsNeeded !== null && runsNeeded <= 2 && mismatches === 0 && stats.notificationsDelivered === 0,
    };
  } finally {
    await rs.close();
  }
}

// ---------------------------------------------------------------------------------------------------

export interface CrashResult {
  readonly perPoint: number;
  readonly crashed: Record<CrashPoint, number>;
  readonly handlerStatuses: Record<string, number>;
  readonly retryStatuses: Record<string, number>;
  readonly doubleApplies: number;
  readonly maxAppliesPerOrder: number;
  readonly maxAcceptedPerOrder: number;
  readonly resent: number;
  readonly nonFinalAfterReconciliation: number;
  readonly runsNeeded: number | null;
  readonly mismatches: number;
  readonly pass: boolean;
}

/**
 * A crash after recording and before sending, and after sending before recording the answer, 50 orders
 * each; the merchant retries once. Notifications are lost too, so only reconciliation repairs.
 */
export async function crashBetweenWrites(
  dynamoEndpoint: string,
  progress: Progress,
  perPoint = 50,
): Promise<CrashResult> {
  const rs = await startReliabilityStack(dynamoEndpoint, 'crash', { dropNotifications: true });
  try {
    const prefix = `CRASH${Date.now().toString(36)}`;
    const points: CrashPoint[] = ['before-send', 'after-send'];
    const plan = points.flatMap((point, p) =>
      Array.from({ length: perPoint }, (_, i) => ({
        noOrder: `${prefix}${p}${i.toString().padStart(3, '0')}`,
        point,
      })),
    );
    for (const { noOrder, point } of plan) rs.provider.arm(noOrder, point);
    const handlerStatuses: Record<string, number> = {};
    const retryStatuses: Record<string, number> = {};
    await pool(plan, 8, async ({ noOrder }) => {
      const first = await postOnce(rs.stack.url, payoutBody(noOrder));
      handlerStatuses[first.status] = (handlerStatuses[first.status] ?? 0) + 1;
      // The merchant saw a 5xx and retries: an identical repeat must not send anything.
      const retry = await postOnce(rs.stack.url, payoutBody(noOrder));
      retryStatuses[retry.status] = (retryStatuses[retry.status] ?? 0) + 1;
    });
    const noOrders = plan.map((p) => p.noOrder);
    // Let the sandbox pay what it took.
    await waitUntil(
      () =>
        plan
          .filter((p) => p.point === 'after-send')
          .every((p) => rs.sandbox.order(p.noOrder)?.result_pay === 'SUCCESS'),
      10_000,
    );

    let resent = 0;
    let runsNeeded: number | null = null;
    for (let run = 0; run < 4; run++) {
      const summary = await reconcileLater(rs, run);
      resent += summary.resent;
      // A resent apply is paid a few sandbox steps later; the next run finds the result.
      await waitUntil(
        () =>
          noOrders.every(
            (n) =>
              rs.sandbox.order(n)?.result_pay !== 'WAITING' &&
              rs.sandbox.order(n)?.result_pay !== 'PROCESSING',
          ),
        5_000,
      );
      const ours = await ourOrders(rs, noOrders);
      if (countNonFinal(ours, noOrders) === 0) {
        runsNeeded = run + 1;
        break;
      }
    }
    const ours = await ourOrders(rs, noOrders);
    const applies = noOrders.map((n) => appliesFor(rs, n));
    const accepted = noOrders.map((n) => rs.sandbox.acceptedApplies(n));
    const mismatches = noOrders.filter((n) => ours.get(n)?.status !== rs.sandbox.order(n)?.result_pay).length;
    const nonFinal = countNonFinal(ours, noOrders);
    progress(`crash_between_writes: ${resent} resent, ${nonFinal} non-final after reconciliation`);
    const doubleApplies = accepted.filter((a) => a > 1).length;
    return {
      perPoint,
      crashed: { ...rs.provider.crashed },
      handlerStatuses,
      retryStatuses,
      doubleApplies,
      maxAppliesPerOrder: Math.max(...applies),
      maxAcceptedPerOrder: Math.max(...accepted),
      resent,
      nonFinalAfterReconciliation: nonFinal,
      runsNeeded,
      mismatches,
      pass: doubleApplies === 0 && nonFinal === 0 && mismatches === 0,
    };
  } finally {
    await rs.close();
  }
}

// ---------------------------------------------------------------------------------------------------

export interface StoreFaultsResult {
  readonly payouts: number;
  readonly faultRate: number;
  readonly seed: number;
  readonly injected: Record<string, { before: number; after: number }>;
  readonly storeCalls: number;
  readonly merchant5xx: number;
  readonly merchantRetries: number;
  readonly merchantGaveUp: number;
  readonly doubleApplies: number;
  readonly lostResults: number;
  readonly notify5xx: number;
  /** 5xx answers on a series' last attempt: the provider would not retry them. */
  readonly notify5xxWithoutRetry: number;
  readonly reconcileRuns: number;
  readonly reconcileRunFailures: number;
  readonly nonFinal: number;
  readonly pass: boolean;
}

/**
 * DynamoDB calls fail at 10 % — half before the call, half after it (written, but the caller sees an
 * error) — for 500 payouts, their notifications and the reconciliation that follows. The merchant
 * retries POST on 5xx, the sandbox retries notifications; nothing may be paid twice or lost.
 */
export async function storeFaults(
  dynamoEndpoint: string,
  progress: Progress,
  payouts = 500,
  rate = 0.1,
  seed = 20261127,
): Promise<StoreFaultsResult> {
  const maxAttempts = 30;
  const rs = await startReliabilityStack(dynamoEndpoint, 'faults', {
    notifyIntervalMs: 200,
    notifyMaxAttempts: maxAttempts,
  });
  try {
    rs.store.setPolicy({ rate, afterShare: 0.5, seed });
    // Fixed numbers (the table and the sandbox are new each run), so the seeded faults hit the same calls.
    const prefix = 'FAULT';
    const noOrders = Array.from({ length: payouts }, (_, i) => `${prefix}${i.toString().padStart(4, '0')}`);
    const amount = (i: number) => (i % 10 === 0 ? amountFor('fail', 5) : amountFor('success', 5));
    const posted = await pool(noOrders, 8, (n) =>
      postWithRetry(rs.stack.url, payoutBody(n, amount(noOrders.indexOf(n)))),
    );
    const merchant5xx = posted.reduce(
      (sum, p) => sum + p.statuses.filter((s) => s === 0 || s >= 500).length,
      0,
    );
    const merchantRetries = posted.reduce((sum, p) => sum + p.attempts - 1, 0);
    const merchantGaveUp = posted.filter((p) => p.status !== 200 && p.status !== 202).length;
    progress(`store_faults: ${payouts} payouts posted (${merchant5xx} 5xx answers retried)`);

    // Let the sandbox pay and finish its notification series (delivered, or out of attempts).
    await waitUntil(() => {
      const attempts = rs.sandbox.notifications();
      const taken = rs.sandbox.orders();
      return taken.every(
        (o) =>
          isFinal(o.result_pay) &&
          attempts.some((a) => a.no_order === o.no_order && (a.delivered || a.attempt >= maxAttempts)),
      );
    }, 60_000);

    // Reconciliation, still with 10 % of the store calls failing: a run whose listDue fails is simply
    // the next scheduled run's job.
    let runs = 0;
    let runFailures = 0;
    for (let run = 0; run < 6; run++) {
      runs++;
      try {
        await reconcileLater(rs, run);
      } catch {
        runFailures++;
      }
      await waitUntil(() => rs.sandbox.orders().every((o) => isFinal(o.result_pay)), 5_000);
      await waitUntil(() => rs.sandbox.stats().pendingTimers === 0, 10_000);
      const ours = await ourOrders(rs, noOrders);
      if (countNonFinal(ours, noOrders) === 0) break;
    }

    const ours = await ourOrders(rs, noOrders);
    const doubleApplies = noOrders.filter((n) => rs.sandbox.acceptedApplies(n) > 1).length;
    const lostResults = noOrders.filter((n) => {
      const theirs = rs.sandbox.order(n)?.result_pay;
      return theirs !== undefined && isFinal(theirs) && ours.get(n)?.status !== theirs;
    }).length;
    const attempts = rs.sandbox.notifications();
    const notify5xx = attempts.filter((a) => (a.status ?? 0) >= 500).length;
    const notify5xxWithoutRetry = attempts.filter(
      (a) => (a.status ?? 0) >= 500 && a.attempt >= maxAttempts,
    ).length;
    const nonFinal = countNonFinal(ours, noOrders);
    progress(`store_faults: ${doubleApplies} double applies, ${lostResults} lost, ${nonFinal} non-final`);
    return {
      payouts,
      faultRate: rate,
      seed,
      injected: { ...rs.store.injected },
      storeCalls: rs.store.calls,
      merchant5xx,
      merchantRetries,
      merchantGaveUp,
      doubleApplies,
      lostResults,
      notify5xx,
      notify5xxWithoutRetry,
      reconcileRuns: runs,
      reconcileRunFailures: runFailures,
      nonFinal,
      pass:
        doubleApplies === 0 &&
        lostResults === 0 &&
        notify5xxWithoutRetry === 0 &&
        nonFinal === 0 &&
        merchantGaveUp === 0,
    };
  } finally {
    rs.store.setPolicy({ rate: 0, afterShare: 0, seed: 1 });
    await rs.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Spending controls (issue 10)

/** One POST with a principal (local mode's x-principal); status 0 = transport error. */
async function postAs(url: string, path: string, principal: string, body?: unknown) {
  try {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: {
        'x-principal': principal,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

function tally(statuses: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

export interface ControlsRaceResult {
  readonly payouts: number;
  readonly dailyLimit: string;
  readonly amount: string;
  readonly expectedCommitted: number;
  /** Applies the sandbox received for these orders: the count that decides. */
  readonly applies: number;
  readonly statuses: Record<string, number>;
  /** Orders recorded in our table (refused ones must not be). */
  readonly recorded: number;
  readonly pass: boolean;
}

/**
 * 50 concurrent payouts, each a tenth of the daily limit, all at once: exactly 10 are committed (10
 * applies at the provider, 202), 40 refused with 422 limit_exceeded and not recorded.
 */
export async function controlsRace(
  dynamoEndpoint: string,
  progress: Progress,
  payouts = 50,
): Promise<ControlsRaceResult> {
  const dailyLimit = '100.00';
  const amount = '10.00';
  const expectedCommitted = 10;
  const rs = await startReliabilityStack(
    dynamoEndpoint,
    'controls-race',
    {},
    { DAILY_LIMIT_AMOUNT: dailyLimit },
  );
  try {
    const noOrders = Array.from(
      { length: payouts },
      (_, i) => `RACE${Date.now().toString(36)}${i.toString().padStart(3, '0')}`,
    );
    const results = await Promise.all(
      noOrders.map((n) => postAs(rs.stack.url, '/payouts', 'submitter', payoutBody(n, amount))),
    );
    const statuses = tally(results.map((r) => r.status));
    const applies = noOrders.reduce((sum, n) => sum + appliesFor(rs, n), 0);
    const recorded = (await ourOrders(rs, noOrders)).size;
    progress(`controls_race: ${payouts} payouts of ${amount} under ${dailyLimit}/day → ${applies} applies`);
    return {
      payouts,
      dailyLimit,
      amount,
      expectedCommitted,
      applies,
      statuses,
      recorded,
      pass:
        applies === expectedCommitted &&
        recorded === expectedCommitted &&
        statuses['202'] === expectedCommitted &&
        statuses['422'] === payouts - expectedCommitted,
    };
  } finally {
    await rs.close();
  }
}

export interface ApprovalStormResult {
  readonly approvals: number;
  readonly applies: number;
  readonly statuses: Record<string, number>;
  readonly pass: boolean;
}

/** One payout awaiting approval, 20 different approvers at once: one 200, nineteen 409, one apply. */
export async function approvalStorm(
  dynamoEndpoint: string,
  progress: Progress,
  approvals = 20,
): Promise<ApprovalStormResult> {
  const rs = await startReliabilityStack(dynamoEndpoint, 'approval-storm', {}, { APPROVAL_MIN_AMOUNT: '1' });
  try {
    const noOrder = `APPR${Date.now().toString(36)}`;
    const created = await postAs(rs.stack.url, '/payouts', 'maker', payoutBody(noOrder));
    if (created.status !== 202) throw new Error(`approval_storm: creation answered ${created.status}`);
    const results = await Promise.all(
      Array.from({ length: approvals }, (_, i) =>
        postAs(rs.stack.url, `/payouts/${noOrder}/approve`, `approver${i}`),
      ),
    );
    const statuses = tally(results.map((r) => r.status));
    const applies = appliesFor(rs, noOrder);
    progress(`approval_storm: ${approvals} concurrent approvals → ${applies} applies`);
    return {
      approvals,
      applies,
      statuses,
      pass: applies === 1 && statuses['200'] === 1 && statuses['409'] === approvals - 1,
    };
  } finally {
    await rs.close();
  }
}
