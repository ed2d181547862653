import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoBatchStore } from '../../src/adapters/dynamodb/batch-store';
import { DynamoDispatchClaims } from '../../src/adapters/dynamodb/dispatch-claims';
import { SqsDispatchTrigger } from '../../src/adapters/sqs/dispatch-queue';
import { ENV } from '../../src/config/contract';
import { ConfigError } from '../../src/config/env';
import { TokenBucket } from '../../src/core/rate-limit';
import { processRuntime } from '../shared/runtime';
import { dispatchHandler } from './handler';

/** SQS FIFO (one batch per message) → dispatchBatch; see handler.ts. */
export const handler = dispatchHandler(() => {
  const runtime = processRuntime();
  const queueUrl = runtime.config.dispatch.queueUrl;
  // Checked when it is needed (a re-enqueue), not at import: the container still starts and logs.
  const sqs = queueUrl ? new SqsDispatchTrigger({ client: new SQSClient({}), queueUrl }) : undefined;
  const client = new DynamoDBClient({});
  const tableName = runtime.config.tableName;
  return {
    runtime,
    deps: {
      ...runtime.deps,
      batches: new DynamoBatchStore({ client, tableName }),
      claims: new DynamoDispatchClaims({ client, tableName }),
      // One limiter per container; SQS FIFO runs one container at a time for the one message group.
      limiter: new TokenBucket({ ratePerSecond: runtime.config.dispatch.ratePerSecond }),
      trigger: {
        batchReady: async (batchId: string) => {
          if (!sqs) throw new ConfigError(`invalid configuration: ${ENV.dispatchQueueUrl} is required`);
          await sqs.batchReady(batchId);
        },
      },
    },
  };
});
