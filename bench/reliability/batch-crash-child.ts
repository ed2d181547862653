import { Logger } from '@aws-lambda-powertools/logger';
import { MemoryMetrics } from '../../functions/shared/observability';
import { buildRuntime } from '../../functions/shared/runtime';
import { localDispatcher } from '../../local/dispatcher';
import { localDynamoClient } from '../../local/dynamodb';
import { ENV } from '../../src/config/contract';
import { TokenBucket } from '../../src/core/rate-limit';
import { DynamoBatchStoreDouble } from '../../test/support/batch-doubles';

/**
 * A dispatcher process to be killed (bench/reliability/batch-crash.ts): the real runtime against the
 * shared DynamoDB Local and the sandbox, dispatching one batch with the local dispatcher.
 * BATCH_CRASH_ENV: the runtime environment as JSON; BATCH_CRASH_ID: the batch; BATCH_CRASH_RATE: applies/s.
 */
async function main(): Promise<void> {
  const env = JSON.parse(process.env.BATCH_CRASH_ENV ?? '{}') as Record<string, string>;
  const batchId = process.env.BATCH_CRASH_ID ?? '';
  const client = localDynamoClient(env[ENV.dynamoEndpoint] ?? '');
  const runtime = buildRuntime(env, {
    dynamo: client,
    metrics: new MemoryMetrics(),
    logger: new Logger({ serviceName: 'batch-crash-child', logLevel: 'SILENT' }),
  });
  await runtime.merchantKeys();
  const dispatcher = localDispatcher(runtime, {
    client,
    batches: new DynamoBatchStoreDouble({ client, tableName: runtime.config.tableName }),
    limiter: new TokenBucket({ ratePerSecond: Number(process.env.BATCH_CRASH_RATE ?? '50') }),
    concurrency: 8,
  });
  await dispatcher.batchReady(batchId);
  await dispatcher.idle();
  process.stdout.write(
    `${JSON.stringify({ finished: dispatcher.runs.at(-1)?.summary?.stopped ?? 'error' })}\n`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : 'error'}\n`);
  process.exit(1);
});
