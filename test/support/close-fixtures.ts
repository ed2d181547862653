import type { BalanceReadings, CloseOrder, CloseReader, VersionedReportStore } from '../../src/core/close';
import { chinaDay } from '../../src/core/days';
import type { PayoutOrder } from '../../src/core/model';
import type { OrderStore } from '../../src/core/ports';
import { isDueIndexed } from '../../src/core/status';
import { decide, type TransitionInput } from '../../src/core/transition';
import type { MemoryOrderStore } from './memory-order-store';
import { makeOrder, testNoOrder } from './order-fixtures';

/** The China day the close tests close: 2026-11-27 (UTC+8) = [2026-11-26T16:00Z, 2026-11-27T16:00Z). */
export const DAY = '2026-11-27';
export const DAY_BEFORE = '2026-11-26';
/** Noon of D and of D-1 in China (04:00Z), and times just inside D's bounds. */
export const ON_D = '2026-11-27T04:00:00.000Z';
export const ON_D_BEFORE = '2026-11-26T04:00:00.000Z';
export const AFTER_D = '2026-11-27T17:00:00.000Z';

/** A result of the provider for `advance`. */
export function resultInput(resultPay: string, moneyFen: number): TransitionInput {
  return {
    type: 'result',
    source: 'notify',
    resultPay,
    moneyFen,
    oidPaybill: '2026112700001',
    settleDate: '20261127',
  };
}

export const ACCEPTED_INPUT: TransitionInput = {
  type: 'apply',
  source: 'apply',
  outcome: { kind: 'accepted', retCode: '0000', oidPaybill: '2026112700001' },
};

/** Runs the real transition function at `at` and writes its decision, as the use cases do. */
export async function advance(
  store: OrderStore,
  noOrder: string,
  input: TransitionInput,
  at: string,
): Promise<PayoutOrder> {
  const order = await store.get(noOrder);
  if (!order) throw new Error(`no order ${noOrder}`);
  const decision = decide(order, input, { now: new Date(at), notFoundGraceMs: 30 * 60 * 1000 });
  if (decision.kind === 'change') {
    return store.update(order, {
      status: decision.status,
      set: decision.set,
      history: decision.entry,
      at,
      ...(decision.leaveDueIndex ? { leaveDueIndex: true } : {}),
    });
  }
  if (decision.kind === 'anomaly') {
    return store.update(order, { status: order.status, set: decision.set, history: decision.entry, at });
  }
  throw new Error(`unexpected decision ${decision.kind} for ${noOrder}`);
}

/** A PENDING order created at `createdAt` (its due time a few minutes later), amount in fen. */
export function orderAt(createdAt: string, moneyFen: number, prefix = 'C'): PayoutOrder {
  const yuan = `${Math.trunc(moneyFen / 100)}.${String(moneyFen % 100).padStart(2, '0')}`;
  return makeOrder({
    no_order: testNoOrder(prefix),
    money_fen: moneyFen,
    money_order: yuan,
    created_at: createdAt,
    updated_at: createdAt,
    applied_at: createdAt,
    next_check_at: new Date(Date.parse(createdAt) + 5 * 60_000).toISOString(),
  });
}

/**
 * The close scenario every level runs (unit with the memory store, integration with DynamoDB Local):
 * - paid: created on D, accepted and SUCCESS on D (12.34)
 * - failed: created on D, FAILURE on D (5.00)
 * - returned: created on D-1, SUCCESS on D-1, CANCEL on D (20.00): D's returns, not D's created counts
 * - lateSuccess: created on D-1, SUCCESS on D (7.00): a late result of D
 * - open: created on D, accepted, still open (3.00), aged 12 h at the end of D
 * - anomalous: created on D, SUCCESS on D, then a FAILURE report (an anomaly) (1.00)
 * - tomorrow: created after D, open: in no part of D's statement
 */
export async function seedCloseScenario(store: OrderStore) {
  const make = async (createdAt: string, fen: number, prefix: string) => {
    const order = orderAt(createdAt, fen, prefix);
    await store.create(order);
    return order.no_order;
  };
  const paid = await make(ON_D, 1234, 'PAID');
  await advance(store, paid, ACCEPTED_INPUT, '2026-11-27T04:00:01.000Z');
  await advance(store, paid, resultInput('SUCCESS', 1234), '2026-11-27T05:00:00.000Z');

  const failed = await make(ON_D, 500, 'FAIL');
  await advance(store, failed, ACCEPTED_INPUT, '2026-11-27T04:00:01.000Z');
  await advance(store, failed, resultInput('FAILURE', 500), '2026-11-27T05:00:00.000Z');

  const returned = await make(ON_D_BEFORE, 2000, 'RET');
  await advance(store, returned, ACCEPTED_INPUT, '2026-11-26T04:00:01.000Z');
  await advance(store, returned, resultInput('SUCCESS', 2000), '2026-11-26T05:00:00.000Z');
  await advance(store, returned, resultInput('CANCEL', 2000), '2026-11-27T06:00:00.000Z');

  const lateSuccess = await make(ON_D_BEFORE, 700, 'LATE');
  await advance(store, lateSuccess, ACCEPTED_INPUT, '2026-11-26T04:00:01.000Z');
  await advance(store, lateSuccess, resultInput('SUCCESS', 700), '2026-11-27T01:00:00.000Z');

  const open = await make(ON_D, 300, 'OPEN');
  await advance(store, open, ACCEPTED_INPUT, '2026-11-27T04:00:01.000Z');

  const anomalous = await make(ON_D, 100, 'ANOM');
  await advance(store, anomalous, ACCEPTED_INPUT, '2026-11-27T04:00:01.000Z');
  await advance(store, anomalous, resultInput('SUCCESS', 100), '2026-11-27T05:00:00.000Z');
  await advance(store, anomalous, resultInput('FAILURE', 100), '2026-11-27T06:00:00.000Z');

  const tomorrow = await make(AFTER_D, 900, 'TMRW');
  return { paid, failed, returned, lateSuccess, open, anomalous, tomorrow };
}

/** The close's reader over the memory store: what the three indexes would hold, computed from the orders. */
export class MemoryCloseReader implements CloseReader {
  readonly readings = new Map<string, BalanceReadings>();
  constructor(private readonly store: MemoryOrderStore) {}

  async createdOn(day: string): Promise<CloseOrder[]> {
    return this.store.all().filter((o) => chinaDay(new Date(o.created_at)) === day);
  }

  async lateOn(day: string): Promise<CloseOrder[]> {
    return this.store.all().filter((o) => o.late_day === day);
  }

  async openOrders(): Promise<CloseOrder[]> {
    return this.store.all().filter((o) => isDueIndexed(o.status, o.next_check_at));
  }

  async balanceReadings(day: string): Promise<BalanceReadings | undefined> {
    return this.readings.get(day);
  }
}

/** A versioned reports store in memory: every version kept, versions numbered from 1. */
export class MemoryReportStore implements VersionedReportStore {
  readonly versions = new Map<string, { body: string; contentType: string }[]>();

  async put(key: string, body: string, contentType: string): Promise<{ version: string }> {
    const list = this.versions.get(key) ?? [];
    list.push({ body, contentType });
    this.versions.set(key, list);
    return { version: String(list.length) };
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.current(key))?.body;
  }

  async current(key: string): Promise<{ body: string; version: string } | undefined> {
    const list = this.versions.get(key);
    const last = list?.at(-1);
    return last ? { body: last.body, version: String(list!.length) } : undefined;
  }

  async link(key: string): Promise<string> {
    return `memory://${key}`;
  }
}
