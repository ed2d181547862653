import { randomUUID } from 'node:crypto';
import { DescribeTimeToLiveCommand, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { dailyCounterKey, PAYOUTS_TABLE, payeeCounterKey } from '../../src/adapters/dynamodb/table';
import { approvePayout, listAwaitingApproval } from '../../src/core/approvals';
import { type ControlPolicy, chinaDay, counterExpiresAt, NO_CONTROLS } from '../../src/core/controls';
import { InvalidStateError, LimitExceededError } from '../../src/core/errors';
import { applyQueryOutcome, createPayout } from '../../src/core/payouts';
import type { QueryOutcome } from '../../src/core/ports';
import { runReconciliation } from '../../src/core/reconcile';
import { makeDeps, TEST_OID_PARTNER, type TestDeps } from '../support/fakes';
import { useLocalTables } from '../support/local-tables';

/**
 * The race-safety claims of issue 10, against DynamoDB Local with the real store and the real use cases:
 * the counters change in the same transaction as the order write, so concurrency cannot push a counter
 * past its limit, an approval is claimed once, and a release happens once.
 */

const CARD = '6222000000001234';
const MAKER = 'arn:aws:iam::111122223333:user/maker';
const CHECKER = 'arn:aws:iam::111122223333:user/checker';

let client: DynamoDBClient;
const local = useLocalTables();

beforeAll(() => {
  client = local.client();
});

async function setup(controls: Partial<ControlPolicy>): Promise<{ deps: TestDeps; tableName: string }> {
  const tableName = await local.freshTable('controls');
  const store = new DynamoOrderStore({ client, tableName });
  return { deps: makeDeps({ store, config: { controls: { ...NO_CONTROLS, ...controls } } }), tableName };
}

async function counter(tableName: string, key: string): Promise<Record<string, unknown> | undefined> {
  const out = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { no_order: { S: key } }, ConsistentRead: true }),
  );
  return out.Item ? unmarshall(out.Item) : undefined;
}

function request(money: string, i: number, card = CARD) {
  return {
    no_order: `R${randomUUID().replaceAll('-', '').slice(0, 20)}${i}`,
    money_order: money,
    card_no: card,
    acct_name: '测试用户',
    flag_card: '0',
    info_order: 'race payout',
  };
}

/** Runs all at once and sorts the outcomes: committed (created), refused by a limit, anything else. */
async function race(deps: TestDeps, bodies: ReturnType<typeof request>[]) {
  const results = await Promise.allSettled(bodies.map((b) => createPayout(deps, b, MAKER)));
  const committed = results.filter((r) => r.status === 'fulfilled' && r.value.created);
  const refused = results.filter(
    (r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof LimitExceededError,
  );
  const other = results.filter(
    (r) => !committed.includes(r) && !refused.includes(r as PromiseRejectedResult),
  );
  return { committed, refused, other };
}

describe('controls races on DynamoDB Local', () => {
  it('50 concurrent payouts of a tenth of the daily limit: exactly 10 committed and sent, 40 refused, the counter at the limit', async () => {
    const { deps, tableName } = await setup({ dailyLimitFen: 1_000_000 });
    const { committed, refused, other } = await race(
      deps,
      Array.from({ length: 50 }, (_, i) => request('1000.00', i)),
    );
    expect(other.map((r) => (r.status === 'rejected' ? String(r.reason) : 'created: false'))).toEqual([]);
    expect(committed).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect((r.reason as LimitExceededError).fields[0]?.limit).toBe('daily_amount');
    expect(deps.provider.applies).toHaveLength(10);
    const day = chinaDay(deps.clock.now());
    expect(await counter(tableName, dailyCounterKey(day))).toEqual({
      no_order: dailyCounterKey(day),
      amount_fen: 1_000_000,
      count: 10,
      expires_at: counterExpiresAt(day),
    });
  }, 120_000);

  it('the same for the per-payee amount: 50 concurrent payouts to one card, exactly 10 committed', async () => {
    const { deps, tableName } = await setup({ payeeDailyLimitFen: 100_000 });
    const { committed, refused, other } = await race(
      deps,
      Array.from({ length: 50 }, (_, i) => request('100.00', i)),
    );
    expect(other).toEqual([]);
    expect(committed).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) {
      expect((r.reason as LimitExceededError).fields[0]?.limit).toBe('payee_daily_amount');
    }
    const key = await deps.payeeKeys!.key(CARD);
    const stored = await counter(tableName, payeeCounterKey(chinaDay(deps.clock.now()), key));
    expect(stored).toMatchObject({ amount_fen: 100_000, count: 10 });
    // The counter is keyed by the keyed hash: the card number appears nowhere in its key or item.
    expect(JSON.stringify(stored)).not.toContain(CARD);
    expect(deps.provider.applies).toHaveLength(10);
  }, 120_000);

  it('the same for the per-payee count: 50 concurrent small payouts to one card, exactly 10 committed', async () => {
    const { deps, tableName } = await setup({ payeeDailyLimitCount: 10 });
    const { committed, refused, other } = await race(
      deps,
      Array.from({ length: 50 }, (_, i) => request('0.01', i)),
    );
    expect(other).toEqual([]);
    expect(committed).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) {
      expect((r.reason as LimitExceededError).fields[0]).toMatchObject({
        limit: 'payee_daily_count',
        remaining: '0',
      });
    }
    const key = await deps.payeeKeys!.key(CARD);
    expect(await counter(tableName, payeeCounterKey(chinaDay(deps.clock.now()), key))).toMatchObject({
      amount_fen: 10,
      count: 10,
    });
  }, 120_000);

  it('20 concurrent approvals of one payout: exactly one apply, the 19 others 409 invalid_state', async () => {
    const { deps, tableName } = await setup({ approvalMinFen: 100_000, dailyLimitFen: 10_000_000 });
    const body = request('5000.00', 0);
    await createPayout(deps, body, MAKER);
    expect(deps.provider.applies).toHaveLength(0);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => approvePayout(deps, body.no_order, `${CHECKER}-${i}`)),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const r of lost) expect(r.reason).toBeInstanceOf(InvalidStateError);
    expect(deps.provider.applies).toHaveLength(1);
    expect(deps.provider.applies[0]?.no_order).toBe(body.no_order);
    // Counted once.
    expect(await counter(tableName, dailyCounterKey(chinaDay(deps.clock.now())))).toMatchObject({
      amount_fen: 500_000,
      count: 1,
    });
  }, 120_000);

  it('a FAILURE delivered 20 times concurrently releases the reservation exactly once', async () => {
    const { deps, tableName } = await setup({ dailyLimitFen: 1_000_000, payeeDailyLimitCount: 5 });
    const first = request('300.00', 0);
    const second = request('200.00', 1);
    await createPayout(deps, first, MAKER);
    await createPayout(deps, second, MAKER);
    const order = (await deps.store.get(first.no_order))!;
    expect(order).toMatchObject({ status: 'ACCEPTED', limit_held: true });
    const failure: QueryOutcome = {
      kind: 'found',
      result: {
        ret_code: '0000',
        oid_partner: TEST_OID_PARTNER,
        no_order: first.no_order,
        money_order: '300.00',
        result_pay: 'FAILURE',
        sign_type: 'RSA',
        sign: 'verified-by-the-adapter',
      },
    };
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => applyQueryOutcome(deps, order, failure, 'query')),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const after = (await deps.store.get(first.no_order))!;
    expect(after).toMatchObject({ status: 'FAILURE', limit_held: false });
    expect(after.history.filter((h) => h.to === 'FAILURE')).toHaveLength(1);
    const day = chinaDay(deps.clock.now());
    expect(await counter(tableName, dailyCounterKey(day))).toMatchObject({ amount_fen: 20_000, count: 1 });
    const key = await deps.payeeKeys!.key(CARD);
    expect(await counter(tableName, payeeCounterKey(day, key))).toMatchObject({
      amount_fen: 20_000,
      count: 1,
    });
  }, 120_000);

  it('expiry on DynamoDB Local: the due index hands the waiting payout to reconciliation, which voids it unasked', async () => {
    const { deps } = await setup({ approvalMinFen: 1, approvalTtlMs: 3_600_000 });
    const bodies = [request('10.00', 0), request('20.00', 1)];
    for (const b of bodies) await createPayout(deps, b, MAKER);
    expect((await listAwaitingApproval(deps, { limit: 10 })).items.map((v) => v.no_order).sort()).toEqual(
      bodies.map((b) => b.no_order).sort(),
    );
    await approvePayout(deps, bodies[1]!.no_order, CHECKER);
    deps.clock.advance(3_600_000);
    const summary = await runReconciliation(deps, {
      minAgeMs: 60_000,
      ratePerSecond: 100,
      concurrency: 2,
      stuckAfterMs: 86_400_000,
      remainingTimeMs: () => 60_000,
      safetyMarginMs: 1000,
      // Only the expired one: the approved payout's first check is long due too, and is queried.
    });
    expect(await deps.store.get(bodies[0]!.no_order)).toMatchObject({
      status: 'VOIDED',
      voided_by: 'system:expiry',
    });
    expect(deps.provider.queries.map((q) => q.noOrder)).toEqual([bodies[1]!.no_order]);
    expect(summary.examined).toBe(2);
    expect((await listAwaitingApproval(deps, { limit: 10 })).items).toEqual([]);
  }, 120_000);

  it('the local table expires counters by TTL on expires_at, and keeps the awaiting-approval index', async () => {
    const { tableName } = await setup({});
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: PAYOUTS_TABLE.ttlAttribute,
    });
  });
});

describe('a retry after a limit was lowered (DynamoDB: the counter condition fails before the order is seen)', () => {
  it('answers the recorded payout instead of a 422 that would invite paying again', async () => {
    const { deps } = await setup({ dailyLimitFen: 100_000 });
    const body = request('600.00', 9001);
    expect((await createPayout(deps, body, MAKER)).view.status).toBe('ACCEPTED');
    const lowered = {
      ...deps,
      config: { ...deps.config, controls: { ...NO_CONTROLS, dailyLimitFen: 50_000 } },
    };
    const replay = await createPayout(lowered, body, MAKER);
    expect(replay).toMatchObject({ created: false, view: { no_order: body.no_order, status: 'ACCEPTED' } });
    expect(deps.provider.applies).toHaveLength(1);
  });
});
