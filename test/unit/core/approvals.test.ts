import { describe, expect, it } from 'vitest';
import { dailyCounterKey } from '../../../src/adapters/dynamodb/table';
import { approvePayout, denyPayout, listAwaitingApproval, voidPayout } from '../../../src/core/approvals';
import { type ControlPolicy, chinaDay, NO_CONTROLS } from '../../../src/core/controls';
import {
  ForbiddenError,
  InvalidStateError,
  LimitExceededError,
  NotFoundError,
  TransitionConflictError,
  ValidationError,
} from '../../../src/core/errors';
import { applyQueryOutcome, createPayout } from '../../../src/core/payouts';
import type { QueryOutcome } from '../../../src/core/ports';
import { runReconciliation } from '../../../src/core/reconcile';
import { makeDeps, TEST_OID_PARTNER } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';

const CARD = '6222000000001234';
const OTHER_CARD = '6222000000005678';
const MAKER = 'arn:aws:iam::111122223333:user/maker';
const CHECKER = 'arn:aws:iam::111122223333:user/checker';
const HOUR = 3_600_000;

let seq = 0;
function request(money: string, overrides: Record<string, unknown> = {}) {
  seq++;
  return {
    no_order: `C${Date.now().toString(36)}${seq}`,
    money_order: money,
    card_no: CARD,
    acct_name: '测试用户',
    flag_card: '0',
    info_order: 'supplier payout',
    ...overrides,
  };
}

function setup(controls: Partial<ControlPolicy>) {
  const store = new MemoryOrderStore();
  const deps = makeDeps({ store, config: { controls: { ...NO_CONTROLS, ...controls } } });
  return { store, deps };
}

const limitOf = (error: unknown) => (error as LimitExceededError).fields[0];

describe('createPayout with controls', () => {
  it('at the approval threshold: AWAITING_APPROVAL, nothing sent, the creator recorded, due at its expiry', async () => {
    const { deps, store } = setup({ approvalMinFen: 100_000, approvalTtlMs: 72 * HOUR });
    const below = await createPayout(deps, request('999.99'), MAKER);
    expect(below.view.status).toBe('ACCEPTED');
    const body = request('1000.00');
    const result = await createPayout(deps, body, MAKER);
    expect(result).toMatchObject({
      created: true,
      view: { status: 'AWAITING_APPROVAL', created_by: MAKER, approved_by: null },
    });
    expect(deps.provider.applies).toHaveLength(1); // only the one below the threshold
    const stored = await store.get(body.no_order);
    const expiry = new Date(deps.clock.now().getTime() + 72 * HOUR).toISOString();
    expect(stored).toMatchObject({ next_check_at: expiry, approval_expires_at: expiry });
    expect(stored?.limit_held).toBeUndefined();
    // An identical replay answers the waiting order, not a second one.
    expect(await createPayout(deps, body, MAKER)).toMatchObject({
      created: false,
      view: { status: 'AWAITING_APPROVAL' },
    });
  });

  it('over the per-payout maximum: 422 limit_exceeded naming money_order, nothing recorded, the number reusable', async () => {
    const { deps, store } = setup({ payoutMaxFen: 50_000 });
    const body = request('500.01');
    const error = await createPayout(deps, body, MAKER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitExceededError);
    expect(limitOf(error)).toMatchObject({ field: 'money_order', limit: 'payout_max', remaining: '500.00' });
    await expect(store.get(body.no_order)).resolves.toBeUndefined();
    expect(deps.provider.applies).toHaveLength(0);
    await expect(createPayout(deps, { ...body, money_order: '500.00' }, MAKER)).resolves.toMatchObject({
      created: true,
    });
  });

  it('the daily limit: exactly up to the limit commits, one fen more is refused with what remains, nothing recorded', async () => {
    const { deps, store } = setup({ dailyLimitFen: 100_000 });
    await createPayout(deps, request('600.00'), MAKER);
    await createPayout(deps, request('399.99'), MAKER);
    const body = request('0.02');
    const error = await createPayout(deps, body, MAKER).catch((e: unknown) => e);
    expect(limitOf(error)).toMatchObject({ limit: 'daily_amount', remaining: '0.01' });
    await expect(store.get(body.no_order)).resolves.toBeUndefined();
    await expect(createPayout(deps, request('0.01'), MAKER)).resolves.toMatchObject({ created: true });
    expect(store.counters.get(dailyCounterKey(chinaDay(deps.clock.now())))).toMatchObject({
      amount_fen: 100_000,
      count: 3,
    });
    expect(deps.provider.applies).toHaveLength(3);
  });

  it('per-payee limits count per card (by keyed hash), amount and count', async () => {
    const { deps } = setup({ payeeDailyLimitFen: 10_000, payeeDailyLimitCount: 2 });
    await createPayout(deps, request('60.00'), MAKER);
    const amount = await createPayout(deps, request('40.01'), MAKER).catch((e: unknown) => e);
    expect(limitOf(amount)).toMatchObject({ limit: 'payee_daily_amount', remaining: '40.00' });
    await createPayout(deps, request('1.00'), MAKER);
    const count = await createPayout(deps, request('1.00'), MAKER).catch((e: unknown) => e);
    expect(limitOf(count)).toMatchObject({ limit: 'payee_daily_count', remaining: '0' });
    // Another card has its own counter.
    await expect(createPayout(deps, request('99.00', { card_no: OTHER_CARD }), MAKER)).resolves.toMatchObject(
      {
        created: true,
      },
    );
  });

  it('a failed payout gives its amount back to the day once, however often the failure is reported', async () => {
    const { deps, store } = setup({ dailyLimitFen: 100_000 });
    const body = request('1000.00');
    await createPayout(deps, body, MAKER);
    await expect(createPayout(deps, request('0.01'), MAKER)).rejects.toBeInstanceOf(LimitExceededError);
    const order = (await store.get(body.no_order))!;
    const failure: QueryOutcome = {
      kind: 'found',
      result: {
        ret_code: '0000',
        oid_partner: TEST_OID_PARTNER,
        no_order: body.no_order,
        money_order: '1000.00',
        result_pay: 'FAILURE',
        sign_type: 'RSA',
        sign: 'verified-by-the-adapter',
      },
    };
    await Promise.all(Array.from({ length: 5 }, () => applyQueryOutcome(deps, order, failure, 'query')));
    const after = (await store.get(body.no_order))!;
    expect(after).toMatchObject({ status: 'FAILURE', limit_held: false });
    expect(store.counters.get(dailyCounterKey(chinaDay(deps.clock.now())))).toMatchObject({
      amount_fen: 0,
      count: 0,
    });
    await expect(createPayout(deps, request('1000.00'), MAKER)).resolves.toMatchObject({ created: true });
  });
});

describe('approvePayout', () => {
  async function waiting(controls: Partial<ControlPolicy> = {}) {
    const ctx = setup({ approvalMinFen: 100_000, ...controls });
    const body = request('2000.00');
    await createPayout(ctx.deps, body, MAKER);
    return { ...ctx, noOrder: body.no_order };
  }

  it('another principal approves: the apply is sent once, with a fresh dt_order, and the approver is recorded', async () => {
    const { deps, noOrder } = await waiting();
    deps.clock.advance(HOUR);
    const view = await approvePayout(deps, noOrder, CHECKER);
    expect(view).toMatchObject({ status: 'ACCEPTED', created_by: MAKER, approved_by: CHECKER });
    expect(deps.provider.applies).toHaveLength(1);
    expect(deps.provider.applies[0]).toMatchObject({
      no_order: noOrder,
      money_order: '2000.00',
      card_no: CARD,
    });
    // 2026-11-27T05:00Z = 13:00 in UTC+8: the time of the approval, not of the request.
    expect(deps.provider.applies[0]?.dt_order).toBe('20261127130000');
    expect(view.history.find((h) => h.to === 'PENDING')).toMatchObject({
      principal: CHECKER,
      source: 'approval',
    });
  });

  it('the creator cannot approve: 403 same_principal, nothing changes, nothing is sent', async () => {
    const { deps, store, noOrder } = await waiting();
    const error = await approvePayout(deps, noOrder, MAKER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).code).toBe('same_principal');
    expect((await store.get(noOrder))?.status).toBe('AWAITING_APPROVAL');
    expect(deps.provider.applies).toHaveLength(0);
  });

  it('not awaiting approval: 409 invalid_state; unknown: 404', async () => {
    const { deps, noOrder } = await waiting();
    await approvePayout(deps, noOrder, CHECKER);
    await expect(approvePayout(deps, noOrder, CHECKER)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(approvePayout(deps, 'Tnope', CHECKER)).rejects.toBeInstanceOf(NotFoundError);
    expect(deps.provider.applies).toHaveLength(1);
  });

  it('limits are checked at approval: crossing one answers 422 and the payout stays AWAITING_APPROVAL', async () => {
    const { deps, store, noOrder } = await waiting({ dailyLimitFen: 250_000 });
    await createPayout(deps, request('999.00'), MAKER); // below the threshold: commits now
    const error = await approvePayout(deps, noOrder, CHECKER).catch((e: unknown) => e);
    expect(limitOf(error)).toMatchObject({ limit: 'daily_amount', remaining: '1501.00' });
    expect(await store.get(noOrder)).toMatchObject({ status: 'AWAITING_APPROVAL', version: 1 });
    expect(deps.provider.applies).toHaveLength(1);
  });

  it('a per-payout maximum lowered after the request applies at approval', async () => {
    const { deps, store, noOrder } = await waiting();
    const lowered = makeDeps({
      store,
      config: { controls: { ...NO_CONTROLS, approvalMinFen: 100_000, payoutMaxFen: 150_000 } },
    });
    const error = await approvePayout(lowered, noOrder, CHECKER).catch((e: unknown) => e);
    expect(limitOf(error)).toMatchObject({ limit: 'payout_max', remaining: '1500.00' });
    expect((await store.get(noOrder))?.status).toBe('AWAITING_APPROVAL');
    expect(deps.provider.applies.length + lowered.provider.applies.length).toBe(0);
  });

  it('20 concurrent approvals: exactly one apply, the 19 others 409 invalid_state', async () => {
    const { deps, noOrder } = await waiting({ dailyLimitFen: 10_000_000 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => approvePayout(deps, noOrder, `${CHECKER}-${i}`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r.reason).toBeInstanceOf(InvalidStateError);
    expect(deps.provider.applies).toHaveLength(1);
  });

  it('with per-payee limits the approval opens the card to key the payee counter', async () => {
    const { deps, store, noOrder } = await waiting({ payeeDailyLimitCount: 1 });
    await approvePayout(deps, noOrder, CHECKER);
    const order = await store.get(noOrder);
    expect(order).toMatchObject({ limit_held: true, payee_key: await deps.payeeKeys!.key(CARD) });
  });
});

describe('denyPayout / voidPayout', () => {
  async function waiting() {
    const ctx = setup({ approvalMinFen: 1 });
    const body = request('10.00');
    await createPayout(ctx.deps, body, MAKER);
    return { ...ctx, noOrder: body.no_order };
  }

  it('an approver denies with a reason: DENIED, final, nothing sent; the creator cannot deny', async () => {
    const { deps, noOrder } = await waiting();
    await expect(denyPayout(deps, noOrder, MAKER, 'no')).rejects.toBeInstanceOf(ForbiddenError);
    const view = await denyPayout(deps, noOrder, CHECKER, '  not in the plan ');
    expect(view).toMatchObject({ status: 'DENIED', denied_by: CHECKER });
    expect(view.history.at(-1)).toMatchObject({ principal: CHECKER, note: 'not in the plan' });
    await expect(approvePayout(deps, noOrder, CHECKER)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(voidPayout(deps, noOrder, MAKER)).rejects.toBeInstanceOf(InvalidStateError);
    expect(deps.provider.applies).toHaveLength(0);
  });

  it('a deny needs a reason; reasons are bounded', async () => {
    const { deps, noOrder } = await waiting();
    const error = await denyPayout(deps, noOrder, CHECKER, ' ').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields[0]?.field).toBe('reason');
    await expect(denyPayout(deps, noOrder, CHECKER, 'x'.repeat(501))).rejects.toBeInstanceOf(ValidationError);
  });

  it('the creator voids while nothing is sent; once sent, void is 409 invalid_state', async () => {
    const { deps, noOrder } = await waiting();
    await expect(voidPayout(deps, noOrder, MAKER)).resolves.toMatchObject({
      status: 'VOIDED',
      voided_by: MAKER,
    });
    const sent = request('0.50');
    const plain = setup({});
    await createPayout(plain.deps, sent, MAKER);
    await expect(voidPayout(plain.deps, sent.no_order, MAKER, 'too late')).rejects.toBeInstanceOf(
      InvalidStateError,
    );
  });
});

describe('expiry and listing', () => {
  it('reconciliation voids an expired approval as system:expiry, without asking the provider', async () => {
    const { deps, store } = setup({ approvalMinFen: 1, approvalTtlMs: 2 * HOUR });
    const body = request('10.00');
    await createPayout(deps, body, MAKER);
    const options = {
      minAgeMs: 60_000,
      ratePerSecond: 100,
      concurrency: 2,
      stuckAfterMs: 24 * HOUR,
      remainingTimeMs: () => 60_000,
      safetyMarginMs: 1000,
    };
    deps.clock.advance(HOUR);
    await runReconciliation(deps, options);
    expect((await store.get(body.no_order))?.status).toBe('AWAITING_APPROVAL');
    deps.clock.advance(HOUR);
    const summary = await runReconciliation(deps, options);
    expect(summary).toMatchObject({ examined: 1, changed: 1 });
    expect(await store.get(body.no_order)).toMatchObject({ status: 'VOIDED', voided_by: 'system:expiry' });
    expect(deps.provider.queries).toHaveLength(0);
    expect(deps.provider.applies).toHaveLength(0);
    // Final: out of the due index.
    const due = await store.listDue({ dueBefore: '2099-01-01T00:00:00.000Z', limit: 10 });
    expect(due.items).toHaveLength(0);
  });

  it('lists what awaits approval, oldest first, page by page; decided ones leave the list', async () => {
    const { deps } = setup({ approvalMinFen: 1 });
    const numbers: string[] = [];
    for (let i = 0; i < 5; i++) {
      const body = request('10.00');
      numbers.push(body.no_order);
      await createPayout(deps, body, MAKER);
      deps.clock.advance(1000);
    }
    await denyPayout(deps, numbers[1]!, CHECKER, 'no');
    const first = await listAwaitingApproval(deps, { limit: 2 });
    expect(first.items.map((v) => v.no_order)).toEqual([numbers[0], numbers[2]]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await listAwaitingApproval(deps, { limit: 2, cursor: first.next_cursor! });
    expect(second.items.map((v) => v.no_order)).toEqual([numbers[3], numbers[4]]);
    expect(second.next_cursor).toBeNull();
    await expect(listAwaitingApproval(deps, { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(listAwaitingApproval(deps, { limit: 2, cursor: 'garbage' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('review findings on approvals and limits', () => {
  it('an identical retry after the maximum was lowered answers the recorded payout, never 422', async () => {
    const { deps } = setup({ payoutMaxFen: 100_000 });
    const body = request('600.00');
    const first = await createPayout(deps, body, MAKER);
    expect(first.view.status).toBe('ACCEPTED');
    // The operator lowers the maximum; the client, whose first answer timed out, retries the same request.
    const lowered = {
      ...deps,
      config: { ...deps.config, controls: { ...NO_CONTROLS, payoutMaxFen: 50_000 } },
    };
    const replay = await createPayout(lowered, body, MAKER);
    expect(replay).toMatchObject({ created: false, view: { no_order: body.no_order, status: 'ACCEPTED' } });
    expect(deps.provider.applies).toHaveLength(1);
    // A new payout over the lowered maximum is still refused.
    await expect(createPayout(lowered, request('600.00'), MAKER)).rejects.toBeInstanceOf(LimitExceededError);
  });

  it('once its claim is won, an approval is never answered 409, even if writing the apply answer keeps conflicting', async () => {
    const { deps, store } = setup({ approvalMinFen: 100_000 });
    const body = request('1000.00');
    await createPayout(deps, body, MAKER);
    const update = store.update.bind(store);
    // After the claim (AWAITING_APPROVAL → PENDING), every later write of this order conflicts.
    store.update = async (expected, change, commit) => {
      if (expected.status === 'PENDING') throw new TransitionConflictError(expected.no_order);
      return update(expected, change, commit);
    };
    const error = await approvePayout(deps, body.no_order, CHECKER).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(InvalidStateError);
    expect(error).toBeInstanceOf(TransitionConflictError);
    expect(deps.provider.applies).toHaveLength(1);
  });
});
