import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildExportRuntime, exportHandler } from '../../../functions/export/handler';
import { lambdaContext } from '../../../local/front';
import { ENV } from '../../../src/config/contract';
import { ConfigError } from '../../../src/config/problems';
import type { ListRow, SearchReader } from '../../../src/core/search';
import { makeOrder } from '../../support/order-fixtures';
import { TEST_REPORTS_BUCKET, TEST_REPORTS_KEY_ARN, testS3Client } from '../../support/s3-fixtures';

/**
 * The export function (functions/export) as deployed, with S3 mocked at the SDK boundary: the exact
 * PutObject a large export sends (bucket, exports/ key, SSE-KMS with the reports key), the presigned link
 * it answers, and the configuration it refuses.
 */

const s3 = mockClient(S3Client);
const client = testS3Client();
const BUCKET = TEST_REPORTS_BUCKET;
const KEY_ARN = TEST_REPORTS_KEY_ARN;
const NOW = new Date('2026-11-30T01:00:00.000Z');

beforeEach(() => s3.reset());

/** One batch of `count` payouts, served as the by-batch index would (a batch_id export reads only it). */
function batchReader(count: number): SearchReader {
  const rows: ListRow[] = Array.from({ length: count }, (_, i) =>
    makeOrder({ batch_id: 'B1', batch_seq: count - i, status: 'SUCCESS' }),
  );
  const unused = () => Promise.reject(new Error('not read by a batch export'));
  return {
    batch: async (_id, afterSeq, limit) => {
      const rest = rows.filter((r) => afterSeq === undefined || (r.batch_seq ?? 0) < afterSeq);
      return { rows: rest.slice(0, limit), exhausted: rest.length <= limit };
    },
    getMany: async () => [],
    dayShard: unused,
    queue: unused,
    countQueue: unused,
    anomalies: unused,
    open: unused,
  };
}

const env = (extra: Record<string, string> = {}) => ({
  [ENV.tableName]: 'payouts',
  [ENV.reportsBucket]: BUCKET,
  [ENV.reportsKmsKeyId]: KEY_ARN,
  ...extra,
});

function event(query: Record<string, string>): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET',
    resource: '/payouts/export.csv',
    path: '/payouts/export.csv',
    queryStringParameters: query,
    pathParameters: null,
    headers: {},
    multiValueHeaders: {},
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

function handler(extraEnv: Record<string, string>, rows: number) {
  const runtime = buildExportRuntime(env(extraEnv), {
    s3: client,
    reader: batchReader(rows),
    clock: { now: () => NOW },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  });
  return exportHandler(() => runtime);
}

describe('the export function', () => {
  it('writes a large export under exports/ with SSE-KMS and answers a presigned link', async () => {
    s3.on(PutObjectCommand).resolves({ VersionId: 'v-1' });
    const answer = await handler({ [ENV.exportInlineMaxBytes]: '300' }, 5)(
      event({ batch_id: 'B1' }),
      lambdaContext('export'),
    );
    expect(answer.statusCode).toBe(200);
    expect(answer.headers?.['cache-control']).toBe('no-store');
    const body = JSON.parse(answer.body) as { url: string; expires_at: string; rows: number };
    expect(body.rows).toBe(5);
    expect(body.expires_at).toBe('2026-11-30T01:15:00.000Z');

    const calls = s3.commandCalls(PutObjectCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.Key).toMatch(/^exports\/2026-11-30\/[0-9a-f-]{36}\.csv$/);
    expect(input).toEqual({
      Bucket: BUCKET,
      Key: input.Key,
      Body: expect.any(String),
      ContentType: 'text/csv;charset=utf-8',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KEY_ARN,
      BucketKeyEnabled: true,
    });
    // The header and the five rows, masked, never the sealed payee.
    const csv = String(input.Body);
    expect(csv.trim().split('\r\n')).toHaveLength(6);
    expect(csv).toContain('622200******0000');
    expect(csv).not.toContain('sealed-test');

    // The link is a presigned GET of that very object, for the link's lifetime.
    const url = new URL(body.url);
    expect(`${url.hostname}${url.pathname}`).toContain(`${BUCKET}`);
    expect(decodeURIComponent(url.pathname)).toContain(input.Key);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
  });

  it('answers a small export inline, writing nothing', async () => {
    const answer = await handler({}, 3)(event({ batch_id: 'B1' }), lambdaContext('export'));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers?.['content-type']).toBe('text/csv;charset=utf-8');
    expect(answer.body.trim().split('\r\n')).toHaveLength(4);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('names a bad filter (400) before reading anything', async () => {
    const answer = await handler({}, 1)(event({ status: 'MAYBE' }), lambdaContext('export'));
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toContain('status');
  });
});

describe('the export function configuration', () => {
  const refused = (values: Record<string, string | undefined>): ConfigError => {
    try {
      buildExportRuntime(values, { logger: new Logger({ logLevel: 'SILENT' }) });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('accepted');
  };

  it('needs the table and the reports bucket, and nothing of the provider or the merchant keys', () => {
    expect(refused({ [ENV.tableName]: 'payouts' }).message).toContain(`${ENV.reportsBucket} is required`);
    expect(refused({ [ENV.reportsBucket]: BUCKET }).message).toContain(`${ENV.tableName} is required`);
    expect(refused(env({ [ENV.dynamoEndpoint]: 'not a url' })).problems).toEqual([
      { name: ENV.dynamoEndpoint, message: 'must be a URL' },
    ]);
    expect(() =>
      buildExportRuntime(env(), { logger: new Logger({ logLevel: 'SILENT' }), s3: client }),
    ).not.toThrow();
  });

  it('takes EXPORT_INLINE_MAX_BYTES as a positive whole number only, naming it', () => {
    for (const bad of ['0', '-1', '1.5', '4MB']) {
      const error = refused(env({ [ENV.exportInlineMaxBytes]: bad }));
      expect(
        error.problems.map((p) => p.name),
        bad,
      ).toEqual([ENV.exportInlineMaxBytes]);
    }
    const runtime = buildExportRuntime(env({ [ENV.exportInlineMaxBytes]: '1024' }), {
      logger: new Logger({ logLevel: 'SILENT' }),
      s3: client,
    });
    expect(runtime.config.inlineMaxBytes).toBe(1024);
    expect(
      buildExportRuntime(env(), { logger: new Logger({ logLevel: 'SILENT' }), s3: client }).config
        .inlineMaxBytes,
    ).toBeUndefined();
  });
});
