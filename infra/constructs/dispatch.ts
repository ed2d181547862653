import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { ENV } from '../../src/config/contract';
import type { PayoutFunction } from './payout-function';
import type { PayoutStorage } from './storage';

export interface PayoutDispatchProps {
  readonly production: boolean;
  /** The dispatch worker (functions/dispatch), created with the other functions. */
  readonly worker: PayoutFunction;
  /** The worker's timeout: the queue's visibility timeout is derived from it. */
  readonly workerTimeout: Duration;
  readonly storage: PayoutStorage;
}

/** Receives before a message goes to the DLQ: a batch whose run keeps failing needs a person. */
export const DISPATCH_MAX_RECEIVES = 5;

/**
 * Batch dispatch on AWS (issue 11; docs/architecture.md "Batches: dispatch"): an SQS FIFO queue with one
 * message group feeding the dispatch function through an event source mapping of batch size 1. FIFO with
 * one group means one message in flight at a time: one worker, batches oldest first, and the
 * DISPATCH_RATE_PER_SECOND limiter of that one worker is the whole dispatch rate.
 *
 * - Encrypted with a key of its own (rotated): messages carry only batch ids, but the queue is part of
 *   the payout path and its key policy is ours to narrow.
 * - A DLQ (FIFO, same key) after DISPATCH_MAX_RECEIVES receives, with an alarm (the stack adds it). A
 *   message there is not a lost batch: the batch's due look re-triggers it; the alarm says runs fail.
 * - Visibility timeout: 3 × the worker's timeout. A worker that dies holds the group at most that long;
 *   reconciliation's due look re-sends the trigger meanwhile.
 */
export class PayoutDispatch extends Construct {
  readonly key: Key;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: PayoutDispatchProps) {
    super(scope, id);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.key = new Key(this, 'QueueKey', {
      description: 'lianlian-payout: batch dispatch queue encryption',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.deadLetterQueue = new Queue(this, 'Dlq', {
      fifo: true,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter queue of the dispatch queue; it is watched by an alarm and has no consumer that could fail.',
      },
    ]);
    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      // Every send has its own deduplication id (a re-enqueue of the same batch must not be swallowed).
      contentBasedDeduplication: false,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.workerTimeout.toSeconds() * 3),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: DISPATCH_MAX_RECEIVES },
      removalPolicy,
    });

    const worker = props.worker;
    // Batch size 1: one batch per invocation; a failure is reported per message (never a whole batch).
    worker.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }),
    );
    // The worker re-enqueues a batch it could not finish in time.
    this.grantTrigger(worker);

    // Its table access beyond the order store's get/update (granted with the functions): the claim
    // transaction's ConditionCheck on the batch record, and the by-batch index.
    this.storage = props.storage;
    worker.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:ConditionCheckItem'],
        resources: [props.storage.table.tableArn],
      }),
    );
    this.grantBatchLooks(worker);
  }

  private readonly storage: PayoutStorage;

  /**
   * Reconciliation's batch looks and the worker's completion read a batch's items through the by-batch
   * index (the batch record itself is a GetItem/UpdateItem on the table, which both already have).
   */
  grantBatchLooks(fn: PayoutFunction): void {
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${this.storage.table.tableArn}/index/${PAYOUTS_TABLE.batchIndex.name}`],
      }),
    );
  }

  /**
   * Who may trigger a dispatch (the batch API, the worker, and the publisher, which sends reconciliation's
   * re-triggers from the table stream): SendMessage, and the URL.
   */
  grantTrigger(fn: PayoutFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment(ENV.dispatchQueueUrl, this.queue.queueUrl);
    NagSuppressions.addResourceSuppressions(
      fn.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "kms:GenerateDataKey* and kms:ReEncrypt* on the dispatch queue's own KMS key only: what Queue.grantSendMessages adds so a sender can encrypt messages for a queue with a customer-managed key.",
          appliesTo: ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'],
        },
      ],
      true,
    );
  }
}
