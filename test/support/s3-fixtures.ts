import { S3Client } from '@aws-sdk/client-s3';

/**
 * The reports bucket as the S3 tests see it: a client with fixed, obviously fake credentials (presigned
 * links are computed from them, so they must not come from the environment) in a China region, the bucket
 * name and the reports key. Tests mock the client at the SDK boundary (aws-sdk-client-mock).
 */
export function testS3Client(): S3Client {
  return new S3Client({
    region: 'cn-north-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
  });
}

export const TEST_REPORTS_BUCKET = 'lianlian-payout-reports-test';
export const TEST_REPORTS_KEY_ARN =
  'arn:aws-cn:kms:cn-north-1:111122223333:key/00000000-0000-0000-0000-000000000000';
