import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { ENV } from '../../src/config/contract';
import { type FunctionDefaults, PayoutFunction } from './payout-function';
import type { PayoutReports } from './reports';
import { type PayoutStorage, tableKeyViaService } from './storage';

/** Where large exports are written in the reports bucket (src/core/export.ts: exports/<day>/<uuid>.csv). */
export const EXPORTS_PREFIX = 'exports/';

/** The indexes an export reads (src/core/search.ts listPayouts): by day, by batch, awaiting approval/funds. */
export const EXPORT_INDEXES = [
  PAYOUTS_TABLE.byDayIndex.name,
  PAYOUTS_TABLE.batchIndex.name,
  PAYOUTS_TABLE.awaitingIndex.name,
] as const;

export interface PayoutExportProps {
  readonly defaults: FunctionDefaults;
  readonly storage: PayoutStorage;
  readonly reports: PayoutReports;
  /** EXPORT_INLINE_MAX_BYTES; unset = the function's default (4 MB). */
  readonly inlineMaxBytes?: number;
}

/**
 * The export function (functions/export: GET /payouts/export.csv, issue 12) with exactly what it needs:
 * Query on the three indexes a search reads and BatchGetItem of the orders a KEYS_ONLY index names, the
 * table key only through DynamoDB; PutObject and GetObject on `exports/*` of the reports bucket only (not
 * the close's statements); the reports key's GenerateDataKey (S3 encrypts a put) and Decrypt (S3 decrypts
 * a presigned GET, which acts with this role's permissions), only through S3. No merchant key, no field
 * key, no SSM: it never signs and never opens a payee seal.
 *
 * Timeout 29 s: API Gateway's integration limit, beyond which the caller already has its 504 (a longer
 * export must be narrowed by its filters). 1024 MB: the CSV is built in memory, and CPU scales with it.
 */
export class PayoutExport extends Construct {
  readonly fn: PayoutFunction;

  constructor(scope: Construct, id: string, props: PayoutExportProps) {
    super(scope, id);
    const { storage, reports } = props;
    this.fn = new PayoutFunction(this, 'Export', {
      name: 'export',
      defaults: props.defaults,
      timeout: Duration.seconds(29),
      memorySize: 1024,
      description:
        'GET /payouts/export.csv: every matching payout, masked; large ones via the reports bucket',
      environment: {
        [ENV.tableName]: storage.table.tableName,
        [ENV.reportsBucket]: reports.bucket.bucketName,
        [ENV.reportsKmsKeyId]: reports.key.keyArn,
        ...(props.inlineMaxBytes !== undefined
          ? { [ENV.exportInlineMaxBytes]: String(props.inlineMaxBytes) }
          : {}),
      },
    });
    const principal = this.fn.grantPrincipal;
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: EXPORT_INDEXES.map((index) => `${storage.table.tableArn}/index/${index}`),
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:BatchGetItem'], resources: [storage.table.tableArn] }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [storage.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': tableKeyViaService(this) } },
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [reports.bucket.arnForObjects(`${EXPORTS_PREFIX}*`)],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [reports.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    NagSuppressions.addResourceSuppressions(
      this.fn,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'The object wildcard is the exports/ prefix of the reports bucket (one object per export, named at run time); nothing else in the bucket is reachable.',
          appliesTo: [{ regex: '/^Resource::<.*ReportsBucket.*\\.Arn>\\/exports\\/\\*$/g' }],
        },
      ],
      true,
    );
  }
}
