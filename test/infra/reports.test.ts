import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DailyCloseSchedule, PayoutReports } from '../../infra/constructs/reports';

function synth() {
  const app = new App();
  const stack = new Stack(app, 'ReportsTest');
  const reports = new PayoutReports(stack, 'Reports', { production: true });
  const fn = new LambdaFunction(stack, 'Close', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => ({});'),
  });
  reports.grantReadWrite(fn);
  new DailyCloseSchedule(stack, 'DailyClose', { target: fn });
  Aspects.of(app).add(new AwsSolutionsChecks());
  return { template: Template.fromStack(stack), stack, reports };
}

describe('the reports bucket', () => {
  const { template, stack, reports } = synth();

  it('is encrypted with its own customer-managed, rotated KMS key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: {
                'Fn::GetAtt': [stack.getLogicalId(reports.key.node.defaultChild as never), 'Arn'],
              },
            },
          },
        ],
      },
    });
  });

  it('is versioned, blocks every public access and logs its server access', () => {
    const buckets = template.findResources('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [Match.objectLike({ BucketKeyEnabled: true })],
        },
      },
    });
    const [bucket] = Object.values(buckets) as { Properties: Record<string, unknown> }[];
    expect(bucket?.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket?.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket?.Properties.LoggingConfiguration).toMatchObject({
      DestinationBucketName: { Ref: stack.getLogicalId(reports.accessLogs.node.defaultChild as never) },
      LogFilePrefix: 'reports/',
    });
    expect(bucket?.Properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
  });

  it('refuses every request that is not over TLS', () => {
    const bucketId = stack.getLogicalId(reports.bucket.node.defaultChild as never);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('passes cdk-nag (AwsSolutions) for the buckets and the key', () => {
    const findings = [
      ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-(S|KMS)')),
      ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-(S|KMS)')),
    ].map((f) => `${f.id}: ${String(f.entry.data).slice(0, 80)}`);
    expect(findings).toEqual([]);
  });

  it('is kept when the production stack is deleted', () => {
    const bucketId = stack.getLogicalId(reports.bucket.node.defaultChild as never);
    expect(template.toJSON().Resources[bucketId].DeletionPolicy).toBe('Retain');
  });

  it('runs the close every day at 00:30 China time (16:30 UTC) with the close payload', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 16 * * ? *)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ kind: 'close' }) })],
    });
  });

  it('lets the close function write and read reports with the key', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['s3:PutObject']), Effect: 'Allow' }),
          Match.objectLike({
            Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
            Effect: 'Allow',
          }),
        ]),
      },
    });
  });
});
