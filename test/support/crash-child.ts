import { Logger } from '@aws-lambda-powertools/logger';
import { MemoryMetrics } from '../../functions/shared/observability';
import { buildRuntime } from '../../functions/shared/runtime';
import { localDynamoClient } from '../../local/dynamodb';
import { ENV } from '../../src/config/contract';
import { createPayout } from '../../src/core/payouts';

/**
 * A payout process to be killed: builds the real runtime (DynamoDB store, HTTP provider client, field
 * encryption) from the environment the parent gives it, posts one payout and waits for the apply answer.
 * The crash test (test/integration/crash-resend.test.ts) SIGKILLs it while that answer is held.
 *
 * CRASH_CHILD_ENV: the runtime environment as JSON; CRASH_CHILD_BODY: the POST /payouts body as JSON.
 */
async function main(): Promise<void> {
  const env = JSON.parse(process.env.CRASH_CHILD_ENV ?? '{}') as Record<string, string>;
  const body = JSON.parse(process.env.CRASH_CHILD_BODY ?? '{}') as Record<string, string>;
  const runtime = buildRuntime(env, {
    // Local credentials and region, as local mode uses them.
    dynamo: localDynamoClient(env[ENV.dynamoEndpoint] ?? ''),
    metrics: new MemoryMetrics(),
    logger: new Logger({ serviceName: 'crash-child', logLevel: 'SILENT' }),
  });
  await runtime.merchantKeys();
  const result = await createPayout(runtime.deps, body);
  // Only reached if the parent did not kill us: it then sees an exit instead of a kill.
  process.stdout.write(`${JSON.stringify({ finished: result.view.status })}\n`);
}

main().catch((error: unknown) => {
  // The name and message only: a payout error never carries card data (non-negotiable).
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : 'error'}\n`);
  process.exit(1);
});
