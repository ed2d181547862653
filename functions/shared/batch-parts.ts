import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBatchStore } from '../../src/adapters/dynamodb/batch-store';
import type { Runtime } from './runtime';

/** The DynamoDB client and batch store of a deployed function that works with batches. */
export function batchStoreParts(runtime: Runtime): { client: DynamoDBClient; batches: DynamoBatchStore } {
  const client = new DynamoDBClient(
    runtime.config.dynamoEndpoint ? { endpoint: runtime.config.dynamoEndpoint } : {},
  );
  return { client, batches: new DynamoBatchStore({ client, tableName: runtime.config.tableName }) };
}
