import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { MemoryMetrics } from '../../functions/shared/observability';
import type { RuntimeOverrides } from '../../functions/shared/runtime';
import { localDynamoClient } from '../../local/dynamodb';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { amountFor, type ScenarioName } from '../../sandbox/scenarios';
import { testNoOrder } from './order-fixtures';

/** Fake payee data for the local stack tests: obviously not a real card or person. */
export const TEST_CARD = '6222020000000000123';
export const TEST_NAME = '测试收款人';

export interface TestStack extends LocalStack {
  /** Closes the stack and drops its table from the shared DynamoDB Local. */
  dispose(): Promise<void>;
}

/**
 * The whole local stack on free ports, on the run's shared DynamoDB Local with a table of its own, with
 * quiet logs and in-memory metrics unless the test passes its own.
 */
export async function startTestStack(
  name: string,
  options: Omit<LocalStackOptions, 'port' | 'dynamoEndpoint' | 'tableName'> & {
    readonly ports?: RuntimeOverrides;
  } = {},
): Promise<TestStack> {
  const { ports, ...rest } = options;
  const stack = await startLocalStack({
    ...rest,
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `${name}-${randomUUID()}`,
    overrides: (base) => ({
      metrics: new MemoryMetrics(),
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      ...rest.overrides?.(base),
      ...ports,
    }),
  });
  return {
    ...stack,
    dispose: async () => {
      const client = localDynamoClient(stack.dynamoEndpoint);
      await stack.close();
      await client.send(new DeleteTableCommand({ TableName: stack.tableName })).catch(() => undefined);
      client.destroy();
    },
  };
}

/** A POST /payouts body whose amount selects a sandbox scenario. */
export interface PayoutBody extends Record<string, string> {
  no_order: string;
  money_order: string;
}

export function payoutBody(scenario: ScenarioName, overrides: Record<string, string> = {}): PayoutBody {
  return {
    no_order: testNoOrder('P'),
    money_order: amountFor(scenario),
    card_no: TEST_CARD,
    acct_name: TEST_NAME,
    flag_card: '0',
    info_order: `test ${scenario}`,
    ...overrides,
  };
}

export async function postPayout(
  stack: Pick<LocalStack, 'url'>,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.url}/payouts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
