import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { dispatchHandler, dispatchOptionsFor } from '../../../functions/dispatch/handler';
import { MemoryMetrics } from '../../../functions/shared/observability';
import { buildRuntime } from '../../../functions/shared/runtime';
import { lambdaContext } from '../../../local/front';
import { loadConfig } from '../../../src/config/env';
import { TokenBucket } from '../../../src/core/rate-limit';
import { batchRecord, MemoryBatchStore, MemoryDispatchClaims, queuedItem } from '../../support/batch-doubles';
import { FakeProvider, TEST_LOCAL_ENV } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder, testNoOrder } from '../../support/order-fixtures';

async function setup(items: number) {
  const store = new MemoryOrderStore();
  const provider = new FakeProvider();
  const runtime = buildRuntime(
    {
      ...TEST_LOCAL_ENV,
    },
    {
      store,
      provider,
      metrics: new MemoryMetrics(),
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    },
  );
  const batches = new MemoryBatchStore(store);
  const batchId = testNoOrder('B');
  const orders = [];
  for (let seq = 1; seq <= items; seq++) {
    const noOrder = testNoOrder('I');
    const sealed = await runtime.deps.cipher.seal(
      { card_no: '6222000000000000', acct_name: '测试' },
      noOrder,
    );
    const order = queuedItem(makeOrder({ no_order: noOrder, payee_sealed: sealed }), batchId, seq);
    await store.create(order);
    orders.push(order);
  }
  batches.put(batchRecord(batchId, orders));
  const handler = dispatchHandler(() => ({
    runtime,
    deps: {
      ...runtime.deps,
      batches,
      claims: new MemoryDispatchClaims(store, batches),
      limiter: new TokenBucket({ ratePerSecond: 1e6, burst: 1000 }),
    },
  }));
  return { handler, provider, batches, batchId, store };
}

const sqsEvent = (...bodies: string[]): SQSEvent =>
  ({
    Records: bodies.map((body, i) => ({ messageId: `m${i}`, body, attributes: {}, messageAttributes: {} })),
  }) as unknown as SQSEvent;

describe('dispatch function (SQS FIFO → dispatchBatch)', () => {
  it('dispatches the batch a message names and acknowledges it; an unreadable message is dropped', async () => {
    const s = await setup(3);
    const out = await s.handler(
      sqsEvent('not json', JSON.stringify({ batch_id: s.batchId })),
      lambdaContext('dispatch', { timeoutMs: 300_000 }),
    );
    expect(out).toEqual({ batchItemFailures: [] });
    expect(s.provider.applies).toHaveLength(3);
    expect((await s.batches.getBatch(s.batchId))?.status).toBe('DISPATCHED');
  });

  it('a failed run reports its message (and every later one in the FIFO group) for a retry', async () => {
    const s = await setup(1);
    s.batches.getBatch = async () => {
      throw new Error('store down');
    };
    const body = JSON.stringify({ batch_id: s.batchId });
    const out = await s.handler(sqsEvent(body, body), lambdaContext('dispatch', { timeoutMs: 300_000 }));
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }] });
    expect(s.provider.applies).toHaveLength(0);
  });

  it('takes no item when a balance ask and an apply (each up to the provider timeout) would not fit', async () => {
    const s = await setup(2);
    const timeoutMs = loadConfig(TEST_LOCAL_ENV).timeoutMs;
    // Room for one provider call and the writes, not for an ask and an apply: the run stops at once (the
    // old margin, one provider timeout, would have sent both items into a possible cut-off).
    const remaining = timeoutMs + 10_000 + timeoutMs / 2;
    const out = await s.handler(
      sqsEvent(JSON.stringify({ batch_id: s.batchId })),
      lambdaContext('dispatch', { timeoutMs: remaining }),
    );
    expect(out).toEqual({ batchItemFailures: [] });
    expect(s.provider.applies).toHaveLength(0);
    expect((await s.batches.getBatch(s.batchId))?.status).toBe('DISPATCHING');
    expect(dispatchOptionsFor(loadConfig(TEST_LOCAL_ENV), () => remaining).safetyMarginMs).toBeGreaterThan(
      remaining,
    );
  });
});
