import { describe, expect, it } from 'vitest';
import { approvePayout, denyPayout, voidPayout } from '../../../src/core/approvals';
import { BatchValidationError } from '../../../src/core/batch-input';
import {
  acceptBatch,
  approveBatch,
  type BatchDeps,
  batchReportCsv,
  denyBatch,
  getBatchView,
  listBatchItems,
  maintainBatch,
  voidBatch,
} from '../../../src/core/batches';
import type { ControlPolicy } from '../../../src/core/controls';
import {
  ConflictError,
  ForbiddenError,
  InvalidStateError,
  LimitExceededError,
  ValidationError,
} from '../../../src/core/errors';
import { createPayout } from '../../../src/core/payouts';
import { makeDeps, type TestDeps } from '../../support/fakes';
import { MemoryBatchStore, RecordingDispatchTrigger } from '../../support/memory-batch-store';
import { MemoryOrderStore } from '../../support/memory-order-store';

const CARD = '6222020000000000123';
const OTHER_CARD = '6222020000000000456';
const HEADER = 'no_order,money_order,card_no,acct_name,flag_card,info_order';

type Deps = TestDeps &
  BatchDeps & { orders: MemoryOrderStore; batchStore: MemoryBatchStore; trigger: RecordingDispatchTrigger };

function batchDeps(controls?: Partial<ControlPolicy>): Deps {
  const orders = new MemoryOrderStore();
  const base = makeDeps({
    store: orders,
    ...(controls ? { config: { controls: { approvalTtlMs: 3_600_000, ...controls } } } : {}),
  });
  const batchStore = new MemoryBatchStore(orders);
  const trigger = new RecordingDispatchTrigger();
  return Object.assign(base, { batches: batchStore, dispatch: trigger, orders, batchStore, trigger }) as Deps;
}

function csv(prefix: string, amounts: readonly string[], card = CARD): string {
  return [HEADER, ...amounts.map((a, i) => `${prefix}${i + 1},${a},${card},张三,0,pay ${i + 1}`)].join(
    '\r\n',
  );
}

const body = (text: string) => ({ kind: 'csv' as const, text });

async function rejects<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as T;
  }
  throw new Error(`expected ${type.name}`);
}

describe('acceptBatch', () => {
  it('records every item QUEUED with batch_id, batch_seq, masked payee and a due time, then the batch', async () => {
    const deps = batchDeps();
    const result = await acceptBatch(deps, 'B-1', body(csv('A', ['10.00', '2.50'])), 'alice');
    expect(result.created).toBe(true);
    expect(result.view).toMatchObject({
      batch_id: 'B-1',
      status: 'DISPATCHING',
      item_count: 2,
      total_amount: '12.50',
      counts: { QUEUED: 2 },
      amounts: { QUEUED: '12.50' },
      created_by: 'alice',
    });
    const item = await deps.store.get('A2');
    expect(item).toMatchObject({
      status: 'QUEUED',
      batch_id: 'B-1',
      batch_seq: 2,
      money_fen: 250,
      card_no_masked: expect.not.stringContaining(CARD),
      created_by: 'alice',
      next_check_at: '2026-11-27T04:15:00.000Z',
    });
    expect(JSON.stringify(item)).not.toContain(CARD);
    expect(JSON.stringify(item)).not.toContain('张三');
    expect(deps.trigger.ready).toEqual(['B-1']);
    expect(deps.provider.applies).toHaveLength(0);
  });

  it('records nothing when one row is bad, and reports a number taken by another payout', async () => {
    const deps = batchDeps();
    const single = await createPayout(deps, {
      no_order: 'A2',
      money_order: '1.00',
      card_no: CARD,
      acct_name: '张三',
      flag_card: '0',
      info_order: 'single',
    });
    expect(single.created).toBe(true);
    const error = await rejects(
      acceptBatch(deps, 'B-2', body(csv('A', ['10.00', '2.50', '3.00'])), 'alice'),
      BatchValidationError,
    );
    expect(error.fields).toEqual([
      { row: 2, field: 'no_order', message: 'is already used by another payout' },
    ]);
    expect(deps.orders.size).toBe(1);
    expect(await deps.batches.getBatch('B-2')).toBeUndefined();
  });

  it('deletes what it wrote when a single POST takes a number between the check and the put', async () => {
    const deps = batchDeps();
    const create = deps.store.create.bind(deps.store);
    let raced = false;
    deps.orders.create = async (order, commit) => {
      if (order.no_order === 'R3' && !raced) {
        raced = true;
        await create({ ...order, status: 'PENDING', batch_id: undefined, batch_seq: undefined } as never);
      }
      return create(order, commit);
    };
    const error = await rejects(
      acceptBatch(deps, 'B-3', body(csv('R', ['1.00', '2.00', '3.00', '4.00'])), 'alice'),
      BatchValidationError,
    );
    expect(error.fields).toEqual([
      { row: 3, field: 'no_order', message: 'is already used by another payout' },
    ]);
    expect(deps.orders.all().map((o) => o.no_order)).toEqual(['R3']);
    expect(await deps.batches.getBatch('B-3')).toBeUndefined();
  });

  it('answers an identical repeat with the view (200) and other content with 409', async () => {
    const deps = batchDeps();
    const text = csv('I', ['1.00', '2.00']);
    await acceptBatch(deps, 'B-4', body(text), 'alice');
    const again = await acceptBatch(deps, 'B-4', body(text), 'alice');
    expect(again.created).toBe(false);
    expect(again.view.item_count).toBe(2);
    await rejects(acceptBatch(deps, 'B-4', body(csv('I', ['1.00', '2.01'])), 'alice'), ConflictError);
    // Same non-secret fields, another payee: other content too.
    await rejects(
      acceptBatch(deps, 'B-4', body(csv('I', ['1.00', '2.00'], OTHER_CARD)), 'alice'),
      ConflictError,
    );
    expect(deps.trigger.ready).toEqual(['B-4']);
  });

  it('completes after a crash between the items and the record when the same PUT is retried', async () => {
    const deps = batchDeps();
    const text = csv('C', ['1.00', '2.00', '3.00']);
    deps.batchStore.failNextPut = new Error('crash');
    await expect(acceptBatch(deps, 'B-5', body(text), 'alice')).rejects.toThrow('crash');
    expect(deps.orders.size).toBe(3);
    const retry = await acceptBatch(deps, 'B-5', body(text), 'alice');
    expect(retry.created).toBe(true);
    expect(retry.view).toMatchObject({ status: 'DISPATCHING', item_count: 3, counts: { QUEUED: 3 } });
    // Another batch cannot take those numbers.
    const other = await rejects(acceptBatch(deps, 'B-6', body(text), 'alice'), BatchValidationError);
    expect(other.fields.map((f) => f.row)).toEqual([1, 2, 3]);
  });

  it('waits for approval when an item or the total reaches its threshold', async () => {
    const deps = batchDeps({ approvalMinFen: 100_000, approvalMinBatchFen: 50_000 });
    const small = await acceptBatch(deps, 'S', body(csv('S', ['100.00', '200.00'])), 'alice');
    expect(small.view.status).toBe('DISPATCHING');
    const total = await acceptBatch(deps, 'T', body(csv('T', ['300.00', '200.00'])), 'alice');
    expect(total.view).toMatchObject({
      status: 'AWAITING_APPROVAL',
      approval_expires_at: '2026-11-27T05:00:00.000Z',
    });
    const one = await acceptBatch(deps, 'O', body(csv('O', ['1000.00'])), 'alice');
    expect(one.view.status).toBe('AWAITING_APPROVAL');
    expect(deps.trigger.ready).toEqual(['S']);
  });

  it('refuses a batch over the daily limit (422) and records nothing; reserves the total once otherwise', async () => {
    const deps = batchDeps({ dailyLimitFen: 1_000 });
    const error = await rejects(
      acceptBatch(deps, 'L1', body(csv('L', ['6.00', '5.00'])), 'alice'),
      LimitExceededError,
    );
    expect(error.limit).toBe('daily_amount');
    expect(error.fields[0]).toMatchObject({ limit: 'daily_amount', remaining: '10.00' });
    expect(deps.orders.size).toBe(0);
    await acceptBatch(deps, 'L2', body(csv('M', ['6.00', '4.00'])), 'alice');
    expect(deps.orders.counters.get('LIMIT#2026-11-27')).toMatchObject({ amount_fen: 1_000, count: 2 });
    expect(await deps.store.get('M1')).toMatchObject({ limit_day: '2026-11-27', limit_held: true });
  });

  it('reserves per-payee counters aggregated per payee, releasing earlier ones when a later limit fails', async () => {
    const deps = batchDeps({ payeeDailyLimitCount: 2, dailyLimitFen: 100_000 });
    const text = [
      HEADER,
      `P1,1.00,${CARD},张三,0,a`,
      `P2,1.00,${OTHER_CARD},李四,0,b`,
      `P3,1.00,${CARD},张三,0,c`,
    ].join('\n');
    await acceptBatch(deps, 'PB', body(text), 'alice');
    const payeeCounters = [...deps.orders.counters.entries()].filter(([k]) => k.includes('#P#'));
    expect(payeeCounters.map(([, c]) => c.count).sort()).toEqual([1, 2]);
    // A third payout of the first card crosses its count limit: nothing recorded, nothing left reserved.
    const before = structuredClone([...deps.orders.counters.entries()]);
    const error = await rejects(
      acceptBatch(
        deps,
        'PC',
        body([HEADER, `Q1,1.00,${OTHER_CARD},李四,0,a`, `Q2,1.00,${CARD},张三,0,b`].join('\n')),
        'alice',
      ),
      LimitExceededError,
    );
    expect(error.limit).toBe('payee_daily_count');
    expect([...deps.orders.counters.entries()]).toEqual(before);
    expect(await deps.store.get('Q1')).toBeUndefined();
  });
});

describe('approve, deny, void', () => {
  async function waiting(deps: Deps, id = 'W') {
    await acceptBatch(deps, id, body(csv(id, ['600.00', '500.00'])), 'alice');
  }
  const controls = { approvalMinFen: 50_000, dailyLimitFen: 1_000_000 };

  it('a second person approves: DISPATCHING, limits reserved then, items stamped, dispatcher told', async () => {
    const deps = batchDeps(controls);
    await waiting(deps);
    expect(deps.orders.counters.size).toBe(0);
    await rejects(approveBatch(deps, 'W', 'alice'), ForbiddenError);
    const view = await approveBatch(deps, 'W', 'bob');
    expect(view).toMatchObject({
      status: 'DISPATCHING',
      approved_by: 'bob',
      approved_at: '2026-11-27T04:00:00.000Z',
    });
    expect(deps.orders.counters.get('LIMIT#2026-11-27')).toMatchObject({ amount_fen: 110_000, count: 2 });
    expect(await deps.store.get('W1')).toMatchObject({
      status: 'QUEUED',
      limit_held: true,
      limit_day: '2026-11-27',
    });
    expect(deps.trigger.ready).toEqual(['W']);
    await rejects(approveBatch(deps, 'W', 'carol'), InvalidStateError);
  });

  it('an approval that would cross a limit is 422 and the batch stays AWAITING_APPROVAL', async () => {
    const deps = batchDeps({ approvalMinFen: 50_000, dailyLimitFen: 100_000 });
    await waiting(deps);
    await rejects(approveBatch(deps, 'W', 'bob'), LimitExceededError);
    expect((await deps.batches.getBatch('W'))?.status).toBe('AWAITING_APPROVAL');
    expect(deps.trigger.ready).toEqual([]);
  });

  it('deny needs a reason, not the creator, and denies every item', async () => {
    const deps = batchDeps(controls);
    await waiting(deps);
    await rejects(denyBatch(deps, 'W', 'bob', ' '), ValidationError);
    await rejects(denyBatch(deps, 'W', 'alice', 'mine'), ForbiddenError);
    const view = await denyBatch(deps, 'W', 'bob', 'wrong month');
    expect(view).toMatchObject({ status: 'DENIED', denied_by: 'bob', counts: { DENIED: 2 } });
    expect((await deps.store.get('W2'))?.history.at(-1)).toMatchObject({
      to: 'DENIED',
      principal: 'bob',
      note: 'wrong month',
    });
    expect((await deps.batches.getBatch('W'))?.next_check_at).toBeUndefined();
    await rejects(voidBatch(deps, 'W', 'bob'), InvalidStateError);
  });

  it('void while DISPATCHING voids QUEUED items (releasing each), claimed items keep going', async () => {
    const deps = batchDeps({ dailyLimitFen: 1_000_000 });
    await acceptBatch(deps, 'V', body(csv('V', ['1.00', '2.00', '3.00'])), 'alice');
    // The dispatcher claimed item 1.
    const v1 = (await deps.store.get('V1'))!;
    await deps.store.update(v1, { status: 'PENDING', set: {}, at: '2026-11-27T04:00:01.000Z' });
    const view = await voidBatch(deps, 'V', 'alice', 'cancelled');
    expect(view).toMatchObject({ status: 'VOIDED', voided_by: 'alice', counts: { PENDING: 1, VOIDED: 2 } });
    expect(deps.orders.counters.get('LIMIT#2026-11-27')).toMatchObject({ amount_fen: 100, count: 1 });
  });

  it('single-payout approve/deny of a QUEUED item is invalid_state; void of one item works', async () => {
    const deps = batchDeps();
    await acceptBatch(deps, 'Q', body(csv('Q', ['1.00', '2.00'])), 'alice');
    await rejects(approvePayout(deps, 'Q1', 'bob'), InvalidStateError);
    await rejects(denyPayout(deps, 'Q1', 'bob', 'no'), InvalidStateError);
    expect((await voidPayout(deps, 'Q2', 'bob')).status).toBe('VOIDED');
  });

  it('maintainBatch voids an expired AWAITING_APPROVAL batch and its items as system:expiry', async () => {
    const deps = batchDeps(controls);
    await waiting(deps);
    expect((await maintainBatch(deps, 'W'))?.status).toBe('AWAITING_APPROVAL');
    deps.clock.advance(3_600_000);
    await rejects(approveBatch(deps, 'W', 'bob'), InvalidStateError);
    const after = await maintainBatch(deps, 'W');
    expect(after).toMatchObject({ status: 'VOIDED', voided_by: 'system:expiry' });
    expect(after?.next_check_at).toBeUndefined();
    expect((await deps.store.get('W1'))?.status).toBe('VOIDED');
    expect(await maintainBatch(deps, 'nope')).toBeUndefined();
  });
});

describe('views', () => {
  it('pages items with an opaque cursor, filters by status, names bad parameters; report.csv is masked', async () => {
    const deps = batchDeps();
    await acceptBatch(deps, 'V', body(csv('V', ['1.00', '2.00', '3.00'])), 'alice');
    await voidPayout(deps, 'V2', 'bob');
    const first = await listBatchItems(deps, 'V', { limit: '2' });
    expect(first.items.map((i) => [i.no_order, i.batch_seq])).toEqual([
      ['V1', 1],
      ['V2', 2],
    ]);
    const second = await listBatchItems(deps, 'V', { limit: '2', cursor: first.next_cursor! });
    expect(second).toMatchObject({ items: [{ no_order: 'V3' }], next_cursor: null });
    expect((await listBatchItems(deps, 'V', { status: 'VOIDED' })).items.map((i) => i.no_order)).toEqual([
      'V2',
    ]);
    const bad = await rejects(listBatchItems(deps, 'V', { limit: '0', status: 'NOPE' }), ValidationError);
    expect(bad.fields.map((f) => f.field)).toEqual(['limit', 'status']);
    const cursor = await rejects(listBatchItems(deps, 'V', { cursor: '!!' }), ValidationError);
    expect(cursor.fields).toEqual([{ field: 'cursor', message: 'is not valid' }]);
    const view = await getBatchView(deps, 'V');
    expect(view).toMatchObject({
      counts: { VOIDED: 1, QUEUED: 2 },
      amounts: { VOIDED: '2.00', QUEUED: '4.00' },
    });
    const report = await batchReportCsv(deps, 'V');
    const lines = report.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'no_order,money_order,status,card_no_masked,acct_name_masked,oid_paybill,settle_date,ret_code,memo',
    );
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^V2,2\.00,VOIDED,/);
    expect(report).not.toContain(CARD);
    expect(report).not.toContain('张三');
  });
});
