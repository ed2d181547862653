import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import {
  parseSchedulePayload,
  reconcileHandler,
  reconcileOptionsFor,
  SchedulePayloadError,
} from '../../../functions/reconcile/handler';
import { MemoryMetrics } from '../../../functions/shared/observability';
import { buildRuntime } from '../../../functions/shared/runtime';
import { LOCAL_OID_PARTNER as OID } from '../../../local/test-merchant';
import { METRICS } from '../../../src/config/contract';
import { TransitionConflictError } from '../../../src/core/errors';
import type { PayoutOrder } from '../../../src/core/model';
import type {
  ApplyOutcome,
  Log,
  MetricsPort,
  OrderStore,
  ProviderClient,
  QueryOutcome,
} from '../../../src/core/ports';
import { type ReconcileDeps, type ReconcileOptions, runReconciliation } from '../../../src/core/reconcile';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder } from '../../support/order-fixtures';

const MIN = 60_000;
const HOUR = 60 * MIN;
// The fixtures' orders are created at 04:00Z and due at 04:05Z; "now" is just after that.
const NOW = new Date('2026-11-27T04:10:00.000Z');
const GRACE_MS = 30 * MIN;
/** An applied_at whose 8901 grace is over at NOW. */
const PAST_GRACE = new Date(NOW.getTime() - GRACE_MS - MIN).toISOString();
const CARD = '6222020000000000123';
const NAME = '测试收款人';

type Answer = QueryOutcome | ((noOrder: string) => Promise<QueryOutcome> | QueryOutcome);

const found = (order: Pick<PayoutOrder, 'no_order' | 'money_order'>, resultPay: string): QueryOutcome => ({
  kind: 'found',
  result: {
    ret_code: '0000',
    oid_partner: OID,
    no_order: order.no_order,
    money_order: order.money_order,
    result_pay: resultPay,
    oid_paybill: '2026112700000001',
    settle_date: '20261127',
    sign_type: 'RSA',
    sign: 'signature',
  },
});
const notFound: QueryOutcome = { kind: 'not_found', retCode: '8901' };
const unknownAnswer: QueryOutcome = { kind: 'unknown', reason: 'timeout' };

interface Recorded {
  name: string;
  value: number;
  dimensions?: Record<string, string>;
}

function harness(
  options: { answers?: Map<string, Answer>; defaultAnswer?: Answer; store?: OrderStore } = {},
) {
  const store = options.store ?? new MemoryOrderStore();
  const answers = options.answers ?? new Map<string, Answer>();
  const queried: string[] = [];
  const applied: { no_order: string; dt_order: string }[] = [];
  let clockMs = NOW.getTime();
  const provider: ProviderClient = {
    apply: vi.fn(async (fields): Promise<ApplyOutcome> => {
      applied.push({ no_order: fields.no_order, dt_order: fields.dt_order });
      return { kind: 'accepted', retCode: '0000', oidPaybill: '2026112700000002' };
    }),
    query: vi.fn(async (noOrder: string): Promise<QueryOutcome> => {
      queried.push(noOrder);
      const answer = answers.get(noOrder) ?? options.defaultAnswer ?? notFound;
      return typeof answer === 'function' ? answer(noOrder) : answer;
    }),
  };
  const logs: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  const log: Log = {
    debug: (message, attributes) => logs.push({ level: 'debug', message, attributes }),
    info: (message, attributes) => logs.push({ level: 'info', message, attributes }),
    warn: (message, attributes) => logs.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => logs.push({ level: 'error', message, attributes }),
  };
  const metrics: Recorded[] = [];
  const metricsPort: MetricsPort = {
    count: (name, value = 1, dimensions) => metrics.push({ name, value, dimensions }),
  };
  const deps: ReconcileDeps = {
    store,
    provider,
    cipher: {
      seal: async () => 'sealed',
      open: async () => ({ card_no: CARD, acct_name: NAME }),
    },
    clock: { now: () => new Date(clockMs) },
    log,
    metrics: metricsPort,
    config: {
      oidPartner: OID,
      notifyUrl: 'http://127.0.0.1:3000/lianlian/notify',
      notFoundGraceMs: GRACE_MS,
      firstCheckDelayMs: 2 * MIN,
    },
    // Rate limiting has its own tests; here it would only slow the suite down.
    limiter: { acquire: async () => undefined },
  };
  const options_: ReconcileOptions = {
    minAgeMs: 2 * MIN,
    ratePerSecond: 10,
    concurrency: 4,
    stuckAfterMs: 24 * HOUR,
    remainingTimeMs: () => 15 * MIN,
    safetyMarginMs: 30_000,
  };
  return {
    store,
    deps,
    queried,
    applied,
    logs,
    metrics,
    answers,
    provider,
    options: options_,
    setClock: (d: Date) => {
      clockMs = d.getTime();
    },
    run: (overrides: Partial<ReconcileOptions> = {}) =>
      runReconciliation(deps, { ...options_, ...overrides }),
    metric: (name: string, dimensions?: Record<string, string>) =>
      metrics
        .filter((m) => m.name === name && JSON.stringify(m.dimensions) === JSON.stringify(dimensions))
        .reduce((sum, m) => sum + m.value, 0),
  };
}

async function seed(store: OrderStore, overrides: Partial<PayoutOrder>): Promise<PayoutOrder> {
  const order = makeOrder(overrides);
  await store.create(order);
  return order;
}

describe('runReconciliation: what it looks at', () => {
  it('queries only due open orders and applies the answer through the transition function', async () => {
    const h = harness();
    const due = await seed(h.store, { status: 'ACCEPTED' });
    const later = await seed(h.store, { status: 'ACCEPTED', next_check_at: '2026-11-27T05:00:00.000Z' });
    await seed(h.store, { status: 'SUCCESS', next_check_at: undefined });
    h.answers.set(due.no_order, found(due, 'SUCCESS'));

    const summary = await h.run();

    expect(h.queried).toEqual([due.no_order]);
    expect(summary).toMatchObject({ examined: 1, changed: 1, unchanged: 0, resent: 0, stoppedEarly: false });
    const after = await h.store.get(due.no_order);
    expect(after?.status).toBe('SUCCESS');
    expect(after?.history.at(-1)).toMatchObject({ source: 'reconcile', from: 'ACCEPTED', to: 'SUCCESS' });
    expect((await h.store.get(later.no_order))?.version).toBe(1);
  });

  it('pages through a backlog larger than one page, looking at each order once', async () => {
    const h = harness({ defaultAnswer: unknownAnswer });
    const orders = [];
    for (let i = 0; i < 7; i++) {
      orders.push(await seed(h.store, { status: 'UNKNOWN', next_check_at: `2026-11-27T04:0${i}:00.000Z` }));
    }
    const listDue = vi.spyOn(h.store, 'listDue');

    const summary = await h.run({ pageSize: 2 });

    expect(summary.examined).toBe(7);
    expect(summary.unknown).toBe(7);
    expect(new Set(h.queried).size).toBe(7);
    expect(listDue.mock.calls.length).toBeGreaterThanOrEqual(4);
    for (const call of listDue.mock.calls) expect(call[0].limit).toBe(2);
  });

  it('leaves alone an order changed more recently than the minimum age', async () => {
    const h = harness({ defaultAnswer: unknownAnswer });
    await seed(h.store, { status: 'ACCEPTED', updated_at: '2026-11-27T04:09:00.000Z' });
    const summary = await h.run();
    expect(h.queried).toEqual([]);
    expect(summary).toMatchObject({ examined: 0, skipped: 1 });
  });

  it('runs at most `concurrency` queries at a time', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow: Answer = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return unknownAnswer;
    };
    const h = harness({ defaultAnswer: slow });
    for (let i = 0; i < 12; i++) await seed(h.store, { status: 'UNKNOWN' });
    const summary = await h.run({ concurrency: 3 });
    expect(summary.examined).toBe(12);
    expect(peak).toBe(3);
  });

  it('acquires a rate-limit slot for every provider call', async () => {
    const h = harness();
    const pending = await seed(h.store, { status: 'PENDING', applied_at: PAST_GRACE });
    const accepted = await seed(h.store, { status: 'ACCEPTED' });
    h.answers.set(accepted.no_order, found(accepted, 'PROCESSING'));
    const acquire = vi.fn(async () => undefined);
    await runReconciliation({ ...h.deps, limiter: { acquire } }, h.options);
    // Two queries and one resend of the PENDING order.
    expect(acquire).toHaveBeenCalledTimes(3);
    expect(h.applied.map((a) => a.no_order)).toEqual([pending.no_order]);
  });
});

describe('runReconciliation: decisions', () => {
  it('leaves a PENDING order alone while 8901 is inside the grace: the apply may still be in flight', async () => {
    const h = harness();
    const order = await seed(h.store, { status: 'PENDING' }); // applied 10 minutes before NOW
    const summary = await h.run();
    expect(summary).toMatchObject({ examined: 1, resent: 0, unchanged: 1 });
    expect(h.applied).toEqual([]);
    const after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'PENDING', apply_attempts: 1, check_count: 1 });
    expect(after?.history).toEqual([]);
  });

  it('resends a PENDING order the provider does not know for the whole grace, under the SAME no_order and dt_order', async () => {
    const h = harness();
    const order = await seed(h.store, { status: 'PENDING', applied_at: PAST_GRACE });
    const summary = await h.run();
    expect(summary).toMatchObject({ examined: 1, resent: 1, changed: 0 });
    expect(h.applied).toEqual([{ no_order: order.no_order, dt_order: order.dt_order }]);
    const after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'ACCEPTED', apply_attempts: 2, check_count: 1 });
  });

  it('a refused resend leaves the order open and due: UNKNOWN, counted as resent, PayoutResendRefused', async () => {
    const h = harness();
    const order = await seed(h.store, { status: 'PENDING', applied_at: PAST_GRACE });
    vi.mocked(h.provider.apply).mockImplementation(async (fields) => {
      h.applied.push({ no_order: fields.no_order, dt_order: fields.dt_order });
      return { kind: 'rejected', retCode: '9104', retMsg: 'balance insufficient' };
    });
    const summary = await h.run();
    expect(summary).toMatchObject({ examined: 1, resent: 1, changed: 0 });
    const after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'UNKNOWN', ret_code: '9104', apply_attempts: 2, check_count: 1 });
    expect(h.metric(METRICS.resendRefused)).toBe(1);
    // Still in the due index: the next look comes with back-off, as for any open order.
    const due = await h.store.listDue({ dueBefore: '2100-01-01T00:00:00.000Z', limit: 10 });
    expect(due.items.map((r) => r.no_order)).toEqual([order.no_order]);
  });

  it('does not resend a PENDING order the provider reports: it takes the reported status', async () => {
    const h = harness();
    const order = await seed(h.store, { status: 'PENDING' });
    h.answers.set(order.no_order, found(order, 'PROCESSING'));
    const summary = await h.run();
    expect(h.applied).toEqual([]);
    expect(summary).toMatchObject({ changed: 1, resent: 0 });
    expect((await h.store.get(order.no_order))?.status).toBe('PROCESSING');
  });

  it('8901 inside the grace period changes nothing; after it, UNKNOWN becomes REJECTED with the reason', async () => {
    const h = harness({ defaultAnswer: notFound });
    const order = await seed(h.store, { status: 'UNKNOWN', ret_code: '9999' });

    const inside = await h.run();
    expect(inside).toMatchObject({ examined: 1, unchanged: 1, changed: 0 });
    const kept = await h.store.get(order.no_order);
    expect(kept?.status).toBe('UNKNOWN');
    expect(kept?.history).toEqual([]);

    const summary = await h.run({ now: new Date(NOW.getTime() + GRACE_MS) });
    expect(summary).toMatchObject({ examined: 1, changed: 1 });
    const after = await h.store.get(order.no_order);
    expect(after?.status).toBe('REJECTED');
    expect(after?.history.at(-1)?.note).toMatch(/^8901 persisted \d+ min after the apply$/);
    expect(after?.next_check_at).toBeUndefined();
  });

  it('8901 after the grace period for an ACCEPTED order records an anomaly once and never closes it', async () => {
    const h = harness({ defaultAnswer: notFound });
    const order = await seed(h.store, { status: 'ACCEPTED' });
    const later = new Date(NOW.getTime() + GRACE_MS);
    const first = await h.run({ now: later });
    expect(first).toMatchObject({ examined: 1, anomalies: 1, unchanged: 1, changed: 0 });
    // Back-off has pushed it out; look again two hours on: the same contradiction is not counted again.
    const second = await h.run({ now: new Date(later.getTime() + 2 * HOUR) });
    expect(second).toMatchObject({ examined: 1, anomalies: 0 });
    const after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'ACCEPTED', anomalies: 1 });
    expect(h.metric(METRICS.anomalies)).toBe(1);
  });

  it('an unknown answer changes nothing but the next check', async () => {
    const h = harness({ defaultAnswer: unknownAnswer });
    const order = await seed(h.store, { status: 'UNKNOWN' });
    const summary = await h.run();
    expect(summary).toMatchObject({ examined: 1, unknown: 1 });
    const after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'UNKNOWN', check_count: 1, history: [] });
    expect(after?.next_check_at).toBe(new Date(NOW.getTime() + 2 * MIN).toISOString());
  });
});

describe('runReconciliation: back-off', () => {
  it('pushes an order that stays WAITING back exponentially, so the next runs do not query it', async () => {
    const h = harness();
    const order = await seed(h.store, { status: 'ACCEPTED' });
    h.answers.set(order.no_order, found(order, 'WAITING'));

    await h.run();
    let after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'WAITING', check_count: 1 });
    expect(after?.next_check_at).toBe(new Date(NOW.getTime() + 2 * MIN).toISOString());

    // The next scheduled run a minute later leaves it alone.
    const next = await h.run({ now: new Date(NOW.getTime() + MIN) });
    expect(next.examined).toBe(0);
    expect(h.queried).toHaveLength(1);

    // Due again after 2 min; then after 4 more.
    h.setClock(new Date(NOW.getTime() + 2 * MIN));
    await h.run();
    after = await h.store.get(order.no_order);
    expect(after).toMatchObject({ status: 'WAITING', check_count: 2 });
    expect(after?.next_check_at).toBe(new Date(NOW.getTime() + 6 * MIN).toISOString());
    expect(h.queried).toHaveLength(2);
  });

  it('a conflict on the bookkeeping write (a notification got there first) is skipped, not an error', async () => {
    const inner = new MemoryOrderStore();
    const store: OrderStore = {
      create: (o) => inner.create(o),
      listAwaitingApproval: (q) => inner.listAwaitingApproval(q),
      get: (n) => inner.get(n),
      listDue: (q) => inner.listDue(q),
      update: async (expected, change) => {
        if (change.set.check_count !== undefined) throw new TransitionConflictError(expected.no_order);
        return inner.update(expected, change);
      },
    };
    const h = harness({ store });
    const order = await seed(store, { status: 'WAITING' });
    h.answers.set(order.no_order, found(order, 'WAITING'));
    const summary = await h.run();
    expect(summary).toMatchObject({ examined: 1, unchanged: 1, errors: 0 });
    // It stays due and is reconsidered next run.
    expect((await store.get(order.no_order))?.next_check_at).toBe(order.next_check_at);
  });
});

describe('runReconciliation: failures, time and reporting', () => {
  it('isolates a failing order: the others are reconciled, the failed one stays due', async () => {
    const h = harness();
    const bad = await seed(h.store, { status: 'ACCEPTED' });
    const good = await seed(h.store, { status: 'ACCEPTED' });
    h.answers.set(bad.no_order, () => Promise.reject(new Error('socket hang up')));
    h.answers.set(good.no_order, found(good, 'SUCCESS'));
    const summary = await h.run();
    expect(summary).toMatchObject({ examined: 2, errors: 1, changed: 1 });
    expect(await h.store.get(bad.no_order)).toMatchObject({ status: 'ACCEPTED', version: 1 });
    expect(h.logs.some((l) => l.level === 'error' && l.attributes?.no_order === bad.no_order)).toBe(true);
  });

  it('counts a failed read and a failed bookkeeping write without losing the order', async () => {
    const inner = new MemoryOrderStore();
    const unreadable = makeOrder({ status: 'ACCEPTED' });
    const store: OrderStore = {
      create: (o) => inner.create(o),
      listAwaitingApproval: (q) => inner.listAwaitingApproval(q),
      listDue: (q) => inner.listDue(q),
      get: async (n) => {
        if (n === unreadable.no_order) throw new Error('InternalServerError');
        return inner.get(n);
      },
      update: async (expected, change) => {
        if (change.set.check_count !== undefined) throw new Error('ThrottlingException');
        return inner.update(expected, change);
      },
    };
    const h = harness({ store, defaultAnswer: unknownAnswer });
    await store.create(unreadable);
    const open = await seed(store, { status: 'WAITING' });

    const summary = await h.run();

    expect(summary).toMatchObject({ examined: 2, errors: 1, unknown: 1 });
    const { examined, changed, resent, unchanged, unknown, errors } = summary;
    expect(changed + resent + unchanged + unknown + errors).toBe(examined);
    // Still due: the next run looks again.
    expect((await store.get(open.no_order))?.next_check_at).toBe(open.next_check_at);
    expect(h.logs.some((l) => l.level === 'warn' && l.attributes?.no_order === open.no_order)).toBe(true);
  });

  it('stops taking orders when the remaining time drops under the margin and leaves the rest due', async () => {
    const h = harness({ defaultAnswer: unknownAnswer });
    for (let i = 0; i < 8; i++) await seed(h.store, { status: 'UNKNOWN' });
    // After three queries the "Lambda" has less than the margin left.
    const remainingTimeMs = () => (h.queried.length >= 3 ? 10_000 : 120_000);
    const first = await h.run({ concurrency: 1, remainingTimeMs, safetyMarginMs: 30_000 });
    expect(first).toMatchObject({ examined: 3, stoppedEarly: true });

    const second = await h.run();
    expect(second).toMatchObject({ examined: 5, stoppedEarly: false });
    // No order was asked about twice.
    expect(new Set(h.queried).size).toBe(8);
  });

  it('does not report stoppedEarly when the time runs out after the last due order', async () => {
    const h = harness({ defaultAnswer: unknownAnswer });
    await seed(h.store, { status: 'UNKNOWN' });
    const summary = await h.run({ remainingTimeMs: () => (h.queried.length >= 1 ? 0 : 60_000) });
    expect(summary).toMatchObject({ examined: 1, stoppedEarly: false });
  });

  it('reports orders open for longer than stuckAfterMs (never failing them) and the open backlog by age', async () => {
    const h = harness();
    const stuck = await seed(h.store, {
      status: 'PROCESSING',
      created_at: '2026-11-26T03:00:00.000Z',
      updated_at: '2026-11-27T03:00:00.000Z',
    });
    const young = await seed(h.store, { status: 'ACCEPTED' });
    const done = await seed(h.store, { status: 'ACCEPTED' });
    h.answers.set(stuck.no_order, found(stuck, 'PROCESSING'));
    h.answers.set(young.no_order, found(young, 'WAITING'));
    h.answers.set(done.no_order, found(done, 'FAILURE'));

    const summary = await h.run();

    expect(summary.stuck).toBe(1);
    expect(summary.pendingByAgeBucket).toEqual({ lt1h: 1, '1to6h': 0, '6to24h': 0, gt24h: 1 });
    expect((await h.store.get(stuck.no_order))?.status).toBe('PROCESSING');
    expect(h.metric(METRICS.stuck)).toBe(1);
    expect(h.metric(METRICS.reconcileExamined)).toBe(3);
    expect(h.metric(METRICS.reconcileChanged)).toBe(2);
    expect(h.metric(METRICS.reconcileOpenOver24h)).toBe(1);
    expect(h.metric(METRICS.reconcileOpenUnder1h)).toBe(1);
    expect(h.metric(METRICS.reconcileOpen6to24h)).toBe(0);
    const warning = h.logs.find((l) => l.message.startsWith('payout stuck'));
    expect(warning?.attributes).toMatchObject({
      no_order: stuck.no_order,
      status: 'PROCESSING',
      age_hours: 25,
    });
  });

  it('emits zero-valued metrics when there is nothing to do, so alarms see data', async () => {
    const h = harness();
    const summary = await h.run();
    expect(summary.examined).toBe(0);
    for (const name of [METRICS.reconcileExamined, METRICS.reconcileChanged, METRICS.stuck]) {
      expect(h.metrics.some((m) => m.name === name && m.value === 0)).toBe(true);
    }
  });

  it('fails the run when the due list cannot be read, after the orders in flight are done', async () => {
    const inner = new MemoryOrderStore();
    const store: OrderStore = {
      create: (o) => inner.create(o),
      listAwaitingApproval: (q) => inner.listAwaitingApproval(q),
      get: (n) => inner.get(n),
      update: (e, c) => inner.update(e, c),
      listDue: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const h = harness({ store });
    await expect(h.run()).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(h.metrics.some((m) => m.name === METRICS.reconcileExamined)).toBe(true);
  });

  it('logs no card number or payee name, whatever happens', async () => {
    const h = harness();
    await seed(h.store, { status: 'PENDING' });
    const stuck = await seed(h.store, { status: 'ACCEPTED', created_at: '2026-11-25T00:00:00.000Z' });
    h.answers.set(stuck.no_order, found(stuck, 'PROCESSING'));
    await h.run();
    const text = JSON.stringify(h.logs);
    expect(h.logs.length).toBeGreaterThan(0);
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(NAME);
  });
});

describe('reconcile handler', () => {
  const env = {
    KEY_SOURCE: 'env',
    TABLE_NAME: 'payouts',
    LLP_API_BASE: 'http://127.0.0.1:9',
    LLP_OID_PARTNER: OID,
    LLP_SIGN_TYPE: 'MD5',
    LLP_MD5_KEY: 'md5-test-key',
    LOCAL_FIELD_KEY: Buffer.alloc(32, 1).toString('base64'),
    NOTIFY_URL: 'http://127.0.0.1:3000/lianlian/notify',
    LLP_TIMEOUT_MS: '2000',
    RECONCILE_MIN_AGE_SECONDS: '120',
    RECONCILE_RATE_PER_SECOND: '50',
    RECONCILE_CONCURRENCY: '2',
  };
  const context = (remaining: number) =>
    ({ getRemainingTimeInMillis: () => remaining }) as unknown as Context;
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

  it('accepts only the typed schedule payload', () => {
    expect(parseSchedulePayload({ kind: 'reconcile' })).toEqual({ kind: 'reconcile' });
    expect(parseSchedulePayload({ kind: 'reconcile', minAgeSeconds: 30 })).toEqual({
      kind: 'reconcile',
      minAgeSeconds: 30,
    });
    expect(() => parseSchedulePayload({ kind: 'other' })).toThrow(/kind/);
    expect(() => parseSchedulePayload({ kind: 'reconcile', minAgeSeconds: 0 })).toThrow(/minAgeSeconds/);
    expect(() => parseSchedulePayload({ kind: 'reconcile', minAgeSeconds: '30' })).toThrow(/minAgeSeconds/);
    expect(() => parseSchedulePayload(null)).toThrow();
  });

  it('derives the run options from the configuration and the payload', () => {
    const runtime = buildRuntime(env, {
      store: new MemoryOrderStore(),
      metrics: new MemoryMetrics(),
      logger,
    });
    const options = reconcileOptionsFor(runtime.config, { kind: 'reconcile', minAgeSeconds: 30 }, () => 1);
    expect(options).toMatchObject({
      minAgeMs: 30_000,
      ratePerSecond: 50,
      concurrency: 2,
      stuckAfterMs: 24 * HOUR,
      // A query and a resend at the provider timeout each, plus store writes.
      safetyMarginMs: 9_000,
    });
    expect(reconcileOptionsFor(runtime.config, { kind: 'reconcile' }, () => 1).minAgeMs).toBe(120_000);
  });

  it('refuses a minAgeSeconds override that breaks the timing rule, naming it and why', () => {
    const runtime = buildRuntime(env, {
      store: new MemoryOrderStore(),
      metrics: new MemoryMetrics(),
      logger,
    });
    // Provider timeout 2 s + the apply function's 10 s margin: an apply may be in flight for 12 s.
    const tooSoon = () =>
      reconcileOptionsFor(runtime.config, { kind: 'reconcile', minAgeSeconds: 12 }, () => 1);
    expect(tooSoon).toThrow(SchedulePayloadError);
    expect(tooSoon).toThrow(/minAgeSeconds must be more than 12 s .*in flight/);
    expect(
      reconcileOptionsFor(runtime.config, { kind: 'reconcile', minAgeSeconds: 13 }, () => 1).minAgeMs,
    ).toBe(13_000);
  });

  it('runs one pass with the Lambda deadline and returns the summary', async () => {
    const store = new MemoryOrderStore();
    const order = makeOrder({ status: 'ACCEPTED', updated_at: '2020-01-01T00:00:00.000Z' });
    await store.create({ ...order, next_check_at: '2020-01-01T00:00:00.000Z' });
    const query = vi.fn(async (): Promise<QueryOutcome> => found(order, 'SUCCESS'));
    const provider: ProviderClient = { apply: vi.fn(), query };
    const metrics = new MemoryMetrics();
    const runtime = buildRuntime(env, { store, provider, metrics, logger });
    const handler = reconcileHandler(() => runtime);

    const summary = await handler({ kind: 'reconcile' }, context(60_000));

    expect(summary).toMatchObject({ examined: 1, changed: 1, stoppedEarly: false });
    expect(query).toHaveBeenCalledWith(order.no_order, order.dt_order);
    expect((await store.get(order.no_order))?.status).toBe('SUCCESS');
    expect(metrics.get(METRICS.reconcileChanged)).toBe(1);
  });

  it('takes no order when the Lambda is already inside the safety margin', async () => {
    const store = new MemoryOrderStore();
    await store.create(makeOrder({ status: 'ACCEPTED', next_check_at: '2020-01-01T00:00:00.000Z' }));
    const query = vi.fn();
    const runtime = buildRuntime(env, {
      store,
      provider: { apply: vi.fn(), query },
      metrics: new MemoryMetrics(),
      logger,
    });
    const summary = await reconcileHandler(() => runtime)({ kind: 'reconcile' }, context(5_000));
    expect(summary).toMatchObject({ examined: 0, stoppedEarly: true });
    expect(query).not.toHaveBeenCalled();
  });

  it('rejects a malformed schedule payload', async () => {
    const runtime = buildRuntime(env, {
      store: new MemoryOrderStore(),
      metrics: new MemoryMetrics(),
      logger,
    });
    const handler = reconcileHandler(() => runtime);
    await expect(
      handler({ kind: 'nope' } as unknown as Parameters<typeof handler>[0], context(60_000)),
    ).rejects.toThrow(/kind/);
  });
});
