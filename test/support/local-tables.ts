import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, inject } from 'vitest';
import { ensurePayoutsTable, localDynamoClient } from '../../local/dynamodb';

/**
 * For an integration test file: one client to the suite's DynamoDB Local, fresh payouts tables on demand
 * (`<prefix>-<uuid>`, each test its own), all deleted and the client closed after the file.
 */
export function useLocalTables(): {
  readonly client: () => DynamoDBClient;
  readonly freshTable: (prefix: string) => Promise<string>;
  /** A table this file made some other way (it is deleted with the others). */
  readonly track: (tableName: string) => void;
} {
  let client: DynamoDBClient | undefined;
  const tables: string[] = [];
  beforeAll(() => {
    client = localDynamoClient(inject('dynamoEndpoint'));
  });
  afterAll(async () => {
    const c = client;
    if (!c) return;
    await Promise.all(tables.map((TableName) => c.send(new DeleteTableCommand({ TableName }))));
    c.destroy();
  });
  const get = () => {
    if (!client) throw new Error('useLocalTables: the client exists only inside tests');
    return client;
  };
  return {
    client: get,
    freshTable: async (prefix) => {
      const name = `${prefix}-${randomUUID()}`;
      tables.push(name);
      await ensurePayoutsTable(get(), name);
      return name;
    },
    track: (tableName) => {
      tables.push(tableName);
    },
  };
}
