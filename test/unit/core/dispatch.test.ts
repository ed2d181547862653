import { describe, expect, it } from 'vitest';
import { LocalDispatcher } from '../../../local/dispatcher';
import { batchKey, PAYOUTS_TABLE } from '../../../src/adapters/dynamodb/table';
import { providerBudgetProblem } from '../../../src/config/dispatch';
import { batchCompletedEvents } from '../../../src/core/batch-events';
import type { BatchRecord } from '../../../src/core/batch-model';
import {
  ABANDONED_PRINCIPAL,
  BATCH_KEY_PREFIX,
  BalanceGate,
  batchIdOfKey,
  batchLooks,
  type DispatchDeps,
  type DispatchOptions,
  dispatchBatch,
  maintainDispatch,
  queuedItemDue,
  settleBatch,
} from '../../../src/core/dispatch';
import type { OrderChange, PayoutOrder } from '../../../src/core/model';
import { applyInput } from '../../../src/core/payouts';
import type { BalanceOutcome } from '../../../src/core/ports';
import { SimulatedClock, TokenBucket } from '../../../src/core/rate-limit';
import { type ReconcileOptions, runReconciliation } from '../../../src/core/reconcile';
import {
  batchRecord,
  MemoryBatchStore,
  MemoryDispatchClaims,
  queuedItem,
  RecordingTrigger,
} from '../../support/batch-doubles';
import { makeDeps, type TestDeps } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder, testNoOrder } from '../../support/order-fixtures';

const PAYEE = { card_no: '6222000000000000', acct_name: '测试' };
const FOREVER: DispatchOptions = { concurrency: 4, remainingTimeMs: () => 600_000, safetyMarginMs: 0 };

interface World {
  readonly deps: TestDeps & DispatchDeps;
  readonly store: MemoryOrderStore;
  readonly batches: MemoryBatchStore;
  readonly trigger: RecordingTrigger;
  readonly items: PayoutOrder[];
  readonly batchId: string;
}

async function world(
  count: number,
  options: { status?: BatchRecord['status']; amountFen?: number; limiter?: TokenBucket } = {},
): Promise<World> {
  const store = new MemoryOrderStore();
  const base = makeDeps({ store });
  const batches = new MemoryBatchStore(store);
  const trigger = new RecordingTrigger();
  const batchId = testNoOrder('B');
  const items: PayoutOrder[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const noOrder = testNoOrder('I');
    const order = queuedItem(
      makeOrder({
        no_order: noOrder,
        money_fen: options.amountFen ?? 1000,
        money_order: ((options.amountFen ?? 1000) / 100).toFixed(2),
        payee_sealed: await base.cipher.seal(PAYEE, noOrder),
        created_by: 'maker',
      }),
      batchId,
      seq,
    );
    await store.create(order);
    items.push(order);
  }
  batches.put(batchRecord(batchId, items, { status: options.status ?? 'DISPATCHING' }));
  const deps = {
    ...base,
    batches,
    claims: new MemoryDispatchClaims(store, batches),
    limiter: options.limiter ?? new TokenBucket({ ratePerSecond: 1e6, burst: 1000 }),
    trigger,
  };
  return { deps, store, batches, trigger, items, batchId };
}

function appliesBy(deps: TestDeps): Map<string, number> {
  const counts = new Map<string, number>();
  for (const apply of deps.provider.applies)
    counts.set(apply.no_order, (counts.get(apply.no_order) ?? 0) + 1);
  return counts;
}

describe('dispatchBatch', () => {
  it('claims and sends every QUEUED item once, in row order, then marks the batch DISPATCHED', async () => {
    const w = await world(12);
    const summary = await dispatchBatch(w.deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(summary).toMatchObject({
      claimed: 12,
      skipped: 0,
      errors: 0,
      stopped: 'done',
      batchStatus: 'DISPATCHED',
    });
    expect(w.deps.provider.applies.map((a) => a.no_order)).toEqual(w.items.map((i) => i.no_order));
    for (const order of w.store.all()) {
      expect(order.status).toBe('ACCEPTED');
      expect(order.history.map((h) => `${h.from}>${h.to}:${h.source}`)).toEqual([
        'QUEUED>PENDING:dispatch',
        'PENDING>ACCEPTED:apply',
      ]);
    }
    expect((await w.batches.getBatch(w.batchId))?.status).toBe('DISPATCHED');
  });

  it('sends each item exactly once when several workers run the same batch at the same time', async () => {
    const w = await world(60);
    const runs = await Promise.all([1, 2, 3, 4].map(() => dispatchBatch(w.deps, w.batchId, FOREVER)));
    expect(runs.reduce((sum, r) => sum + r.claimed, 0)).toBe(60);
    const counts = appliesBy(w.deps);
    expect(counts.size).toBe(60);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('stops at a void of the batch: nothing unclaimed is sent afterwards, the rest is voided', async () => {
    const w = await world(20);
    let voidedAfter = -1;
    w.deps.provider.applyOutcome = async () => {
      if (w.deps.provider.applies.length === 5) {
        // The batch module's void: the batch record first, then every item still QUEUED.
        const batch = (await w.batches.getBatch(w.batchId))!;
        await w.batches.updateBatch(batch, {
          status: 'VOIDED',
          set: { voided_by: 'checker' },
          at: batch.updated_at,
        });
        voidedAfter = w.deps.provider.applies.length;
        for (const order of w.store.all().filter((o) => o.status === 'QUEUED')) {
          await applyInput(w.deps, order, { type: 'void', principal: 'checker' });
        }
      }
      return { kind: 'accepted', retCode: '0000' };
    };
    const summary = await dispatchBatch(w.deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(voidedAfter).toBe(5);
    expect(w.deps.provider.applies).toHaveLength(5);
    expect(summary.stopped).not.toBe('time');
    const statuses = w.store.all().map((o) => o.status);
    expect(statuses.filter((s) => s === 'ACCEPTED')).toHaveLength(5);
    expect(statuses.filter((s) => s === 'VOIDED')).toHaveLength(15);
  });

  it('a claim refused by the batch condition stops the run without sending (void between list and claim)', async () => {
    const w = await world(3);
    const batch = (await w.batches.getBatch(w.batchId))!;
    // The record says VOIDED but the items are still QUEUED (the void is between its two steps).
    w.batches.put({ ...batch, status: 'VOIDED' });
    const summary = await dispatchBatch(w.deps, w.batchId, FOREVER);
    expect(summary.stopped).toBe('not_dispatching');
    expect(w.deps.provider.applies).toHaveLength(0);
    w.batches.put(batch);
    const claims = w.deps.claims;
    let flipped = false;
    w.deps.claims.claim = async (order, change, id) => {
      if (!flipped) {
        flipped = true;
        w.batches.put({ ...batch, status: 'VOIDED' });
      }
      return MemoryDispatchClaims.prototype.claim.call(claims, order, change, id);
    };
    const again = await dispatchBatch(w.deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(again.stopped).toBe('batch_not_dispatching');
    expect(w.deps.provider.applies).toHaveLength(0);
    expect(w.store.all().every((o) => o.status === 'QUEUED')).toBe(true);
  });

  it('never sends more than the configured rate in any second (simulated clock)', async () => {
    const bucket = new TokenBucket({ ratePerSecond: 50, clock: new SimulatedClock() });
    // Each apply is sent right after its grant; grant() answers the slot's exact time on the limiter's clock.
    const times: number[] = [];
    const limiter = { acquire: async () => void times.push(await bucket.grant()) };
    const w = await world(120, { limiter: bucket });
    await dispatchBatch({ ...w.deps, limiter }, w.batchId, { ...FOREVER, concurrency: 8 });
    expect(w.deps.provider.applies).toHaveLength(120);
    expect(times).toHaveLength(120);
    const sorted = [...times].sort((a, b) => a - b);
    let lo = 0;
    let peak = 0;
    for (let hi = 0; hi < sorted.length; hi++) {
      while (sorted[hi]! - sorted[lo]! >= 1000 - 1e-6) lo++;
      peak = Math.max(peak, hi - lo + 1);
    }
    expect(peak).toBeLessThanOrEqual(50);
    // ...and it does not go slower than the rate either: 120 applies in (119 / 50) s.
    expect(sorted.at(-1)! - sorted[0]!).toBeCloseTo((119 * 1000) / 50, 3);
  });

  it('stops for time, re-enqueues itself, and the next run resumes where it stopped', async () => {
    const w = await world(10);
    let left = 10_000;
    w.deps.provider.applyOutcome = () => {
      left -= 2_000;
      return { kind: 'accepted', retCode: '0000' };
    };
    const first = await dispatchBatch(w.deps, w.batchId, {
      concurrency: 1,
      remainingTimeMs: () => left,
      safetyMarginMs: 3_000,
    });
    expect(first.stopped).toBe('time');
    expect(first.claimed).toBe(4);
    expect(w.trigger.calls).toEqual([w.batchId]);
    expect(w.store.all().filter((o) => o.status === 'QUEUED')).toHaveLength(6);
    const second = await dispatchBatch(w.deps, w.batchId, FOREVER);
    expect(second).toMatchObject({ claimed: 6, stopped: 'done', batchStatus: 'DISPATCHED' });
    expect(appliesBy(w.deps).size).toBe(10);
    expect(w.deps.provider.applies).toHaveLength(10);
  });

  it("claims an item again when reconciliation's look changed it between the read and the claim", async () => {
    // The look at a QUEUED item moves its next check (a new version, still QUEUED in the batch): the claim
    // made on the version read loses, and the item must still go out in this run, once.
    const w = await world(3);
    const looked = new Set<string>();
    const claims = w.deps.claims;
    const deps = {
      ...w.deps,
      claims: {
        claim: async (order: PayoutOrder, change: OrderChange, batchId: string) => {
          if (!looked.has(order.no_order)) {
            looked.add(order.no_order);
            await w.store.update(order, {
              status: 'QUEUED',
              set: { next_check_at: new Date(Date.now() + 60_000).toISOString() },
              at: new Date().toISOString(),
            });
          }
          return claims.claim(order, change, batchId);
        },
      },
    };
    const summary = await dispatchBatch(deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(summary).toMatchObject({ claimed: 3, skipped: 0, stopped: 'done', batchStatus: 'DISPATCHED' });
    expect([...appliesBy(w.deps).values()]).toEqual([1, 1, 1]);
  });

  it('pauses while the known balance cannot cover the next item, and resumes when it can', async () => {
    const w = await world(5, { amountFen: 1000 });
    let balance: BalanceOutcome = { kind: 'known', balanceFen: 2500, unsettledFen: 0 };
    let now = 0;
    const gate = new BalanceGate({ balance: async () => balance }, 300_000, () => now);
    const deps = { ...w.deps, balance: gate };
    const first = await dispatchBatch(deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(first).toMatchObject({ claimed: 2, stopped: 'funds' });
    expect(w.trigger.calls).toEqual([]);
    balance = { kind: 'known', balanceFen: 100_000, unsettledFen: 0 };
    now += 300_000;
    const second = await dispatchBatch(deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(second).toMatchObject({ claimed: 3, stopped: 'done' });
  });

  it('a balance asked again while items it let through are still being sent counts them as spent', async () => {
    // The provider deducts an item only once its apply arrives. A pause makes the next check ask again,
    // and in a concurrent run that can happen while an item taken from the old figure is still on its
    // way: the provider's figure does not show it yet, so it must not become available twice.
    const balance: BalanceOutcome = { kind: 'known', balanceFen: 350, unsettledFen: 0 };
    const gate = new BalanceGate({ balance: async () => balance }, 300_000, () => 0);
    expect(await gate.covers(300)).toBe(true); // taken, its apply not yet at the provider
    expect(await gate.covers(100)).toBe(false); // 50 left: pause, ask again next time
    expect(await gate.covers(200)).toBe(false); // provider still says 350, 300 of it is on its way
    gate.settled(300); // the 300 arrived: the provider's own figure shows it from now on
    (balance as { balanceFen: number }).balanceFen = 50;
    expect(await gate.covers(50)).toBe(true); // asked again: 50, which already counts the 300
  });

  it('a 9104 while the balance is being asked for still makes the next check ask again', async () => {
    // Concurrent items: one is refused while another's ask is on its way. When that ask comes back, the
    // refusal's "ask again" must still hold, or a run resumed after a top-up would trust the figure from
    // before it. (A check made meanwhile waits for that ask: test/unit/core/dispatch-funds-resume.test.ts.)
    let provider = 350;
    const answers: (() => void)[] = [];
    const gate = new BalanceGate(
      {
        balance: () =>
          new Promise((resolve) => {
            answers.push(() => resolve({ kind: 'known', balanceFen: provider, unsettledFen: 0 }));
          }),
      },
      300_000,
      () => 0,
    );
    const first = gate.covers(300);
    answers.shift()!();
    expect(await first).toBe(true); // 50 left
    gate.settled(300);
    provider = 50;
    expect(await gate.covers(100)).toBe(false); // pause: ask again next time
    const asking = gate.covers(10); // asks again…
    gate.askAgain(); // …and meanwhile an item sent before is refused with 9104
    answers.shift()!();
    expect(await asking).toBe(true); // 50 covers 10
    provider = 100_050; // topped up
    const resumed = gate.covers(200);
    expect(answers).toHaveLength(1); // the 9104 during the ask made this check ask again
    answers.shift()!();
    expect(await resumed).toBe(true);
  });

  it('an ask that throws keeps the "ask again": the next check asks, it does not trust the older figure', async () => {
    // The deployed query loads the merchant key first (SSM, KMS), so it can throw rather than answer
    // "unknown". A run resumed after a pause and a top-up whose first ask threw must not go on with the
    // figure from before the top-up (a pause too early, until the next re-trigger).
    let answer: () => Promise<BalanceOutcome> = async () => ({
      kind: 'known',
      balanceFen: 100,
      unsettledFen: 0,
    });
    const gate = new BalanceGate({ balance: () => answer() }, 300_000, () => 0);
    expect(await gate.covers(200)).toBe(false); // 100 known: pause, ask again next time
    gate.askAgain();
    answer = async () => {
      throw new Error('ParameterNotFound');
    };
    await expect(gate.covers(200)).rejects.toThrow('ParameterNotFound');
    answer = async () => ({ kind: 'known', balanceFen: 100_000, unsettledFen: 0 }); // topped up
    expect(await gate.covers(200)).toBe(true);
  });

  it('an unknown balance never pauses (unknown is not zero)', async () => {
    const w = await world(3);
    const gate = new BalanceGate({ balance: async () => ({ kind: 'unknown', reason: 'timeout' }) });
    const summary = await dispatchBatch({ ...w.deps, balance: gate }, w.batchId, FOREVER);
    expect(summary).toMatchObject({ claimed: 3, stopped: 'done' });
  });

  it('pauses after an apply answered 9104 (the item waits for funds, the rest stays QUEUED)', async () => {
    const w = await world(4);
    w.deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode: '9104', retMsg: '余额不足' });
    const summary = await dispatchBatch(w.deps, w.batchId, { ...FOREVER, concurrency: 1 });
    expect(summary).toMatchObject({ claimed: 1, stopped: 'funds' });
    const statuses = w.store
      .all()
      .map((o) => o.status)
      .sort();
    expect(statuses).toEqual(['AWAITING_FUNDS', 'QUEUED', 'QUEUED', 'QUEUED']);
  });
});

describe('settleBatch', () => {
  it('DISPATCHED → COMPLETED once every item is final, with counts and amounts per status', async () => {
    const w = await world(3);
    await dispatchBatch(w.deps, w.batchId, FOREVER);
    const [a, b, c] = w.store.all();
    const result = (o: PayoutOrder, resultPay: string) =>
      applyInput(w.deps, o, { type: 'result', source: 'notify', resultPay, moneyFen: o.money_fen });
    await result(a!, 'SUCCESS');
    await result(b!, 'SUCCESS');
    let batch = (await w.batches.getBatch(w.batchId))!;
    expect((await settleBatch(w.deps, batch)).status).toBe('DISPATCHED');
    await result(c!, 'FAILURE');
    batch = (await w.batches.getBatch(w.batchId))!;
    const done = await settleBatch(w.deps, batch);
    expect(done.status).toBe('COMPLETED');
    expect(done.counts).toEqual({ SUCCESS: 2, FAILURE: 1 });
    expect(done.amounts).toEqual({ SUCCESS: '20.00', FAILURE: '10.00' });
    expect(done.next_check_at).toBeUndefined();
  });

  it('does not end a batch while the index shows fewer items than it has', async () => {
    const w = await world(2);
    const batch = (await w.batches.getBatch(w.batchId))!;
    w.batches.put({ ...batch, item_count: 3 });
    for (const o of w.store.all()) await applyInput(w.deps, o, { type: 'void', principal: 'checker' });
    expect((await settleBatch(w.deps, (await w.batches.getBatch(w.batchId))!)).status).toBe('DISPATCHING');
  });
});

describe('reconciliation looks', () => {
  it('a due DISPATCHING batch with QUEUED items is re-triggered; one without is settled', async () => {
    const w = await world(2);
    expect(await maintainDispatch(w.deps, w.batchId)).toBe(true);
    expect(w.trigger.calls).toEqual([w.batchId]);
    await dispatchBatch(w.deps, w.batchId, FOREVER);
    const batch = (await w.batches.getBatch(w.batchId))!;
    w.batches.put({ ...batch, status: 'DISPATCHING' });
    await maintainDispatch(w.deps, w.batchId);
    expect((await w.batches.getBatch(w.batchId))?.status).toBe('DISPATCHED');
    expect(w.trigger.calls).toHaveLength(1);
  });

  it('QUEUED item of a DISPATCHING batch: one re-trigger per batch and run, the item looked at later', async () => {
    const w = await world(3);
    const seen = new Set<string>();
    for (const item of w.store.all()) expect(await queuedItemDue(w.deps, item, seen)).toBe('retriggered');
    expect(w.trigger.calls).toEqual([w.batchId]);
    const now = w.deps.clock.now().getTime();
    for (const item of w.store.all()) expect(Date.parse(item.next_check_at!)).toBe(now + 15 * 60_000);
  });

  it('QUEUED item of a batch awaiting approval: looked at again at the approval expiry', async () => {
    const expiry = '2026-11-30T04:00:00.000Z';
    const w = await world(1, { status: 'AWAITING_APPROVAL' });
    const batch = (await w.batches.getBatch(w.batchId))!;
    w.batches.put({ ...batch, approval_expires_at: expiry });
    expect(await queuedItemDue(w.deps, w.store.all()[0]!)).toBe('postponed');
    expect(w.store.all()[0]?.next_check_at).toBe(expiry);
    expect(w.trigger.calls).toEqual([]);
  });

  it('QUEUED item without a batch record: VOIDED as system:abandoned after an hour, not before', async () => {
    const w = await world(1);
    w.batches.records.delete(w.batchId);
    const item = w.store.all()[0]!;
    w.deps.clock.current = new Date(Date.parse(item.created_at) + 30 * 60_000);
    expect(await queuedItemDue(w.deps, item)).toBe('postponed');
    expect(w.store.all()[0]?.next_check_at).toBe(
      new Date(Date.parse(item.created_at) + 3_600_000).toISOString(),
    );
    w.deps.clock.current = new Date(Date.parse(item.created_at) + 61 * 60_000);
    expect(await queuedItemDue(w.deps, w.store.all()[0]!)).toBe('ended');
    expect(w.store.all()[0]).toMatchObject({ status: 'VOIDED', voided_by: ABANDONED_PRINCIPAL });
  });

  it('QUEUED items of a VOIDED or DENIED batch end with it', async () => {
    const voided = await world(1, { status: 'VOIDED' });
    const vb = (await voided.batches.getBatch(voided.batchId))!;
    voided.batches.put({ ...vb, voided_by: 'checker' });
    await queuedItemDue(voided.deps, voided.store.all()[0]!);
    expect(voided.store.all()[0]).toMatchObject({ status: 'VOIDED', voided_by: 'checker' });
    const denied = await world(1, { status: 'DENIED' });
    const db = (await denied.batches.getBatch(denied.batchId))!;
    denied.batches.put({ ...db, denied_by: 'checker' });
    await queuedItemDue(denied.deps, denied.store.all()[0]!);
    expect(denied.store.all()[0]).toMatchObject({ status: 'DENIED', denied_by: 'checker' });
  });
});

describe('providerBudgetProblem', () => {
  it('accepts dispatch + reconcile within the provider rate and refuses more', () => {
    expect(
      providerBudgetProblem({ providerPerSecond: 60, dispatchPerSecond: 50, reconcilePerSecond: 10 }),
    ).toBeUndefined();
    expect(
      providerBudgetProblem({ providerPerSecond: 60, dispatchPerSecond: 51, reconcilePerSecond: 10 }),
    ).toMatch(
      /DISPATCH_RATE_PER_SECOND \(51\) \+ RECONCILE_RATE_PER_SECOND \(10\) must not exceed PROVIDER_RATE_PER_SECOND \(60\)/,
    );
  });
});

describe('reconciliation with batches (runReconciliation)', () => {
  const RECONCILE: ReconcileOptions = {
    minAgeMs: 60_000,
    ratePerSecond: 1000,
    concurrency: 2,
    stuckAfterMs: 86_400_000,
    remainingTimeMs: () => 600_000,
    safetyMarginMs: 0,
  };
  const later = (w: World) => new Date(Date.parse(w.items[0]!.created_at) + 20 * 60_000);

  it('never queries a due QUEUED item: it re-triggers its DISPATCHING batch once per run', async () => {
    const w = await world(3);
    const summary = await runReconciliation(
      { ...w.deps, batchLooks: () => batchLooks(w.deps) },
      { ...RECONCILE, now: later(w) },
    );
    expect(w.deps.provider.queries).toEqual([]);
    expect(w.deps.provider.applies).toEqual([]);
    expect(w.trigger.calls).toEqual([w.batchId]);
    expect(summary).toMatchObject({ examined: 3, unchanged: 3, errors: 0 });
  });

  it('without batch looks a QUEUED item is skipped, not queried', async () => {
    const w = await world(1);
    const summary = await runReconciliation(w.deps, { ...RECONCILE, now: later(w) });
    expect(w.deps.provider.queries).toEqual([]);
    expect(summary.skipped).toBe(1);
  });

  it('a due BATCH# record goes to the batch looks (never read as an order, never queried)', async () => {
    const w = await world(1);
    await dispatchBatch(w.deps, w.batchId, FOREVER);
    // The batch record in the due index, as the table holds it under its key.
    await w.store.create(
      makeOrder({ no_order: `BATCH#${w.batchId}`, next_check_at: '2026-11-27T04:05:00.000Z' }),
    );
    const due: string[] = [];
    const maintainBatch = async (id: string) => void due.push(id);
    const looks = batchLooks(w.deps, maintainBatch);
    await runReconciliation(
      {
        ...w.deps,
        batchLooks: () => ({ ...looks, batchDue: async (id) => void due.push(`dispatch:${id}`) }),
      },
      { ...RECONCILE, now: later(w) },
    );
    expect(due).toEqual([`dispatch:${w.batchId}`]);
    expect(w.deps.provider.queries.map((q) => q.noOrder)).not.toContain(`BATCH#${w.batchId}`);
    // The composition: a status the dispatcher does not own goes to the batch module's maintainBatch.
    const approval = await world(1, { status: 'AWAITING_APPROVAL' });
    await batchLooks(approval.deps, maintainBatch).batchDue(approval.batchId);
    expect(due).toContain(approval.batchId);
  });

  it('BATCH_KEY_PREFIX is the table layout batch prefix', () => {
    expect(BATCH_KEY_PREFIX).toBe(PAYOUTS_TABLE.batchPrefix);
    expect(batchIdOfKey(batchKey('b-1'))).toBe('b-1');
    expect(batchIdOfKey('ORDER1')).toBeUndefined();
  });
});

describe('LocalDispatcher (local mode: the same dispatchBatch, in process)', () => {
  it('runs batches one at a time in the order they became ready; a waiting batch is not queued twice', async () => {
    const a = await world(3);
    // A second batch in the same stores.
    const bId = testNoOrder('B');
    const bItems: PayoutOrder[] = [];
    for (let seq = 1; seq <= 2; seq++) {
      const noOrder = testNoOrder('I');
      const order = queuedItem(
        makeOrder({ no_order: noOrder, payee_sealed: await a.deps.cipher.seal(PAYEE, noOrder) }),
        bId,
        seq,
      );
      await a.store.create(order);
      bItems.push(order);
    }
    a.batches.put(batchRecord(bId, bItems));
    const dispatcher = new LocalDispatcher(a.deps, { concurrency: 2 });
    await dispatcher.batchReady(a.batchId);
    await dispatcher.batchReady(bId);
    await dispatcher.batchReady(bId);
    await dispatcher.idle();
    expect(dispatcher.runs.map((r) => r.batchId)).toEqual([a.batchId, bId]);
    const sent = a.deps.provider.applies.map((x) => x.no_order);
    expect(sent).toEqual([...a.items.map((i) => i.no_order), ...bItems.map((i) => i.no_order)]);
    expect((await a.batches.getBatch(bId))?.status).toBe('DISPATCHED');
  });
});

describe('Batch Completed event', () => {
  it('one event for the change into COMPLETED, with counts and amounts per status, the same on redelivery', async () => {
    const w = await world(2);
    w.deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode: '1005' });
    await dispatchBatch(w.deps, w.batchId, FOREVER);
    const completed = (await w.batches.getBatch(w.batchId))!;
    expect(completed.status).toBe('COMPLETED');
    const before = { ...completed, status: 'DISPATCHED' as const, version: completed.version - 1 };
    const events = batchCompletedEvents(before, completed);
    expect(events).toEqual([
      {
        source: 'lianlian-payout',
        detailType: 'Batch Completed',
        detail: {
          id: `batch:${w.batchId}:${completed.version}`,
          batch_id: w.batchId,
          status: 'COMPLETED',
          previous_status: 'DISPATCHED',
          item_count: 2,
          total_amount: '20.00',
          counts: { REJECTED: 2 },
          amounts: { REJECTED: '20.00' },
          occurred_at: completed.completed_at,
        },
      },
    ]);
    expect(batchCompletedEvents(before, completed)).toEqual(events);
    expect(batchCompletedEvents(completed, completed)).toEqual([]);
    expect(batchCompletedEvents(undefined, { ...completed, status: 'DISPATCHED' })).toEqual([]);
  });
});
