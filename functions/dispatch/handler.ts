import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseDispatchMessage } from '../../src/adapters/sqs/dispatch-message';
import { METRICS } from '../../src/config/contract';
import type { RuntimeConfig } from '../../src/config/env';
import {
  type DispatchDeps,
  type DispatchOptions,
  type DispatchSummary,
  dispatchBatch,
} from '../../src/core/dispatch';
import { type LambdaHandler, lambdaHandler } from '../shared/lambda';
import type { Runtime } from '../shared/runtime';

/**
 * The dispatch worker on AWS: an SQS FIFO event source (one message group, batch size 1), so exactly one
 * worker runs at a time, batches in the order they became ready. One message = one batch: the worker
 * sends its QUEUED items until the batch is done, paused (funds, a void) or the invocation's time is
 * nearly up — then it re-enqueues the batch (dispatchBatch does, through the trigger) and returns, so the
 * message is deleted and the next batch's message can be handled. A failure throws: the message is
 * retried (claims make that harmless) and, after maxReceiveCount, lands in the DLQ, which alarms.
 */
export interface DispatchRuntime {
  readonly runtime: Runtime;
  /** The runtime's payout deps plus the batch store, the claim, the limiter, the trigger, the balance gate. */
  readonly deps: DispatchDeps;
}

/**
 * Run options: stop taking items while the slowest item still fits. An item may wait for a balance ask
 * (the balance gate, after a pause or when its figure is old) and then its apply, each up to the provider
 * timeout, plus a few writes. A run cut off mid-apply is safe (the claimed order is PENDING and
 * reconciliation queries it) but ends without re-enqueueing its batch, which then waits for its due look.
 */
export function dispatchOptionsFor(config: RuntimeConfig, remainingTimeMs: () => number): DispatchOptions {
  return {
    concurrency: config.dispatch.concurrency,
    remainingTimeMs,
    safetyMarginMs: 2 * config.timeoutMs + 10_000,
  };
}

export type DispatchHandler = LambdaHandler<SQSEvent, SQSBatchResponse>;

export function dispatchHandler(rt: () => DispatchRuntime): DispatchHandler {
  const { runtime, deps } = rt();
  return lambdaHandler(runtime, async (event, context) => {
    await runtime.merchantKeys();
    const failures: { itemIdentifier: string }[] = [];
    for (const record of event.Records ?? []) {
      const batchId = parseDispatchMessage(record.body);
      if (batchId === undefined) {
        // Not ours to interpret: dropped with a log line (a retry would fail the same way).
        runtime.logger.error('dispatch: message without a valid batch id dropped', {
          messageId: record.messageId,
        });
        continue;
      }
      // With FIFO, a failed message must stop the rest of the group's messages in this invocation.
      if (failures.length > 0) {
        failures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        const summary: DispatchSummary = await dispatchBatch(
          deps,
          batchId,
          dispatchOptionsFor(runtime.config, () => context.getRemainingTimeInMillis()),
        );
        runtime.deps.metrics.count(METRICS.dispatchClaimed, summary.claimed);
      } catch (error) {
        runtime.logger.error('dispatch: run failed; the message is retried', {
          batch_id: batchId,
          error: error instanceof Error ? error.name : 'unknown',
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  });
}
