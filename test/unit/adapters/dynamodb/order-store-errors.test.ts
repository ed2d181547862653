import 'aws-sdk-client-mock-vitest/extend';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoOrderStore } from '../../../../src/adapters/dynamodb/order-store';
import { DependencyError, TransitionConflictError } from '../../../../src/core/errors';
import { makeOrder } from '../../../support/order-fixtures';

/**
 * The store's SDK-error translation. DynamoDB Local cannot throttle, so the client is stubbed here; the
 * store's behaviour against a real table is the integration contract suite.
 */

const client = new DynamoDBClient({
  region: 'ap-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const mock = mockClient(client);
const store = new DynamoOrderStore({ client, tableName: 'payouts' });
beforeEach(() => mock.reset());

function serviceError(name: string, fault: 'client' | 'server' = 'client') {
  return new DynamoDBServiceException({ name, $fault: fault, $metadata: {}, message: `${name} for payouts` });
}

const order = makeOrder();
const operations = [
  ['create', PutItemCommand, () => store.create(order)],
  ['get', GetItemCommand, () => store.get(order.no_order)],
  [
    'update',
    UpdateItemCommand,
    () => store.update(order, { status: 'ACCEPTED', at: '2026-11-27T04:01:00.000Z', set: {} }),
  ],
  ['listDue', QueryCommand, () => store.listDue({ dueBefore: '2026-11-27T05:00:00.000Z', limit: 10 })],
] as const;

const unavailable = [
  serviceError('ProvisionedThroughputExceededException'),
  serviceError('ThrottlingException'),
  serviceError('RequestLimitExceeded'),
  serviceError('InternalServerError', 'server'),
  serviceError('ServiceUnavailable', 'server'),
  serviceError('SomeFutureServerFault', 'server'),
  Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }),
  Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
];

describe.each(operations)('%s', (operation, command, call) => {
  // Each operation sends one kind of command; it is the one that failed.
  const sent = () => expect(mock).toHaveReceivedCommand(command as never);
  it.each(unavailable.map((error) => [error.name, (error as { code?: string }).code ?? '', error] as const))(
    '%s %s → DependencyError with the cause, naming no SDK message',
    async (_name, _code, error) => {
      mock.onAnyCommand().rejects(error);
      const thrown = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(thrown).toBeInstanceOf(DependencyError);
      expect((thrown as Error).cause).toBe(error);
      expect((thrown as Error).message).toBe(`DynamoDB ${operation} failed: ${error.name}`);
      sent();
    },
  );

  it('passes a non-transient error through unchanged', async () => {
    const invalid = serviceError('ValidationException');
    mock.onAnyCommand().rejects(invalid);
    await expect(call()).rejects.toBe(invalid);
  });
});

it('still refuses a concurrent update as a transition conflict', async () => {
  mock
    .on(UpdateItemCommand)
    .rejects(
      new ConditionalCheckFailedException({ $metadata: {}, message: 'The conditional request failed' }),
    );
  await expect(
    store.update(order, { status: 'ACCEPTED', at: '2026-11-27T04:01:00.000Z', set: {} }),
  ).rejects.toBeInstanceOf(TransitionConflictError);
});
