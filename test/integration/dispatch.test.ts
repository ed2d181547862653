import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { startLocalStack } from '../../local/stack';
import { DynamoDispatchClaims } from '../../src/adapters/dynamodb/dispatch-claims';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { type DispatchDeps, type DispatchOptions, dispatchBatch } from '../../src/core/dispatch';
import type { PayoutOrder } from '../../src/core/model';
import { applyInput, transitionContext } from '../../src/core/payouts';
import { TokenBucket } from '../../src/core/rate-limit';
import { decide } from '../../src/core/transition';
import { batchRecord, DynamoBatchStoreDouble, queuedItem, RecordingTrigger } from '../support/batch-doubles';
import { makeDeps, type TestDeps } from '../support/fakes';
import { useLocalTables } from '../support/local-tables';
import { makeOrder, testNoOrder } from '../support/order-fixtures';

/**
 * The dispatcher against DynamoDB Local: the real claim transaction (order update + ConditionCheck on the
 * batch record), the real order store, the by-batch index. The provider is a recording fake: what is
 * asserted is how many applies left for each item.
 */

const PAYEE = { card_no: '6222000000000000', acct_name: '测试' };
const FOREVER: DispatchOptions = { concurrency: 4, remainingTimeMs: () => 600_000, safetyMarginMs: 0 };

let client: DynamoDBClient;
const local = useLocalTables();

beforeAll(() => {
  client = local.client();
});

interface World {
  readonly deps: TestDeps & DispatchDeps;
  readonly store: DynamoOrderStore;
  readonly batches: DynamoBatchStoreDouble;
  readonly items: PayoutOrder[];
  readonly batchId: string;
  readonly trigger: RecordingTrigger;
}

async function world(count: number): Promise<World> {
  const tableName = await local.freshTable('dispatch');
  const store = new DynamoOrderStore({ client, tableName });
  const base = makeDeps({ store });
  const batches = new DynamoBatchStoreDouble({ client, tableName });
  const batchId = testNoOrder('B');
  const items: PayoutOrder[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const noOrder = testNoOrder('I');
    items.push(
      queuedItem(
        makeOrder({ no_order: noOrder, payee_sealed: await base.cipher.seal(PAYEE, noOrder) }),
        batchId,
        seq,
      ),
    );
  }
  for (let i = 0; i < items.length; i += 25)
    await Promise.all(items.slice(i, i + 25).map((o) => store.create(o)));
  await batches.put(batchRecord(batchId, items));
  const trigger = new RecordingTrigger();
  const deps = {
    ...base,
    batches,
    claims: new DynamoDispatchClaims({ client, tableName }),
    limiter: new TokenBucket({ ratePerSecond: 1e6, burst: 1000 }),
    trigger,
  };
  return { deps, store, batches, items, batchId, trigger };
}

/** Another worker process: its own limiter and provider view, the same table and provider. */
function worker(w: World): TestDeps & DispatchDeps {
  return { ...w.deps, limiter: new TokenBucket({ ratePerSecond: 1e6, burst: 1000 }) };
}

function appliesPerOrder(w: World): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of w.deps.provider.applies) counts.set(a.no_order, (counts.get(a.no_order) ?? 0) + 1);
  return counts;
}

async function statuses(w: World): Promise<PayoutOrder['status'][]> {
  return Promise.all(w.items.map(async (i) => (await w.store.get(i.no_order))!.status));
}

describe('DynamoDispatchClaims', () => {
  it('claims only while the order is unchanged AND the batch record is DISPATCHING', async () => {
    const w = await world(2);
    const [a, b] = w.items;
    const changeOf = (order: PayoutOrder) => {
      const decision = decide(order, { type: 'dispatch' }, transitionContext(w.deps));
      if (decision.kind !== 'change') throw new Error('expected a change');
      return {
        status: decision.status,
        set: decision.set,
        history: decision.entry,
        at: '2026-11-27T04:01:00.000Z',
      };
    };
    const won = await w.deps.claims.claim(a!, changeOf(a!), w.batchId);
    expect(won.kind).toBe('claimed');
    expect(won.kind === 'claimed' && won.order).toEqual(await w.store.get(a!.no_order));
    // The same claim again: the order moved on (QUEUED v1 is gone).
    expect((await w.deps.claims.claim(a!, changeOf(a!), w.batchId)).kind).toBe('order_changed');
    await w.batches.setStatus(w.batchId, 'VOIDED');
    expect((await w.deps.claims.claim(b!, changeOf(b!), w.batchId)).kind).toBe('batch_not_dispatching');
    expect((await w.store.get(b!.no_order))?.status).toBe('QUEUED');
  });
});

describe('dispatchBatch on DynamoDB Local', () => {
  it('4 concurrent workers on one 200-item batch: 200 claims, 200 applies, none twice', async () => {
    const w = await world(200);
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => dispatchBatch(worker(w), w.batchId, { ...FOREVER, concurrency: 2 })),
    );
    expect(runs.reduce((sum, r) => sum + r.claimed, 0)).toBe(200);
    const counts = appliesPerOrder(w);
    expect(counts.size).toBe(200);
    expect(Math.max(...counts.values())).toBe(1);
    expect(new Set(await statuses(w))).toEqual(new Set(['ACCEPTED']));
    expect((await w.batches.getBatch(w.batchId))?.status).toBe('DISPATCHED');
  }, 60_000);

  it('a void mid-dispatch: no apply after the void, every unclaimed item VOIDED', async () => {
    const w = await world(60);
    let appliesAtVoid = -1;
    let voiding: Promise<void> | undefined;
    w.deps.provider.applyOutcome = async () => {
      if (w.deps.provider.applies.length === 15 && !voiding) {
        voiding = (async () => {
          // The batch module's void: the batch record first (claims stop there), then the QUEUED items.
          await w.batches.setStatus(w.batchId, 'VOIDED');
          appliesAtVoid = w.deps.provider.applies.length;
          for (const item of w.items) {
            const order = await w.store.get(item.no_order);
            if (order?.status === 'QUEUED')
              await applyInput(w.deps, order, { type: 'void', principal: 'checker' });
          }
        })();
        await voiding;
      }
      return { kind: 'accepted', retCode: '0000' };
    };
    const runs = await Promise.all([1, 2].map(() => dispatchBatch(worker(w), w.batchId, FOREVER)));
    await voiding;
    // In flight when the record changed: at most one per worker slot (2 workers × concurrency 4).
    expect(w.deps.provider.applies.length).toBeLessThanOrEqual(appliesAtVoid + 8);
    const after = await statuses(w);
    const sent = after.filter((s) => s !== 'VOIDED').length;
    expect(sent).toBe(w.deps.provider.applies.length);
    expect(after.filter((s) => s === 'VOIDED').length).toBe(60 - sent);
    expect(runs.every((r) => r.stopped === 'batch_not_dispatching' || r.stopped === 'done')).toBe(true);
    expect(Math.max(...appliesPerOrder(w).values())).toBe(1);
  }, 60_000);

  it('a run cut short resumes where it stopped; every item sent once, the batch DISPATCHED', async () => {
    const w = await world(40);
    let budget = 15;
    const first = await dispatchBatch(worker(w), w.batchId, {
      concurrency: 1,
      remainingTimeMs: () => (w.deps.provider.applies.length < budget ? 60_000 : 0),
      safetyMarginMs: 1_000,
    });
    expect(first.stopped).toBe('time');
    expect(w.trigger.calls).toEqual([w.batchId]);
    expect((await statuses(w)).filter((s) => s === 'QUEUED')).toHaveLength(25);
    budget = Number.POSITIVE_INFINITY;
    const second = await dispatchBatch(worker(w), w.batchId, FOREVER);
    expect(second).toMatchObject({ claimed: 25, stopped: 'done', batchStatus: 'DISPATCHED' });
    expect(appliesPerOrder(w).size).toBe(40);
    expect(w.deps.provider.applies).toHaveLength(40);
  }, 60_000);

  it('completion: once every item is final the batch becomes COMPLETED with counts and amounts', async () => {
    const w = await world(3);
    w.deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode: '1005', retMsg: '参数错误' });
    const run = await dispatchBatch(worker(w), w.batchId, FOREVER);
    expect(run.batchStatus).toBe('COMPLETED');
    const batch = await w.batches.getBatch(w.batchId);
    expect(batch).toMatchObject({
      status: 'COMPLETED',
      counts: { REJECTED: 3 },
      amounts: { REJECTED: '30.00' },
    });
    expect(batch?.next_check_at).toBeUndefined();
  }, 60_000);
});

describe('local mode: the stack dispatches in process, and reconciliation recovers a lost trigger', () => {
  it('batchReady sends the batch through the sandbox; a batch whose trigger was lost is re-triggered by its due look', async () => {
    const tableName = `dispatch-local-${randomUUID()}`;
    local.track(tableName);
    const stack = await startLocalStack({
      port: 0,
      dynamoEndpoint: inject('dynamoEndpoint'),
      tableName,
      sandbox: { stepMs: 20 },
      overrides: () => ({ logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }) }),
      batchStore: (c, t) => new DynamoBatchStoreDouble({ client: c, tableName: t }),
    });
    try {
      const deps = stack.runtime.deps;
      const batches = new DynamoBatchStoreDouble({ client, tableName });
      const seedBatch = async (count: number) => {
        const batchId = testNoOrder('B');
        const items: PayoutOrder[] = [];
        for (let seq = 1; seq <= count; seq++) {
          const noOrder = testNoOrder('I');
          const at = new Date().toISOString();
          const order = queuedItem(
            makeOrder({
              no_order: noOrder,
              created_at: at,
              updated_at: at,
              payee_sealed: await deps.cipher.seal(PAYEE, noOrder),
            }),
            batchId,
            seq,
          );
          await deps.store.create(order);
          items.push(order);
        }
        await batches.put(
          batchRecord(batchId, items, { next_check_at: new Date(Date.now() + 15 * 60_000).toISOString() }),
        );
        return { batchId, items };
      };
      const sent = await seedBatch(5);
      await stack.dispatcher!.batchReady(sent.batchId);
      await stack.dispatcher!.idle();
      for (const item of sent.items) expect(stack.sandbox!.acceptedApplies(item.no_order)).toBe(1);

      // The trigger of this one was lost: nothing sends it until its items are due.
      const lost = await seedBatch(3);
      await stack.reconcileOnce({ now: new Date(Date.now() + 20 * 60_000) });
      await stack.dispatcher!.idle();
      for (const item of lost.items) {
        expect(stack.sandbox!.acceptedApplies(item.no_order)).toBe(1);
        expect((await deps.store.get(item.no_order))?.status).not.toBe('QUEUED');
      }
      // Re-triggered (a duplicate trigger would be harmless: the applies above are one per item).
      expect(new Set(stack.dispatcher!.runs.map((r) => r.batchId))).toEqual(
        new Set([sent.batchId, lost.batchId]),
      );
    } finally {
      await stack.close();
    }
  }, 60_000);
});
