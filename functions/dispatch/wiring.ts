import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoBatchStore } from '../../src/adapters/dynamodb/batch-store';
import { SqsDispatchTrigger } from '../../src/adapters/sqs/dispatch-queue';
import { ENV } from '../../src/config/contract';
import { ConfigError } from '../../src/config/env';
import type { DispatchTrigger } from '../../src/core/batch-model';
import { batchStoreParts } from '../shared/batch-parts';
import type { Runtime } from '../shared/runtime';

/** The batch store and the SQS trigger of a deployed function (the dispatch worker, the batch API). */
export function awsBatchParts(runtime: Runtime): {
  client: DynamoDBClient;
  batches: DynamoBatchStore;
  trigger: DispatchTrigger;
} {
  const queueUrl = runtime.config.dispatch.queueUrl;
  // Checked when it is needed (a send), not at import: the container still starts and logs.
  const sqs = queueUrl ? new SqsDispatchTrigger({ client: new SQSClient({}), queueUrl }) : undefined;
  return {
    ...batchStoreParts(runtime),
    trigger: {
      batchReady: async (batchId: string) => {
        if (!sqs) throw new ConfigError(`invalid configuration: ${ENV.dispatchQueueUrl} is required`);
        await sqs.batchReady(batchId);
      },
    },
  };
}
