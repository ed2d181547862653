import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  DISPATCH_MESSAGE_GROUP,
  parseDispatchMessage,
  SqsDispatchTrigger,
} from '../../../src/adapters/sqs/dispatch-queue';
import { DependencyError } from '../../../src/core/errors';

const QUEUE_URL = 'https://sqs.ap-east-1.amazonaws.com/123456789012/payouts-dispatch.fifo';

describe('SqsDispatchTrigger', () => {
  it('sends one FIFO message in the one group, with a fresh deduplication id per send', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    let n = 0;
    const trigger = new SqsDispatchTrigger({
      client: new SQSClient({}),
      queueUrl: QUEUE_URL,
      newId: () => `id${++n}`,
    });
    await trigger.batchReady('payroll-2026-11');
    await trigger.batchReady('payroll-2026-11');
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: '{"batch_id":"payroll-2026-11"}',
        MessageGroupId: DISPATCH_MESSAGE_GROUP,
        MessageDeduplicationId: 'payroll-2026-11:id1',
      },
      {
        QueueUrl: QUEUE_URL,
        MessageBody: '{"batch_id":"payroll-2026-11"}',
        MessageGroupId: DISPATCH_MESSAGE_GROUP,
        MessageDeduplicationId: 'payroll-2026-11:id2',
      },
    ]);
  });

  it('a failed send is a DependencyError (retry later), never silently lost', async () => {
    const sqs = mockClient(SQSClient);
    sqs
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const trigger = new SqsDispatchTrigger({ client: new SQSClient({}), queueUrl: QUEUE_URL });
    await expect(trigger.batchReady('b1')).rejects.toBeInstanceOf(DependencyError);
  });
});

describe('parseDispatchMessage', () => {
  it('reads a batch id and refuses anything else', () => {
    expect(parseDispatchMessage('{"batch_id":"b_1-x"}')).toBe('b_1-x');
    expect(parseDispatchMessage('{"batch_id":"BATCH#x"}')).toBeUndefined();
    expect(parseDispatchMessage('not json')).toBeUndefined();
    expect(parseDispatchMessage('{}')).toBeUndefined();
  });
});
