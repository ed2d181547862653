import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { expect, inject, it } from 'vitest';
import { ensurePayoutsTable, localDynamoClient } from '../../local/dynamodb';

it('DynamoDB Local is up and the payouts table can be created', async () => {
  const client = localDynamoClient(inject('dynamoEndpoint'));
  await ensurePayoutsTable(client, 'smoke-table');
  const { TableNames } = await client.send(new ListTablesCommand({}));
  expect(TableNames).toContain('smoke-table');
});
