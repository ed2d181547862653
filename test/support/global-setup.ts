import type { TestProject } from 'vitest/node';
import { type DynamoLocal, startDynamoLocal } from '../../local/dynamodb';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/**
 * One real DynamoDB Local for the whole run, shared by every project that lists this setup (integration
 * and e2e): vitest runs a project's global setup once per project, all in the main process, so the JVM is
 * kept here and counted rather than started twice on a two-core machine. Each test file creates its own
 * uniquely named table, so sharing is safe.
 */
const shared = globalThis as typeof globalThis & {
  __payoutDynamoLocal?: { started: Promise<DynamoLocal>; users: number };
};

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared.__payoutDynamoLocal ??= { started: startDynamoLocal(), users: 0 };
  const entry = shared.__payoutDynamoLocal;
  entry.users += 1;
  const dynamo = await entry.started;
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return async () => {
    entry.users -= 1;
    if (entry.users > 0) return;
    shared.__payoutDynamoLocal = undefined;
    await dynamo.stop();
  };
}
