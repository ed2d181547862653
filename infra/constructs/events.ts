import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import type { PayoutFunction } from './payout-function';

export interface PayoutEventsProps {
  readonly production: boolean;
}

/**
 * Payout events for other systems: a custom EventBridge bus, fed from the table's stream by the publish
 * function. The stream makes publishing at-least-once even when a function dies between its state write
 * and the publish; records that keep failing land in a dead-letter queue (which raises an alarm) instead
 * of blocking the shard.
 */
export class PayoutEvents extends Construct {
  readonly bus: EventBus;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: PayoutEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'lianlian-payout: payout state changes' });

    // Holds only stream coordinates (shard, sequence numbers), never item images: safe with SQS-managed SSE.
    this.deadLetterQueue = new Queue(this, 'PublishDlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Stream records live 24 h; two weeks leaves time to read the coordinates and replay from PITR/export.
      retentionPeriod: Duration.days(14),
      removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter destination of the stream event source mapping; it is watched by an alarm and has no consumer that could fail.',
      },
    ]);
  }

  /** events:PutEvents on this bus only. */
  grantPutEvents(grantee: IGrantable): void {
    this.bus.grantPutEventsTo(grantee);
  }

  /**
   * Connects the table's stream to the publisher: retries with batch bisection to isolate a poison
   * record, partial batch responses, and an SQS on-failure destination.
   */
  addStreamPublisher(table: ITable, publisher: PayoutFunction): void {
    publisher.function.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 25,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 8,
        maxRecordAge: Duration.hours(6),
        reportBatchItemFailures: true,
        parallelizationFactor: 1,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );
    NagSuppressions.addResourceSuppressions(
      publisher.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'dynamodb:ListStreams has no resource-level permissions (Resource "*"); CDK adds it with the stream read grant of the DynamoDB event source.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }
}
