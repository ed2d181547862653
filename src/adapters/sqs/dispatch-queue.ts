import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DispatchTrigger } from '../../core/batch-model';
import { DependencyError } from '../../core/errors';
import type { DispatchMessage } from './dispatch-message';

/**
 * The dispatch trigger on AWS: one message per "this batch may be sent now" on an SQS FIFO queue.
 *
 * - One message group for every batch: FIFO order is oldest batch first, and SQS hands a group to one
 *   consumer at a time, so exactly one dispatch worker runs and DISPATCH_RATE_PER_SECOND holds across
 *   all of them without a shared counter.
 * - A fresh deduplication id per send: a re-enqueue of the same batch (a worker out of time, a
 *   re-trigger by reconciliation) must not be swallowed by FIFO's five-minute deduplication. Duplicates
 *   are harmless: every claim is conditional, and a message for a batch with nothing QUEUED ends at once.
 * - The body is the batch id only: no payee data, no amounts.
 */
export const DISPATCH_MESSAGE_GROUP = 'batches';

export class SqsDispatchTrigger implements DispatchTrigger {
  constructor(private readonly options: { client: SQSClient; queueUrl: string; newId?: () => string }) {}

  async batchReady(batchId: string): Promise<void> {
    const body: DispatchMessage = { batch_id: batchId };
    try {
      await this.options.client.send(
        new SendMessageCommand({
          QueueUrl: this.options.queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: DISPATCH_MESSAGE_GROUP,
          MessageDeduplicationId: `${batchId}:${(this.options.newId ?? randomUUID)()}`,
        }),
      );
    } catch (error) {
      // Not sent: the caller answers "try again" (the batch stays DISPATCHING; its due look re-triggers it).
      throw new DependencyError(`SQS SendMessage failed: ${(error as Error).name}`, { cause: error });
    }
  }
}

export { parseDispatchMessage } from './dispatch-message';
