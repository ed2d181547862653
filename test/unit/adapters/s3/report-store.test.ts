import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ReportStore } from '../../../../src/adapters/s3/report-store';
import { DependencyError } from '../../../../src/core/errors';
import { TEST_REPORTS_BUCKET, TEST_REPORTS_KEY_ARN, testS3Client } from '../../../support/s3-fixtures';

const s3 = mockClient(S3Client);
const client = testS3Client();
const BUCKET = TEST_REPORTS_BUCKET;
const KEY_ARN = TEST_REPORTS_KEY_ARN;

/** What the SDK hands back as Body: a stream with transformToString (the only part the store uses). */
function body(text: string) {
  return {
    transformToString: async (encoding?: string) =>
      Buffer.from(text, 'utf8').toString(encoding as BufferEncoding),
  } as never;
}

beforeEach(() => s3.reset());

describe('S3ReportStore', () => {
  it('puts under the bucket with KMS encryption and answers the VersionId', async () => {
    s3.on(PutObjectCommand).resolves({ VersionId: 'v-2' });
    const store = new S3ReportStore({ client, bucket: BUCKET, kmsKeyId: KEY_ARN });
    await expect(store.put('close/2026-11-27.json', '{"a":1}', 'application/json')).resolves.toEqual({
      version: 'v-2',
    });
    const calls = s3.commandCalls(PutObjectCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'close/2026-11-27.json',
      Body: '{"a":1}',
      ContentType: 'application/json',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KEY_ARN,
      BucketKeyEnabled: true,
    });
  });

  it('refuses to report a write to an unversioned bucket as kept', async () => {
    s3.on(PutObjectCommand).resolves({});
    const store = new S3ReportStore({ client, bucket: BUCKET });
    await expect(store.put('close/x.csv', 'a', 'text/csv')).rejects.toThrow(/VersionId/);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'close/x.csv',
      Body: 'a',
      ContentType: 'text/csv',
      ServerSideEncryption: 'aws:kms',
    });
  });

  it('reads the current version, with its version id', async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'close/2026-11-27.json' }).resolves({
      Body: body('{"date":"2026-11-27"}'),
      VersionId: 'v-7',
    });
    const store = new S3ReportStore({ client, bucket: BUCKET });
    await expect(store.current('close/2026-11-27.json')).resolves.toEqual({
      body: '{"date":"2026-11-27"}',
      version: 'v-7',
    });
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'close/2026-11-27.json',
    });
  });

  it('answers undefined for a key never written', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no such key', $metadata: {} }));
    const store = new S3ReportStore({ client, bucket: BUCKET });
    await expect(store.get('close/2026-01-01.json')).resolves.toBeUndefined();
  });

  it('turns S3 throttling into a DependencyError', async () => {
    const slow = Object.assign(new Error('slow down'), { name: 'SlowDown', $fault: 'server' });
    s3.on(PutObjectCommand).rejects(slow);
    const store = new S3ReportStore({ client, bucket: BUCKET });
    await expect(store.put('k', 'b', 'text/plain')).rejects.toBeInstanceOf(DependencyError);
  });

  it('links with a presigned GET of the key that expires', async () => {
    const store = new S3ReportStore({ client, bucket: BUCKET });
    const url = new URL(await store.link('close/2026-11-27.csv', 900));
    expect(url.pathname).toContain('close/2026-11-27.csv');
    expect(url.hostname).toContain(BUCKET);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // A browser navigating to it saves the file (the console's Export follows the link).
    expect(url.searchParams.get('response-content-disposition')).toBe(
      'attachment; filename="2026-11-27.csv"',
    );
  });
});
