import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env';
import { parseFunds } from '../../../src/config/funds';
import { BalanceUnknownError, balanceView, cachedBalanceView } from '../../../src/core/balance';
import type { BalanceOutcome } from '../../../src/core/ports';
import { formatBalance, parseBalanceArgs } from '../../../tools/balance';
import { FixedClock } from '../../support/fakes';
import { MemoryFundsStore } from '../../support/memory-funds-store';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder } from '../../support/order-fixtures';

/** GET /balance's rule, its cache, the funds settings and the ops command's output (issue 13). */

function setup(outcome: BalanceOutcome) {
  const store = new MemoryOrderStore();
  const funds = new MemoryFundsStore(store);
  const clock = new FixedClock(new Date('2026-11-27T04:00:00.000Z'));
  const provider = { next: outcome, calls: 0 };
  const deps = {
    store,
    funds,
    clock,
    balance: {
      balance: async () => {
        provider.calls++;
        return provider.next;
      },
    },
  };
  return { store, funds, clock, provider, deps };
}

describe('balanceView', () => {
  it('puts the provider figures beside ours, as yuan strings', async () => {
    const s = setup({ kind: 'known', balanceFen: 123_456, unsettledFen: 7 });
    await s.store.create(makeOrder({ status: 'ACCEPTED', money_fen: 1000 }));
    await s.store.create(makeOrder({ status: 'UNKNOWN', money_fen: 250 }));
    await s.store.create(makeOrder({ status: 'AWAITING_FUNDS', money_fen: 300 }));
    await s.store.create(makeOrder({ status: 'AWAITING_APPROVAL', money_fen: 40 }));
    await s.store.create(makeOrder({ status: 'QUEUED', money_fen: 5 }));
    // Final: counted nowhere (a SUCCESS under the returns watch is in the due index, not in flight).
    await s.store.create(makeOrder({ status: 'SUCCESS', money_fen: 9999 }));
    expect(await balanceView(s.deps)).toEqual({
      amt_balance: '1234.56',
      amt_unsettle: '0.07',
      queried_at: '2026-11-27T04:00:00.000Z',
      in_flight_amount: '12.50',
      waiting_amount: '3.45',
    });
    // Status and amount come in batches, not one read per order.
    expect(s.funds.amountCalls).toHaveLength(1);
  });

  it('an unknown balance is an error, never zeros', async () => {
    const s = setup({ kind: 'unknown', reason: 'bad_signature' });
    await expect(balanceView(s.deps)).rejects.toBeInstanceOf(BalanceUnknownError);
    await expect(balanceView(s.deps)).rejects.toMatchObject({ code: 'balance_unknown' });
  });

  it('is cached for 60 s; an unknown answer is not kept', async () => {
    const s = setup({ kind: 'unknown', reason: 'timeout' });
    const view = cachedBalanceView(s.deps);
    await expect(view()).rejects.toBeInstanceOf(BalanceUnknownError);
    s.provider.next = { kind: 'known', balanceFen: 100, unsettledFen: 0 };
    expect((await view()).amt_balance).toBe('1.00');
    s.provider.next = { kind: 'known', balanceFen: 200, unsettledFen: 0 };
    s.clock.advance(59_000);
    expect((await view()).amt_balance).toBe('1.00');
    s.clock.advance(1_000);
    expect((await view()).amt_balance).toBe('2.00');
    expect(s.provider.calls).toBe(3);
  });
});

describe('funds settings', () => {
  it('defaults: a check every 300 s, a wait of one day, no low-balance amount', () => {
    expect(parseFunds({})).toEqual({ ok: true, funds: { checkIntervalMs: 300_000, waitMs: 86_400_000 } });
  });

  it('names every bad setting', () => {
    const result = parseFunds({ balanceCheckSeconds: '5', fundsWaitSeconds: 'x', lowBalanceAmount: '1.005' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.field)).toEqual([
      'balanceCheckSeconds',
      'fundsWaitSeconds',
      'lowBalanceAmount',
    ]);
  });

  it('are read at cold start, and a bad one refuses to start naming the variable', () => {
    const env = {
      KEY_SOURCE: 'env',
      TABLE_NAME: 't',
      LLP_API_BASE: 'https://provider.example',
      LLP_OID_PARTNER: '201911270000000001',
      LLP_SIGN_TYPE: 'MD5',
      NOTIFY_URL: 'https://merchant.example/notify',
      LOCAL_FIELD_KEY: 'x',
    };
    const config = loadConfig({ ...env, FUNDS_WAIT_SECONDS: '3600', LOW_BALANCE_AMOUNT: '500' });
    expect(config.funds).toEqual({ checkIntervalMs: 300_000, waitMs: 3_600_000, lowBalanceFen: 50_000 });
    expect(() => loadConfig({ ...env, BALANCE_CHECK_SECONDS: 'soon' })).toThrow(/BALANCE_CHECK_SECONDS/);
  });
});

describe('npm run ops -- balance', () => {
  it('prints the figures, or the API error', () => {
    const lines = formatBalance({
      status: 200,
      body: {
        amt_balance: '10.00',
        amt_unsettle: '0.00',
        queried_at: '2026-11-27T04:00:00.000Z',
        in_flight_amount: '2.00',
        waiting_amount: '4.00',
      },
    });
    expect(lines.join('\n')).toMatch(/available \(amt_balance\)\s+10\.00/);
    expect(lines.join('\n')).toMatch(/waiting .*\s+4\.00/);
    expect(
      formatBalance({ status: 503, body: { error: { code: 'balance_unknown', message: 'unknown' } } }),
    ).toEqual(['balance: 503 balance_unknown: unknown']);
  });

  it('takes --api and --principal only', () => {
    expect(parseBalanceArgs(['--api', 'http://127.0.0.1:3000'])).toEqual({ api: 'http://127.0.0.1:3000' });
    expect(() => parseBalanceArgs(['extra'])).toThrow(/unexpected/);
    expect(() => parseBalanceArgs(['--nope'])).toThrow();
  });
});
