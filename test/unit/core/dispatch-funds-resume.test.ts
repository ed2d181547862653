import { describe, expect, it } from 'vitest';
import { BalanceGate, type DispatchDeps, dispatchBatch } from '../../../src/core/dispatch';
import type { PayoutOrder } from '../../../src/core/model';
import { TokenBucket } from '../../../src/core/rate-limit';
import { parseWireAmount } from '../../../src/lianlian/money';
import {
  batchRecord,
  MemoryBatchStore,
  MemoryDispatchClaims,
  queuedItem,
  RecordingTrigger,
} from '../../support/batch-doubles';
import { makeDeps } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder, testNoOrder } from '../../support/order-fixtures';

/**
 * The flaky short-of-funds e2e (test/e2e/batches.test.ts), two ways a run resumed after a top-up trusted
 * the balance from before it and paused again:
 * - items are checked concurrently, so an item can reach the balance gate after another one paused the
 *   run; its check asked the provider again (the pause said so), was let through, and that ask cleared the
 *   "ask again" the resumed run needed;
 * - in the resumed run, a second item checked while the first one's ask was on its way decided on the
 *   older figure instead of waiting for the answer.
 */

const PAYEE = { card_no: '6222000000000000', acct_name: '测试' };

/** The amount an apply carried, in fen. */
function fenOf(moneyOrder: string): number {
  const amount = parseWireAmount(moneyOrder);
  if (!amount.ok) throw new Error(`bad amount ${moneyOrder}`);
  return amount.fen;
}

/** An order store whose reads of one order wait for a signal (to fix the order of concurrent checks). */
class SlowReadStore extends MemoryOrderStore {
  slow: { noOrder: string; until: Promise<void> } | undefined;

  override async get(noOrder: string): Promise<PayoutOrder | undefined> {
    if (noOrder === this.slow?.noOrder) await this.slow.until;
    return super.get(noOrder);
  }
}

/** A BalanceGate that says when it has paused (so the test can order the concurrent checks). */
class WatchedGate extends BalanceGate {
  private onPause: (() => void) | undefined;
  readonly paused = new Promise<void>((resolve) => {
    this.onPause = resolve;
  });

  override async covers(amountFen: number): Promise<boolean> {
    const ok = await super.covers(amountFen);
    if (!ok) this.onPause?.();
    return ok;
  }
}

describe('dispatch resumed after a top-up', () => {
  it('asks the balance again even when an item checked after the pause already asked in the paused run', async () => {
    const store = new SlowReadStore();
    const base = makeDeps({ store });
    const batchId = testNoOrder('B');
    // Row order 2.00, 3.00, 1.00 against 3.50: the 1.00 is checked last (its read is slow), after the 3.00
    // has paused the run, as in the e2e's failing runs.
    const amounts = [200, 300, 100];
    const items: PayoutOrder[] = [];
    for (const [i, fen] of amounts.entries()) {
      const noOrder = testNoOrder('I');
      const order = queuedItem(
        makeOrder({
          no_order: noOrder,
          money_fen: fen,
          money_order: (fen / 100).toFixed(2),
          payee_sealed: await base.cipher.seal(PAYEE, noOrder),
          created_by: 'maker',
        }),
        batchId,
        i + 1,
      );
      await store.create(order);
      items.push(order);
    }
    const batches = new MemoryBatchStore(store);
    batches.put(batchRecord(batchId, items));

    // The provider's balance as the sandbox keeps it: what it started with, plus top-ups, less every apply.
    let toppedUp = 0;
    const providerBalance = () =>
      350 + toppedUp - base.provider.applies.reduce((sum, a) => sum + fenOf(a.money_order), 0);
    let asks = 0;
    const gate = new WatchedGate(
      {
        balance: async () => {
          asks++;
          return { kind: 'known', balanceFen: providerBalance(), unsettledFen: 0 };
        },
      },
      300_000,
      () => 0, // no time passes: only a pause may make the gate ask again
    );
    store.slow = { noOrder: items[2]!.no_order, until: gate.paused };
    const deps: DispatchDeps = {
      ...base,
      batches,
      claims: new MemoryDispatchClaims(store, batches),
      limiter: new TokenBucket({ ratePerSecond: 1e6, burst: 1000 }),
      trigger: new RecordingTrigger(),
      balance: gate,
    };
    const options = { concurrency: 3, remainingTimeMs: () => 600_000, safetyMarginMs: 0 };

    const first = await dispatchBatch(deps, batchId, options);
    expect(first).toMatchObject({ claimed: 2, stopped: 'funds' });
    expect(asks).toBe(2); // once at the start, once by the 1.00 checked after the pause
    expect(base.provider.applies.map((a) => a.money_order).sort()).toEqual(['1.00', '2.00']);
    expect(providerBalance()).toBe(50);

    toppedUp = 1_000_00;
    const resumed = await dispatchBatch(deps, batchId, options);
    expect(resumed).toMatchObject({ claimed: 1, stopped: 'done', batchStatus: 'DISPATCHED' });
    expect(asks).toBe(3); // the resumed run asked, and saw the top-up
    const sent = base.provider.applies.map((a) => a.no_order);
    expect(sent.sort()).toEqual(items.map((i) => i.no_order).sort()); // each exactly once
  });

  it('a check made while the balance is being asked for waits for the answer instead of using the older figure', async () => {
    // The resumed run's first item asks (the pause said so); a second item checked while that ask is on its
    // way must not decide on the figure from before the top-up.
    let provider = 350;
    const answers: (() => void)[] = [];
    const gate = new BalanceGate(
      {
        balance: () =>
          new Promise((resolve) => {
            const figure = provider;
            answers.push(() => resolve({ kind: 'known', balanceFen: figure, unsettledFen: 0 }));
          }),
      },
      300_000,
      () => 0,
    );
    const first = gate.covers(300);
    answers.shift()!();
    expect(await first).toBe(true); // 50 left
    expect(await gate.covers(200)).toBe(false); // pause: ask again next time
    gate.settled(300);

    provider = 100_050; // topped up
    const resumedFirst = gate.covers(100); // asks
    const resumedSecond = gate.covers(200); // checked while that ask is on its way
    expect(answers).toHaveLength(1); // one ask serves both
    answers.shift()!();
    expect(await resumedFirst).toBe(true);
    expect(await resumedSecond).toBe(true);
  });
});
