import { DynamoDispatchClaims } from '../../src/adapters/dynamodb/dispatch-claims';
import { BalanceGate } from '../../src/core/dispatch';
import { TokenBucket } from '../../src/core/rate-limit';
import { processRuntime } from '../shared/process-runtime';
import { dispatchHandler } from './handler';
import { awsBatchParts } from './wiring';

/** SQS FIFO (one batch per message) → dispatchBatch; see handler.ts. */
export const handler = dispatchHandler(() => {
  const runtime = processRuntime();
  const { client, batches, trigger } = awsBatchParts(runtime);
  return {
    runtime,
    deps: {
      ...runtime.deps,
      batches,
      claims: new DynamoDispatchClaims({ client, tableName: runtime.config.tableName }),
      // One limiter per container; SQS FIFO runs one container at a time for the one message group.
      limiter: new TokenBucket({ ratePerSecond: runtime.config.dispatch.ratePerSecond }),
      trigger,
      // Funds (issue 13): pause while the known balance cannot cover the next item (unknown ≠ zero).
      balance: new BalanceGate(runtime.funds.balance, runtime.config.dispatch.balanceCheckMs),
    },
  };
});
