import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
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
import type { CloseSchedulePayload } from '../../src/config/contract';

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
