import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../src/config/contract';
import {
  eventsFromChange,
  FUNDS_LOW_DETAIL_TYPE,
  type FundsLowDetail,
  PAYOUT_DETAIL_TYPES,
  PAYOUT_EVENT_SOURCE,
} from '../../../src/core/events';
import {
  type FundsDeps,
  type FundsLowState,
  fundsLowEvents,
  isLow,
  ownFigures,
  resendForFunds,
  runFundsCheck,
} from '../../../src/core/funds';
import type { PayoutOrder } from '../../../src/core/model';
import { createPayout } from '../../../src/core/payouts';
import type { BalanceOutcome } from '../../../src/core/ports';
import { runReconciliation } from '../../../src/core/reconcile';
import { makeDeps, type TestDeps } from '../../support/fakes';
import { MemoryFundsStore } from '../../support/memory-funds-store';
import { MemoryOrderStore } from '../../support/memory-order-store';

const CARD = '6222020000000000123';
const NAME = '测试收款人';
const MINUTE = 60_000;
const DAY = 86_400_000;

/** A limiter that never waits but counts its slots (the funds check must take one per provider call). */
class CountingLimiter {
  slots = 0;
  async acquire(): Promise<void> {
    this.slots++;
  }
}

interface Setup {
  deps: TestDeps & FundsDeps;
  store: MemoryOrderStore;
  funds: MemoryFundsStore;
  limiter: CountingLimiter;
  balance: { next: BalanceOutcome; calls: number };
  announced: FundsLowDetail[];
}

function setup(options: { lowBalanceFen?: number } = {}): Setup {
  const store = new MemoryOrderStore();
  const base = makeDeps({ store });
  const funds = new MemoryFundsStore(store);
  const balance = { next: { kind: 'known', balanceFen: 0, unsettledFen: 0 } as BalanceOutcome, calls: 0 };
  const announced: FundsLowDetail[] = [];
  // What the table stream does on AWS and locally: every write that moved FUNDS#low is a record with its
  // old and new image, and the publisher turns it into events (fundsLowEvents).
  let state: FundsLowState | undefined;
  const setFundsLow = funds.setFundsLow.bind(funds);
  funds.setFundsLow = async (low, at, figures) => {
    const changed = await setFundsLow(low, at, figures);
    if (changed) {
      const next: FundsLowState = { ...figures, low, changedAt: at };
      for (const event of fundsLowEvents(state, next)) announced.push(event.detail as FundsLowDetail);
      state = next;
    }
    return changed;
  };
  const deps = {
    ...base,
    balance: {
      balance: async () => {
        balance.calls++;
        return balance.next;
      },
    },
    funds,
    settings: { checkIntervalMs: 5 * MINUTE, ...options },
  } as TestDeps & FundsDeps;
  return { deps, store, funds, limiter: new CountingLimiter(), balance, announced };
}

/** Creates a payout the provider refuses with 9104: AWAITING_FUNDS, created `minutesAgo` apart. */
async function waiting(s: Setup, money: string): Promise<PayoutOrder> {
  s.deps.provider.applyOutcome = () => ({
    kind: 'rejected',
    retCode: '9104',
    retMsg: 'balance insufficient',
  });
  const noOrder = `F${Math.random().toString(36).slice(2, 12)}`;
  await createPayout(s.deps, {
    no_order: noOrder,
    money_order: money,
    card_no: CARD,
    acct_name: NAME,
    flag_card: '0',
    info_order: 'payday',
  });
  // Strictly increasing created_at: "oldest first" is then well defined.
  s.deps.clock.advance(1000);
  const order = await s.store.get(noOrder);
  expect(order?.status).toBe('AWAITING_FUNDS');
  return order as PayoutOrder;
}

function known(yuan: number): BalanceOutcome {
  return { kind: 'known', balanceFen: yuan * 100, unsettledFen: 0 };
}

describe('runFundsCheck: resend when funds allow', () => {
  it('resends oldest first while the balance covers them, and stops at the first that does not fit', async () => {
    const s = setup();
    const a = await waiting(s, '50.00');
    const b = await waiting(s, '40.00');
    const c = await waiting(s, '30.00');
    const d = await waiting(s, '5.00');
    s.balance.next = known(100);
    s.deps.provider.applyOutcome = () => ({ kind: 'accepted', retCode: '0000', oidPaybill: '1' });
    const before = s.deps.provider.applies.length;

    const summary = await runFundsCheck(s.deps, { limiter: s.limiter });

    // 50 + 40 fit in 100; 30 does not fit in the 10 left, so it stops there: d (5.00) does not jump it.
    expect(summary).toMatchObject({ checked: true, resent: 2, stoppedForFunds: true, balanceFen: 10_000 });
    const sent = s.deps.provider.applies.slice(before).map((f) => f.no_order);
    expect(sent).toEqual([a.no_order, b.no_order]);
    expect((await s.store.get(a.no_order))?.status).toBe('ACCEPTED');
    expect((await s.store.get(c.no_order))?.status).toBe('AWAITING_FUNDS');
    expect((await s.store.get(d.no_order))?.status).toBe('AWAITING_FUNDS');
    // The same no_order AND dt_order, identical fields (spec §7).
    const resent = s.deps.provider.applies.slice(before)[0];
    const first = s.deps.provider.applies.find((f) => f.no_order === a.no_order);
    expect(resent).toEqual(first);
    // One slot for the balance query and one per resend: the reconciliation run's rate.
    expect(s.limiter.slots).toBe(3);
    expect(s.deps.metrics.get(METRICS.fundsResent)).toBe(2);
  });

  it('an unknown balance resends nothing and records nothing (unknown is never zero)', async () => {
    const s = setup({ lowBalanceFen: 1_000_000 });
    await waiting(s, '1.00');
    s.balance.next = { kind: 'unknown', reason: 'bad_signature' };
    const before = s.deps.provider.applies.length;

    const summary = await runFundsCheck(s.deps, { limiter: s.limiter });

    expect(summary).toMatchObject({ checked: true, unknown: true, resent: 0 });
    expect(s.deps.provider.applies.length).toBe(before);
    expect(s.funds.days.size).toBe(0);
    expect(s.funds.low).toBeUndefined();
    expect(s.announced).toEqual([]);
    expect(s.deps.metrics.get(METRICS.balanceUnknown)).toBe(1);
    expect(s.deps.metrics.with(METRICS.signatureFailures, { kind: 'balance' })).toBe(1);
  });

  it('checks at most every BALANCE_CHECK_SECONDS (a second run within it does nothing)', async () => {
    const s = setup();
    s.balance.next = known(100);
    expect((await runFundsCheck(s.deps, { limiter: s.limiter })).checked).toBe(true);
    s.deps.clock.advance(4 * MINUTE);
    expect((await runFundsCheck(s.deps, { limiter: s.limiter })).checked).toBe(false);
    expect(s.balance.calls).toBe(1);
    s.deps.clock.advance(MINUTE);
    expect((await runFundsCheck(s.deps, { limiter: s.limiter })).checked).toBe(true);
    expect(s.balance.calls).toBe(2);
  });

  it('a resend answered 9104 again waits again (still conclusive: every apply was refused); 1002 is UNKNOWN', async () => {
    const s = setup();
    const a = await waiting(s, '10.00');
    const b = await waiting(s, '10.00');
    s.balance.next = known(100);
    s.deps.provider.applyOutcome = (f) =>
      f.no_order === a.no_order
        ? { kind: 'rejected', retCode: '9104' }
        : { kind: 'unknown', reason: 'code', retCode: '1002' };

    await runFundsCheck(s.deps, { limiter: s.limiter });

    const afterA = await s.store.get(a.no_order);
    expect(afterA).toMatchObject({ status: 'AWAITING_FUNDS', apply_attempts: 2, refused_applies: 2 });
    // The wait still counts from the first 9104.
    expect(afterA?.funds_since).toBe(a.funds_since);
    expect(afterA?.next_check_at).toBe(a.next_check_at);
    expect(await s.store.get(b.no_order)).toMatchObject({ status: 'UNKNOWN', apply_attempts: 2 });
  });

  it('a lost claim is skipped, never sent: only the run whose conditional write won sends', async () => {
    const s = setup();
    const a = await waiting(s, '10.00');
    const stale = a;
    // Another run claimed it first (and its resend was accepted).
    s.deps.provider.applyOutcome = () => ({ kind: 'accepted', retCode: '0000' });
    expect(await resendForFunds(s.deps, a)).toBe('sent');
    const applies = s.deps.provider.applies.length;
    expect(await resendForFunds(s.deps, stale)).toBe('skipped');
    expect(s.deps.provider.applies.length).toBe(applies);
  });

  it('two overlapping checks send each waiting order once', async () => {
    const s = setup();
    const orders = [await waiting(s, '10.00'), await waiting(s, '10.00'), await waiting(s, '10.00')];
    s.balance.next = known(1000);
    s.deps.provider.applyOutcome = () => ({ kind: 'accepted', retCode: '0000' });
    const before = s.deps.provider.applies.length;
    // Each with its own (memory) claim of the check: both get past the interval gate.
    const other = new MemoryFundsStore(s.store);
    await Promise.all([
      runFundsCheck(s.deps, { limiter: s.limiter }),
      runFundsCheck({ ...s.deps, funds: other }, { limiter: s.limiter }),
    ]);
    const sent = s.deps.provider.applies.slice(before).map((f) => f.no_order);
    expect(sent.sort()).toEqual(orders.map((o) => o.no_order).sort());
  });
});

describe('funds wait expiry (reconciliation)', () => {
  it('is REJECTED with the reason once FUNDS_WAIT_SECONDS have passed, never queried', async () => {
    const s = setup();
    const a = await waiting(s, '10.00');
    const options = {
      minAgeMs: 2 * MINUTE,
      ratePerSecond: 1000,
      concurrency: 1,
      stuckAfterMs: DAY,
      remainingTimeMs: () => Number.POSITIVE_INFINITY,
      safetyMarginMs: 0,
    };
    // Before the wait ends it is not even due.
    s.deps.clock.advance(DAY - 10 * MINUTE);
    await runReconciliation(s.deps, options);
    expect((await s.store.get(a.no_order))?.status).toBe('AWAITING_FUNDS');

    s.deps.clock.advance(20 * MINUTE);
    const summary = await runReconciliation(s.deps, options);
    expect(summary).toMatchObject({ examined: 1, changed: 1 });
    const after = await s.store.get(a.no_order);
    expect(after).toMatchObject({ status: 'REJECTED', ret_code: '9104' });
    expect(after?.history.at(-1)?.note).toBe('waited for funds too long');
    expect(after?.next_check_at).toBeUndefined();
    expect(s.deps.provider.queries).toEqual([]);
  });
});

describe('low balance', () => {
  it('is low below LOW_BALANCE_AMOUNT or below the waiting amount', () => {
    expect(isLow({ balanceFen: 100, waitingFen: 0, lowBalanceFen: 101 })).toBe(true);
    expect(isLow({ balanceFen: 100, waitingFen: 101 })).toBe(true);
    expect(isLow({ balanceFen: 100, waitingFen: 100, lowBalanceFen: 100 })).toBe(false);
  });

  it('announces Funds Low once per crossing and re-arms when the balance is back above', async () => {
    const s = setup({ lowBalanceFen: 50_000 });
    const check = async (yuan: number) => {
      s.balance.next = known(yuan);
      s.deps.clock.advance(5 * MINUTE);
      return runFundsCheck(s.deps, { limiter: s.limiter });
    };
    expect((await check(400)).announcedLow).toBe(true);
    expect((await check(300)).announcedLow).toBe(false);
    expect((await check(600)).low).toBe(false);
    expect((await check(100)).announcedLow).toBe(true);
    expect(s.announced.map((d) => [d.amt_balance, d.low_balance_amount])).toEqual([
      ['400.00', '500.00'],
      ['100.00', '500.00'],
    ]);
    expect(
      s.deps.metrics.records.filter((r) => r.name === METRICS.availableBalance).map((r) => r.value),
    ).toEqual([400, 300, 600, 100]);
  });

  it('a crossing is one Funds Low event from its stream record, the same on every redelivery', () => {
    const low: FundsLowState = {
      low: true,
      changedAt: '2026-11-30T02:00:00.000Z',
      balanceFen: 100,
      waitingFen: 400,
    };
    const before: FundsLowState = { ...low, low: false, changedAt: '2026-11-29T00:00:00.000Z' };
    const events = fundsLowEvents(before, low);
    expect(events).toEqual([
      {
        source: PAYOUT_EVENT_SOURCE,
        detailType: FUNDS_LOW_DETAIL_TYPE,
        detail: {
          id: 'funds-low:2026-11-30T02:00:00.000Z',
          amt_balance: '1.00',
          waiting_amount: '4.00',
          occurred_at: '2026-11-30T02:00:00.000Z',
        },
      },
    ]);
    // The first crossing after deployment (no earlier image) is one too; a redelivery is the same event.
    expect(fundsLowEvents(undefined, low)).toEqual(events);
    expect(fundsLowEvents(undefined, { ...low, lowBalanceFen: 50_000 })[0]?.detail).toMatchObject({
      low_balance_amount: '500.00',
    });
    // Still low, or back above: nothing.
    expect(fundsLowEvents(low, { ...low, changedAt: '2026-11-30T03:00:00.000Z' })).toEqual([]);
    expect(fundsLowEvents(low, { ...low, low: false })).toEqual([]);
  });

  it('records the first and the last reading of the China day', async () => {
    const s = setup();
    for (const yuan of [100, 90, 80]) {
      s.balance.next = known(yuan);
      await runFundsCheck(s.deps, { limiter: s.limiter });
      s.deps.clock.advance(5 * MINUTE);
    }
    // 2026-11-27T04:00Z is 12:00 in China.
    expect(s.funds.days.get('2026-11-27')).toMatchObject({ first_fen: 10_000, last_fen: 8_000 });
  });
});

describe('own figures and events', () => {
  it('in flight = sent and not final; waiting = awaiting funds (and approval, queued), from the due index', async () => {
    const s = setup();
    await waiting(s, '10.00');
    s.deps.provider.applyOutcome = () => ({ kind: 'accepted', retCode: '0000' });
    await createPayout(s.deps, {
      no_order: 'FLIGHT1',
      money_order: '2.50',
      card_no: CARD,
      acct_name: NAME,
      flag_card: '0',
      info_order: 'x',
    });
    expect(await ownFigures(s.deps)).toEqual({ inFlightFen: 250, waitingFen: 1000 });
  });

  it('publishes Payout Awaiting Funds when an order enters AWAITING_FUNDS, once', async () => {
    const s = setup();
    const a = await waiting(s, '10.00');
    const created = { ...a, status: 'PENDING' as const, version: 1, history: [] };
    const events = eventsFromChange(created, a);
    expect(events.map((e) => e.detailType)).toEqual([PAYOUT_DETAIL_TYPES.AWAITING_FUNDS]);
    expect(events[0]?.detail).toMatchObject({
      status: 'AWAITING_FUNDS',
      previous_status: 'PENDING',
      ret_code: '9104',
    });
    expect(eventsFromChange(a, { ...a, version: a.version + 1 })).toEqual([]);
  });
});
