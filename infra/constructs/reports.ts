import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { type CloseSchedulePayload, ENV } from '../../src/config/contract';
import type { PayoutEvents } from './events';
import { type FunctionDefaults, PayoutFunction } from './payout-function';
import { type PayoutStorage, tableKeyViaService } from './storage';

export interface PayoutReportsProps {
  readonly production: boolean;
  /** Noncurrent versions (earlier closes of a day) are kept this long; default 400 days. */
  readonly noncurrentVersionDays?: number;
}

/**
 * The reports bucket (daily close statements, large exports): encrypted with a customer-managed KMS key
 * (rotated), versioned (re-running a close keeps the earlier statement as a noncurrent version), every
 * public access blocked, TLS only (enforceSSL adds the deny-unless-SecureTransport policy), ACLs off,
 * and its server access logs in a bucket of their own. Reports hold masked data at most.
 */
export class PayoutReports extends Construct {
  readonly key: Key;
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: PayoutReportsProps) {
    super(scope, id);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.key = new Key(this, 'Key', {
      description: 'lianlian-payout: reports bucket (daily close, exports)',
      enableKeyRotation: true,
      removalPolicy,
    });
    // Server access logs: S3 delivers them only to an SSE-S3 bucket (not SSE-KMS), versioned like the
    // reports, TLS only; a log bucket logging itself would loop, hence the suppression below.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy,
      autoDeleteObjects: false,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
    });
    NagSuppressions.addResourceSuppressions(this.accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'This is the server access log bucket of the reports bucket; logging it to itself would loop.',
      },
    ]);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'reports/',
      removalPolicy,
      lifecycleRules: [
        {
          // Earlier versions of a statement stay for audits, then move to cheaper storage and expire.
          noncurrentVersionTransitions: [
            { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
          ],
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 400),
        },
      ],
    });
  }

  /** Write and read reports (PutObject, GetObject) with the key's encrypt and decrypt. */
  grantReadWrite(grantee: IGrantable): void {
    this.bucket.grantReadWrite(grantee);
  }

  /** Read reports only (GetObject, and presigned links made by the grantee). */
  grantRead(grantee: IGrantable): void {
    this.bucket.grantRead(grantee);
  }
}

/** China midnight is 16:00 UTC; the close runs half an hour later, when late notifications have landed. */
export const CLOSE_SCHEDULE_UTC = { hour: '16', minute: '30' } as const;

export interface DailyCloseScheduleProps {
  readonly target: IFunction;
}

/** The daily close heartbeat: every day at 00:30 China time, for the China day that just ended. */
export class DailyCloseSchedule extends Construct {
  readonly rule: Rule;
  readonly payload: CloseSchedulePayload = { kind: 'close' };

  constructor(scope: Construct, id: string, props: DailyCloseScheduleProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Rule', {
      description: 'lianlian-payout: the daily close of the China day (UTC+8) that just ended',
      schedule: Schedule.cron({ ...CLOSE_SCHEDULE_UTC }),
    });
    this.rule.addTarget(
      new LambdaFunction(props.target, {
        event: RuleTargetInput.fromObject(this.payload),
        // A close can be re-run any time (it keeps earlier versions): retry for a few hours, not forever.
        maxEventAge: Duration.hours(6),
        retryAttempts: 2,
      }),
    );
  }
}

export interface DailyCloseProps {
  readonly defaults: FunctionDefaults;
  readonly storage: PayoutStorage;
  readonly reports: PayoutReports;
  readonly events: PayoutEvents;
}

/**
 * The close function (functions/close: the daily schedule and GET /close/{date}) with exactly what it
 * needs: Query on the three indexes it reads (by-day, late-by-day, open-by-due), GetItem and BatchGetItem
 * on the table (orders, balance records), the table key only through DynamoDB, read and write on the
 * reports bucket (and its key), PutEvents on the payout bus. No merchant key, no field key: it never
 * signs and never opens a payee seal.
 */
export class DailyClose extends Construct {
  readonly fn: PayoutFunction;
  readonly schedule: DailyCloseSchedule;

  constructor(scope: Construct, id: string, props: DailyCloseProps) {
    super(scope, id);
    const { storage, reports, events } = props;
    this.fn = new PayoutFunction(this, 'Close', {
      name: 'close',
      defaults: props.defaults,
      // 100,000 payouts read in well under a minute; room for a slow day and the report writes.
      timeout: Duration.minutes(5),
      memorySize: 1024,
      description: 'lianlian-payout: the daily close and GET /close/{date}',
      retryAttempts: 2,
      environment: {
        [ENV.tableName]: storage.table.tableName,
        [ENV.reportsBucket]: reports.bucket.bucketName,
        [ENV.reportsKmsKeyId]: reports.key.keyArn,
        [ENV.eventBusName]: events.bus.eventBusName,
      },
    });
    const principal = this.fn.grantPrincipal;
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [storage.table.tableArn],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [
          PAYOUTS_TABLE.byDayIndex.name,
          PAYOUTS_TABLE.lateIndex.name,
          PAYOUTS_TABLE.openIndex.name,
        ].map((index) => `${storage.table.tableArn}/index/${index}`),
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [storage.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': tableKeyViaService(this) } },
      }),
    );
    reports.grantReadWrite(this.fn);
    events.grantPutEvents(this.fn);
    this.schedule = new DailyCloseSchedule(this, 'Schedule', { target: this.fn.function });
    NagSuppressions.addResourceSuppressions(
      this.fn,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "Bucket grants name the reports bucket's objects (arn/*) and the key's GenerateDataKey*/ReEncrypt* family: the close writes and reads any day's statement in its own bucket only.",
        },
      ],
      true,
    );
  }
}
