import { describe, expect, it } from 'vitest';
import { openShardFor } from '../../src/adapters/dynamodb/table';
import { LimitExceededError, TransitionConflictError } from '../../src/core/errors';
import type { HistoryEntry, OrderChange, PayoutOrder } from '../../src/core/model';
import type { DueOrderRef, LimitCommit, OrderStore } from '../../src/core/ports';
import { makeOrder } from '../support/order-fixtures';

const T0 = Date.parse('2026-11-27T04:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function entry(from: PayoutOrder['status'], to: PayoutOrder['status'], note: string): HistoryEntry {
  return { at: at(1), source: 'query', from, to, note };
}

function accept(order: PayoutOrder, nextCheckAt = at(600)): OrderChange {
  return {
    status: 'ACCEPTED',
    set: { oid_paybill: '2026112700000001', ret_code: '0000', next_check_at: nextCheckAt },
    history: { at: at(1), source: 'apply', from: order.status, to: 'ACCEPTED', ret_code: '0000' },
    at: at(1),
  };
}

async function createAll(store: OrderStore, orders: readonly PayoutOrder[], concurrency = 25): Promise<void> {
  for (let i = 0; i < orders.length; i += concurrency) {
    const results = await Promise.all(orders.slice(i, i + concurrency).map((o) => store.create(o)));
    expect(results.every((r) => r.created)).toBe(true);
  }
}

async function allDue(store: OrderStore, dueBefore: string, limit = 100): Promise<DueOrderRef[]> {
  const page = await store.listDue({ dueBefore, limit });
  expect(page.cursor).toBeUndefined();
  return [...page.items];
}

/**
 * The OrderStore contract. `makeStore` must return an empty store each time, so every test owns its data
 * (listDue sees the whole store).
 */
export function describeOrderStoreContract(name: string, makeStore: () => Promise<OrderStore>): void {
  describe(`OrderStore contract: ${name}`, () => {
    it('create then get returns the same order, without storage-only attributes', async () => {
      const store = await makeStore();
      const order = makeOrder({ bank_code: '01020000', memo: 'first payout' });
      await expect(store.create(order)).resolves.toEqual({ created: true });
      const read = await store.get(order.no_order);
      expect(read).toEqual(order);
      expect(read).not.toHaveProperty('open_shard');
      await expect(store.get('T-does-not-exist')).resolves.toBeUndefined();
    });

    it('a second create with the same no_order returns the existing order and does not overwrite it', async () => {
      const store = await makeStore();
      const first = makeOrder();
      await store.create(first);
      const second = makeOrder({ no_order: first.no_order, money_fen: 2000, money_order: '20.00' });
      const result = await store.create(second);
      expect(result).toEqual({ created: false, existing: first });
      expect(result.created === false && result.existing).not.toHaveProperty('open_shard');
      await expect(store.get(first.no_order)).resolves.toEqual(first);
    });

    it('20 concurrent creates of one no_order: exactly one is created, all others see the winner', async () => {
      const store = await makeStore();
      const noOrder = makeOrder().no_order;
      const candidates = Array.from({ length: 20 }, (_, i) =>
        makeOrder({ no_order: noOrder, info_order: `attempt ${i}` }),
      );
      const results = await Promise.all(candidates.map((o) => store.create(o)));
      const winners = candidates.filter((_, i) => results[i]?.created);
      expect(winners).toHaveLength(1);
      const stored = await store.get(noOrder);
      expect(stored).toEqual(winners[0]);
      for (const r of results) if (!r.created) expect(r.existing).toEqual(stored);
    });

    it('update with the right status and version bumps the version, sets the patch and appends history', async () => {
      const store = await makeStore();
      const order = makeOrder({ memo: 'keep me' });
      await store.create(order);

      const accepted = await store.update(order, accept(order));
      expect(accepted).toEqual({
        ...order,
        status: 'ACCEPTED',
        version: 2,
        updated_at: at(1),
        oid_paybill: '2026112700000001',
        ret_code: '0000',
        next_check_at: at(600),
        history: [{ at: at(1), source: 'apply', from: 'PENDING', to: 'ACCEPTED', ret_code: '0000' }],
      });
      expect(accepted).not.toHaveProperty('open_shard');

      const processing = await store.update(accepted, {
        status: 'PROCESSING',
        // An undefined value means "leave as is", never "erase".
        set: { result_pay: 'PROCESSING', check_count: 1, memo: undefined },
        history: entry('ACCEPTED', 'PROCESSING', 'at the bank'),
        at: at(2),
      });
      expect(processing.version).toBe(3);
      expect(processing.status).toBe('PROCESSING');
      expect(processing.updated_at).toBe(at(2));
      expect(processing.result_pay).toBe('PROCESSING');
      expect(processing.check_count).toBe(1);
      expect(processing.memo).toBe('keep me');
      expect(processing.oid_paybill).toBe('2026112700000001');
      expect(processing.history.map((h) => h.to)).toEqual(['ACCEPTED', 'PROCESSING']);
      await expect(store.get(order.no_order)).resolves.toEqual(processing);

      // Bookkeeping without a history entry leaves the history alone but still bumps the version.
      const bookkept = await store.update(processing, {
        status: 'PROCESSING',
        set: { check_count: 2 },
        at: at(3),
      });
      expect(bookkept.version).toBe(4);
      expect(bookkept.history).toEqual(processing.history);
    });

    it('update with a stale version, another status or an unknown order throws and changes nothing', async () => {
      const store = await makeStore();
      const order = makeOrder();
      await store.create(order);
      const accepted = await store.update(order, accept(order));

      const stale = store.update(order, { status: 'FAILURE', set: {}, at: at(5) });
      await expect(stale).rejects.toBeInstanceOf(TransitionConflictError);
      await expect(stale).rejects.toMatchObject({ noOrder: order.no_order });
      await expect(
        store.update({ ...accepted, status: 'UNKNOWN' }, { status: 'FAILURE', set: {}, at: at(5) }),
      ).rejects.toBeInstanceOf(TransitionConflictError);
      await expect(
        store.update({ ...accepted, no_order: 'T-missing' }, { status: 'FAILURE', set: {}, at: at(5) }),
      ).rejects.toBeInstanceOf(TransitionConflictError);

      await expect(store.get(order.no_order)).resolves.toEqual(accepted);
      await expect(store.get('T-missing')).resolves.toBeUndefined();
    });

    it('update refuses fields outside the patch (identity and request fields never change)', async () => {
      const store = await makeStore();
      const order = makeOrder();
      await store.create(order);
      const sneaky = { money_fen: 1 } as unknown as OrderChange['set'];
      await expect(store.update(order, { status: 'ACCEPTED', set: sneaky, at: at(1) })).rejects.toThrow(
        TypeError,
      );
      await expect(store.get(order.no_order)).resolves.toEqual(order);
    });

    it('concurrent writers on the same version: exactly one wins', async () => {
      const store = await makeStore();
      const order = makeOrder();
      await store.create(order);
      const targets = ['ACCEPTED', 'UNKNOWN', 'REJECTED', 'WAITING', 'FAILURE'] as const;
      const results = await Promise.allSettled(
        targets.flatMap((status) =>
          [0, 1].map(() =>
            store.update(order, { status, set: {}, history: entry('PENDING', status, 'race'), at: at(1) }),
          ),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const r of lost) expect(r.reason).toBeInstanceOf(TransitionConflictError);
      const stored = await store.get(order.no_order);
      expect(stored?.version).toBe(2);
      expect(stored?.history).toHaveLength(1);
      expect(stored).toEqual(won[0]?.value);
    });

    it('listDue lists open orders due at or before dueBefore, oldest first; finals and later ones are not listed', async () => {
      const store = await makeStore();
      const dueBefore = at(1000);
      const dueLate = makeOrder({ next_check_at: at(900) });
      const dueEarly = makeOrder({ status: 'UNKNOWN', next_check_at: at(100) });
      const dueExactly = makeOrder({ status: 'PROCESSING', next_check_at: dueBefore });
      const later = makeOrder({ next_check_at: at(1001) });
      const createdFinal = makeOrder({ status: 'SUCCESS', next_check_at: at(50) });
      const noCheckTime = makeOrder({ next_check_at: undefined });
      const becomesFinal = makeOrder({ next_check_at: at(200) });
      await createAll(store, [dueLate, dueEarly, dueExactly, later, createdFinal, noCheckTime, becomesFinal]);

      expect((await allDue(store, dueBefore)).map((r) => r.no_order)).toEqual([
        dueEarly.no_order,
        becomesFinal.no_order,
        dueLate.no_order,
        dueExactly.no_order,
      ]);

      const failed = await store.update(becomesFinal, {
        status: 'FAILURE',
        // Even if a caller passes a check time, a final order must leave the index.
        set: { result_pay: 'FAILURE', next_check_at: at(300) },
        history: entry('PENDING', 'FAILURE', 'failed'),
        at: at(2),
      });
      expect(failed).not.toHaveProperty('next_check_at');
      expect(await allDue(store, dueBefore)).toEqual([
        { no_order: dueEarly.no_order, next_check_at: at(100) },
        { no_order: dueLate.no_order, next_check_at: at(900) },
        { no_order: dueExactly.no_order, next_check_at: dueBefore },
      ]);
      expect(await allDue(store, at(99))).toEqual([]);
    });

    it('a SUCCESS that names a check time stays due (the returns watch) until a change says it leaves', async () => {
      const store = await makeStore();
      const order = makeOrder({ status: 'PROCESSING', next_check_at: at(100) });
      await createAll(store, [order]);
      const watched = await store.update(order, {
        status: 'SUCCESS',
        set: { result_pay: 'SUCCESS', next_check_at: at(500) },
        history: entry('PROCESSING', 'SUCCESS', 'paid'),
        at: at(2),
      });
      expect(watched.next_check_at).toBe(at(500));
      expect(await allDue(store, at(1000))).toEqual([{ no_order: order.no_order, next_check_at: at(500) }]);

      const done = await store.update(watched, {
        status: 'SUCCESS',
        set: { check_count: 1 },
        at: at(3),
        leaveDueIndex: true,
      });
      expect(done).not.toHaveProperty('next_check_at');
      expect(done.check_count).toBe(1);
      expect(await allDue(store, at(1000))).toEqual([]);
    });

    it('an anomaly or a details-only change on a watched SUCCESS keeps every index attribute it had', async () => {
      const store = await makeStore();
      const order = makeOrder({ status: 'SUCCESS', result_pay: 'SUCCESS', next_check_at: at(500) });
      // A watched SUCCESS as the returns watch leaves it (created open, then paid with a check time).
      const open = makeOrder({ no_order: order.no_order, status: 'PROCESSING', next_check_at: at(100) });
      await createAll(store, [open]);
      const watched = await store.update(open, {
        status: 'SUCCESS',
        set: { result_pay: 'SUCCESS', next_check_at: order.next_check_at },
        history: entry('PROCESSING', 'SUCCESS', 'paid'),
        at: at(2),
      });
      const anomaly = await store.update(watched, {
        status: 'SUCCESS',
        set: { anomalies: 1 },
        history: { ...entry('SUCCESS', 'SUCCESS', 'contradiction'), anomaly: 'FAILURE after SUCCESS' },
        at: at(3),
      });
      expect(anomaly.next_check_at).toBe(at(500));
      const details = await store.update(anomaly, { status: 'SUCCESS', set: { memo: '已到账' }, at: at(4) });
      expect(details.next_check_at).toBe(at(500));
      expect(await allDue(store, at(1000))).toEqual([{ no_order: order.no_order, next_check_at: at(500) }]);
    });

    it('a transition into SUCCESS without the watch leaves when it says so; leaving and a check time together is refused', async () => {
      const store = await makeStore();
      const order = makeOrder({ status: 'PROCESSING', next_check_at: at(100) });
      await createAll(store, [order]);
      await expect(
        store.update(order, {
          status: 'SUCCESS',
          set: { result_pay: 'SUCCESS', next_check_at: at(500) },
          at: at(2),
          leaveDueIndex: true,
        }),
      ).rejects.toThrow(TypeError);
      const paid = await store.update(order, {
        status: 'SUCCESS',
        set: { result_pay: 'SUCCESS' },
        history: entry('PROCESSING', 'SUCCESS', 'paid'),
        at: at(2),
        leaveDueIndex: true,
      });
      expect(paid).not.toHaveProperty('next_check_at');
      expect(await allDue(store, at(1000))).toEqual([]);
    });

    it('a bookkeeping update that moves next_check_at into the future drops the order from the current due list', async () => {
      const store = await makeStore();
      const order = makeOrder({ status: 'UNKNOWN', next_check_at: at(100) });
      const other = makeOrder({ next_check_at: at(150) });
      await createAll(store, [order, other]);
      expect((await allDue(store, at(200))).map((r) => r.no_order)).toEqual([order.no_order, other.no_order]);

      const backedOff = await store.update(order, {
        status: 'UNKNOWN',
        set: { next_check_at: at(5000), check_count: 1 },
        at: at(200),
      });
      expect(backedOff.next_check_at).toBe(at(5000));
      expect(await allDue(store, at(200))).toEqual([{ no_order: other.no_order, next_check_at: at(150) }]);
      expect(await allDue(store, at(5000))).toEqual([
        { no_order: other.no_order, next_check_at: at(150) },
        { no_order: order.no_order, next_check_at: at(5000) },
      ]);
    });

    it('an open order without a check time joins the due list once an update gives it one', async () => {
      const store = await makeStore();
      const order = makeOrder({ next_check_at: undefined });
      await store.create(order);
      expect(await allDue(store, at(10_000))).toEqual([]);
      await store.update(order, accept(order, at(60)));
      expect(await allDue(store, at(10_000))).toEqual([{ no_order: order.no_order, next_check_at: at(60) }]);
    });

    it('paging 250 due orders with limit 40 returns each exactly once, ascending by next_check_at', async () => {
      const store = await makeStore();
      // Every fifth order shares its predecessor's time, so ties occur within and across shards.
      const due = Array.from({ length: 250 }, (_, i) =>
        makeOrder({
          no_order: `P${String(i).padStart(4, '0')}x${i * 7919}`,
          next_check_at: at(i - (i % 5 === 4 ? 1 : 0)),
        }),
      );
      const notDue = Array.from({ length: 15 }, () => makeOrder({ next_check_at: at(10_000) }));
      const finals = Array.from({ length: 15 }, () => makeOrder({ status: 'SUCCESS', next_check_at: at(3) }));
      await createAll(store, [...due, ...notDue, ...finals]);

      const pages: DueOrderRef[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listDue({ dueBefore: at(5000), limit: 40, ...(cursor ? { cursor } : {}) });
        pages.push([...page.items]);
        cursor = page.cursor;
        expect(pages.length).toBeLessThanOrEqual(10);
      } while (cursor);

      for (const page of pages.slice(0, -1)) expect(page).toHaveLength(40);
      expect(pages.at(-1)?.length).toBeLessThanOrEqual(40);
      const listed = pages.flat();
      expect(listed).toHaveLength(250);
      expect(new Set(listed.map((r) => r.no_order)).size).toBe(250);
      expect(new Set(listed.map((r) => r.no_order))).toEqual(new Set(due.map((o) => o.no_order)));
      const byId = new Map(due.map((o) => [o.no_order, o.next_check_at]));
      for (const ref of listed) expect(ref.next_check_at).toBe(byId.get(ref.no_order));
      const times = listed.map((r) => r.next_check_at);
      expect(times).toEqual([...times].sort());
    });

    it('paging stays exact when the backlog sits in one index shard', async () => {
      const store = await makeStore();
      // Skewed on purpose: whole pages come from one shard, so a store that marks a shard finished just
      // because it consumed everything it had read would lose orders.
      const skewed: PayoutOrder[] = [];
      for (let i = 0; skewed.length < 30; i++) {
        const noOrder = `S${String(i).padStart(5, '0')}`;
        if (openShardFor(noOrder) === 'OPEN#2')
          skewed.push(makeOrder({ no_order: noOrder, next_check_at: at(i) }));
      }
      const elsewhere = makeOrder({ no_order: 'S-late', next_check_at: at(99_999) });
      expect(openShardFor(elsewhere.no_order)).not.toBe('OPEN#2');
      await createAll(store, [...skewed, elsewhere]);

      const listed: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listDue({ dueBefore: at(100_000), limit: 7, ...(cursor ? { cursor } : {}) });
        listed.push(...page.items.map((r) => r.no_order));
        cursor = page.cursor;
        pages++;
        expect(pages).toBeLessThanOrEqual(6);
      } while (cursor);
      expect(listed).toEqual([...skewed.map((o) => o.no_order), elsewhere.no_order]);
    });

    it('listDue rejects a garbage cursor and a non-positive limit', async () => {
      const store = await makeStore();
      await expect(store.listDue({ dueBefore: at(0), limit: 10, cursor: 'not-a-cursor' })).rejects.toThrow(
        RangeError,
      );
      await expect(store.listDue({ dueBefore: at(0), limit: 0 })).rejects.toThrow(RangeError);
    });

    it('callers cannot mutate stored state through returned or passed objects', async () => {
      const store = await makeStore();
      const order = makeOrder();
      const input = structuredClone(order) as { -readonly [K in keyof PayoutOrder]: PayoutOrder[K] };
      await store.create(input);
      input.money_fen = 1;
      const read = (await store.get(order.no_order)) as unknown as {
        history: HistoryEntry[];
        status: string;
      };
      read.history.push(entry('PENDING', 'SUCCESS', 'forged'));
      read.status = 'SUCCESS';
      await expect(store.get(order.no_order)).resolves.toEqual(order);
    });

    // ------------------------------------------------------------------------------------------------
    // Spending controls (issue 10): counters committed with the order write, the awaiting-approval list
    // ------------------------------------------------------------------------------------------------

    const DAY = '2026-11-27';
    const reserve = (amountFen: number, extra: Partial<LimitCommit> = {}): LimitCommit => ({
      kind: 'reserve',
      day: DAY,
      amountFen,
      expiresAt: 1_800_000_000,
      dailyLimitFen: 10_000,
      ...extra,
    });
    const release = (amountFen: number, extra: Partial<LimitCommit> = {}): LimitCommit => ({
      kind: 'release',
      day: DAY,
      amountFen,
      expiresAt: 1_800_000_000,
      ...extra,
    });
    const limitField = async (p: Promise<unknown>) => {
      const error = await p.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LimitExceededError);
      return (error as LimitExceededError).fields[0];
    };

    it('a create with a reservation commits up to the limit exactly; beyond it nothing is recorded or counted', async () => {
      const store = await makeStore();
      await store.create(makeOrder({ money_fen: 6000 }), reserve(6000));
      await store.create(makeOrder({ money_fen: 3999 }), reserve(3999));
      const refused = makeOrder({ money_fen: 2 });
      expect(await limitField(store.create(refused, reserve(2)))).toMatchObject({
        field: 'money_order',
        limit: 'daily_amount',
        remaining: '0.01',
      });
      await expect(store.get(refused.no_order)).resolves.toBeUndefined();
      // The refused attempt counted nothing: exactly the remaining fen still fits, then nothing does.
      await expect(store.create(makeOrder(), reserve(1))).resolves.toEqual({ created: true });
      expect(await limitField(store.create(makeOrder(), reserve(1)))).toMatchObject({ remaining: '0.00' });
      // Another day has its own counter.
      await expect(store.create(makeOrder(), reserve(10_000, { day: '2026-11-28' }))).resolves.toEqual({
        created: true,
      });
    });

    it('an amount larger than the limit on its own is refused even when nothing was counted yet', async () => {
      const store = await makeStore();
      expect(await limitField(store.create(makeOrder(), reserve(10_001)))).toMatchObject({
        limit: 'daily_amount',
        remaining: '100.00',
      });
      const payee = { key: 'payee-a', limitFen: 500 };
      expect(
        await limitField(store.create(makeOrder(), reserve(501, { dailyLimitFen: undefined, payee }))),
      ).toMatchObject({ limit: 'payee_daily_amount', remaining: '5.00' });
    });

    it('an existing order wins over a limit: the replay gets the order and nothing is counted twice', async () => {
      const store = await makeStore();
      const order = makeOrder({ money_fen: 10_000 });
      await store.create(order, reserve(10_000));
      await expect(store.create(order, reserve(10_000))).resolves.toEqual({
        created: false,
        existing: order,
      });
      await store.update(
        order,
        { status: 'REJECTED', set: { limit_held: false }, at: at(1) },
        release(10_000),
      );
      // Counted once, released once: the whole day is free again.
      await expect(store.create(makeOrder(), reserve(10_000))).resolves.toEqual({ created: true });
    });

    it('per payee: amount and count limits on the payee counter, independent per payee key', async () => {
      const store = await makeStore();
      const payee = (key: string) => ({
        dailyLimitFen: undefined,
        payee: { key, limitFen: 1000, limitCount: 2 },
      });
      await store.create(makeOrder(), reserve(600, payee('a')));
      expect(await limitField(store.create(makeOrder(), reserve(401, payee('a'))))).toMatchObject({
        limit: 'payee_daily_amount',
        remaining: '4.00',
      });
      await store.create(makeOrder(), reserve(100, payee('a')));
      expect(await limitField(store.create(makeOrder(), reserve(1, payee('a'))))).toMatchObject({
        limit: 'payee_daily_count',
        remaining: '0',
      });
      await expect(store.create(makeOrder(), reserve(1000, payee('b')))).resolves.toEqual({ created: true });
    });

    it('daily and payee counters move together or not at all', async () => {
      const store = await makeStore();
      const both = { dailyLimitFen: 1000, payee: { key: 'p', limitCount: 1 } };
      await store.create(makeOrder(), reserve(100, both));
      // The payee count refuses: the daily counter must not have moved either.
      await limitField(store.create(makeOrder(), reserve(900, both)));
      await expect(
        store.create(makeOrder(), reserve(900, { dailyLimitFen: 1000, payee: { key: 'q', limitCount: 1 } })),
      ).resolves.toEqual({ created: true });
    });

    it('an update with a reservation: the order condition failing is a conflict and counts nothing', async () => {
      const store = await makeStore();
      const order = makeOrder({ status: 'AWAITING_APPROVAL', money_fen: 10_000 });
      await store.create(order);
      const approve: OrderChange = {
        status: 'PENDING',
        set: { approved_by: 'checker', limit_day: DAY, limit_held: true, next_check_at: at(120) },
        at: at(1),
      };
      await expect(store.update({ ...order, version: 7 }, approve, reserve(10_000))).rejects.toBeInstanceOf(
        TransitionConflictError,
      );
      const written = await store.update(order, approve, reserve(10_000));
      expect(written).toMatchObject({
        status: 'PENDING',
        version: 2,
        approved_by: 'checker',
        limit_held: true,
      });
      await expect(store.get(order.no_order)).resolves.toEqual(written);
      expect(await limitField(store.create(makeOrder(), reserve(1)))).toMatchObject({ remaining: '0.00' });
    });

    it('an update whose reservation crosses a limit writes nothing: the order keeps its status and version', async () => {
      const store = await makeStore();
      await store.create(makeOrder(), reserve(9000));
      const order = makeOrder({ status: 'AWAITING_APPROVAL', money_fen: 2000 });
      await store.create(order);
      const approve: OrderChange = { status: 'PENDING', set: { approved_by: 'checker' }, at: at(1) };
      expect(await limitField(store.update(order, approve, reserve(2000)))).toMatchObject({
        limit: 'daily_amount',
        remaining: '10.00',
      });
      await expect(store.get(order.no_order)).resolves.toEqual(order);
    });

    it('AWAITING_APPROVAL orders are listed oldest first, page by page, and leave the list when decided', async () => {
      const store = await makeStore();
      const waiting = [3, 1, 2, 0].map((s) =>
        makeOrder({ status: 'AWAITING_APPROVAL', created_at: at(s), next_check_at: at(86_400) }),
      );
      for (const o of waiting) await store.create(o);
      await store.create(makeOrder({ created_at: at(0) })); // PENDING: never listed
      const byAge = [...waiting].sort((a, b) => a.created_at.localeCompare(b.created_at));
      await store.update(byAge[1]!, { status: 'DENIED', set: { denied_by: 'checker' }, at: at(5) });
      await store.update(byAge[2]!, { status: 'PENDING', set: { next_check_at: at(200) }, at: at(5) });

      const listed: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listAwaitingApproval({ limit: 1, ...(cursor ? { cursor } : {}) });
        listed.push(...page.items.map((i) => i.no_order));
        cursor = page.cursor;
        expect(++pages).toBeLessThanOrEqual(4);
      } while (cursor);
      expect(listed).toEqual([byAge[0]!.no_order, byAge[3]!.no_order]);
      const all = await store.listAwaitingApproval({ limit: 10 });
      expect(all.items).toEqual([
        { no_order: byAge[0]!.no_order, created_at: byAge[0]!.created_at },
        { no_order: byAge[3]!.no_order, created_at: byAge[3]!.created_at },
      ]);
      const read = await store.get(byAge[0]!.no_order);
      expect(read).toEqual(byAge[0]);
      expect(read).not.toHaveProperty('approval_queue');
      await expect(store.listAwaitingApproval({ limit: 1, cursor: 'garbage' })).rejects.toThrow(RangeError);
      await expect(store.listAwaitingApproval({ limit: 0 })).rejects.toThrow(RangeError);
    });

    it('an AWAITING_APPROVAL order is due at its expiry; DENIED and VOIDED leave the due index', async () => {
      const store = await makeStore();
      const a = makeOrder({ status: 'AWAITING_APPROVAL', next_check_at: at(100) });
      const b = makeOrder({ status: 'AWAITING_APPROVAL', next_check_at: at(100) });
      await store.create(a);
      await store.create(b);
      expect((await allDue(store, at(100))).map((r) => r.no_order).sort()).toEqual(
        [a.no_order, b.no_order].sort(),
      );
      await store.update(a, { status: 'DENIED', set: { denied_by: 'checker' }, at: at(1) });
      await store.update(b, { status: 'VOIDED', set: { voided_by: 'system:expiry' }, at: at(1) });
      expect(await allDue(store, at(100))).toEqual([]);
      expect((await store.get(a.no_order))?.next_check_at).toBeUndefined();
    });
  });
}
