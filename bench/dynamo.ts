import { Logger } from '@aws-lambda-powertools/logger';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { MemoryMetrics } from '../functions/shared/observability';
import { type DynamoLocal, localDynamoClient, startDynamoLocal } from '../local/dynamodb';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../local/stack';
import { DynamoOrderStore, type OrderStoreOperation } from '../src/adapters/dynamodb/order-store';

/**
 * DynamoDB Local for the bench, stopped on every way out: normal completion and errors (the callers'
 * finally blocks) and Ctrl-C / SIGTERM (below), so no Java process outlives the run.
 */
const running = new Set<DynamoLocal>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping DynamoDB Local…\n`);
      void Promise.allSettled([...running].map((d) => d.stop())).then(() => process.exit(130));
    });
  }
}

export async function startBenchDynamo(): Promise<DynamoLocal> {
  installHandlers();
  const dynamo = await startDynamoLocal();
  running.add(dynamo);
  return {
    endpoint: dynamo.endpoint,
    stop: async () => {
      running.delete(dynamo);
      await dynamo.stop();
    },
  };
}

export const quietLogger = () => new Logger({ serviceName: 'bench', logLevel: 'SILENT' });

/**
 * The local stack on a bench DynamoDB, its order store reporting every request's consumed capacity
 * (what `wru_per_payout`, `rru_per_payout` and the reconcile capacity are computed from), quiet logs and
 * in-memory metrics.
 */
export async function startMeteredStack(options: {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly sandbox: NonNullable<LocalStackOptions['sandbox']>;
  readonly onConsumedCapacity: (operation: OrderStoreOperation, capacity: ConsumedCapacity[]) => void;
  /** Extra configuration, e.g. a spending-control policy. */
  readonly env?: Record<string, string>;
}): Promise<LocalStack> {
  return startLocalStack({
    port: 0,
    dynamoEndpoint: options.dynamoEndpoint,
    tableName: options.tableName,
    env: options.env ?? {},
    sandbox: options.sandbox,
    overrides: ({ env }) => ({
      store: new DynamoOrderStore({
        client: localDynamoClient(env.DYNAMODB_ENDPOINT!),
        tableName: env.TABLE_NAME!,
        onConsumedCapacity: options.onConsumedCapacity,
      }),
      metrics: new MemoryMetrics(),
      logger: quietLogger(),
    }),
  });
}
