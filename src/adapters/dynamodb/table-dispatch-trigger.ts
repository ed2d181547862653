import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DispatchTrigger } from '../../core/batch-model';
import { DependencyError } from '../../core/errors';
import { batchKey, PAYOUTS_TABLE } from './table';

/**
 * Reconciliation's dispatch trigger on AWS: "run the dispatcher for this batch" written on the batch
 * record (`dispatch_request`), and sent on by the table stream's publisher as the SQS message
 * (src/adapters/eventbridge/stream-publish.ts, the publish function holds the queue).
 *
 * Why not SQS from here: the reconcile function would carry the SQS client for this one call, and it is
 * the function with the most clients already (DynamoDB, KMS, SSM for the merchant key); the table write
 * it already makes is enough. The request is also no less reliable: a written request is on the stream,
 * and a failed send is retried from its record there (a send from here that failed was only retried by
 * the next look).
 *
 * The write is not versioned and leaves `version` alone: it is a request, not a state change, so it
 * never makes a dispatcher's or a settlement's conditional write fail, and theirs never remove it (they
 * SET only their own fields). Each request is a new value (the time, and a random suffix so two requests
 * in the same millisecond still differ); the publisher sends one message per changed value.
 */
export class TableDispatchTrigger implements DispatchTrigger {
  constructor(
    private readonly options: {
      client: DynamoDBClient;
      tableName: string;
      now?: () => Date;
      nonce?: () => string;
    },
  ) {}

  async batchReady(batchId: string): Promise<void> {
    const at = (this.options.now ?? (() => new Date()))().toISOString();
    const nonce = (this.options.nonce ?? (() => Math.random().toString(36).slice(2, 8)))();
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { [PAYOUTS_TABLE.partitionKey]: { S: batchKey(batchId) } },
          UpdateExpression: 'SET dispatch_request = :at',
          // Never creates a record: a request for a batch that does not exist is nothing to run.
          ConditionExpression: 'attribute_exists(batch_id)',
          ExpressionAttributeValues: { ':at': { S: `${at}#${nonce}` } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      // Not written: the caller's look fails, and the next look asks again (the batch stays due).
      throw new DependencyError(`DynamoDB dispatch request failed: ${(error as Error).name}`, {
        cause: error,
      });
    }
  }
}
