import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoBatchStore } from '../../src/adapters/dynamodb/batch-store';
import { SqsDispatchTrigger } from '../../src/adapters/sqs/dispatch-queue';
import { ENV } from '../../src/config/contract';
import { ConfigError } from '../../src/config/env';
import type { DispatchTrigger } from '../../src/core/batch-model';
import { maintainBatch } from '../../src/core/batches';
import { batchLooks } from '../../src/core/dispatch';
import type { PayoutDeps } from '../../src/core/payouts';
import type { ReconcileDeps } from '../../src/core/reconcile';
import type { Runtime } from '../shared/runtime';

/** The batch store and the SQS trigger of a deployed function (dispatch worker, reconciliation). */
export function awsBatchParts(runtime: Runtime): {
  client: DynamoDBClient;
  batches: DynamoBatchStore;
  trigger: DispatchTrigger;
} {
  const queueUrl = runtime.config.dispatch.queueUrl;
  // Checked when it is needed (a send), not at import: the container still starts and logs.
  const sqs = queueUrl ? new SqsDispatchTrigger({ client: new SQSClient({}), queueUrl }) : undefined;
  const client = new DynamoDBClient(
    runtime.config.dynamoEndpoint ? { endpoint: runtime.config.dynamoEndpoint } : {},
  );
  return {
    client,
    batches: new DynamoBatchStore({ client, tableName: runtime.config.tableName }),
    trigger: {
      batchReady: async (batchId: string) => {
        if (!sqs) throw new ConfigError(`invalid configuration: ${ENV.dispatchQueueUrl} is required`);
        await sqs.batchReady(batchId);
      },
    },
  };
}

/**
 * The reconcile function's runtime with the batch looks (due BATCH# records, due QUEUED items: re-trigger
 * through SQS, approval wait, end with the batch). `maintainBatch`: the batch module's look at the other
 * batch statuses (approval expiry).
 */
export function withBatchLooks(runtime: Runtime): Runtime {
  const { batches, trigger } = awsBatchParts(runtime);
  // Expiry of a batch awaiting approval and the end of a deny/void sweep are the batch module's.
  const maintain = (batchId: string) =>
    maintainBatch({ ...runtime.deps, batches, dispatch: trigger }, batchId);
  const looks: Partial<ReconcileDeps> = {
    batchLooks: () => batchLooks({ ...runtime.deps, batches, trigger }, maintain),
  };
  return { ...runtime, deps: { ...runtime.deps, ...looks } as PayoutDeps };
}
