import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { VersionedReportStore } from '../../core/close';
import { DependencyError } from '../../core/errors';

export interface S3ReportStoreOptions {
  readonly client: S3Client;
  /** The reports bucket: versioned, KMS-encrypted with a customer key (infra/constructs/reports.ts). */
  readonly bucket: string;
  /** The bucket's KMS key; when given, every put names it (the bucket's default encryption does anyway). */
  readonly kmsKeyId?: string;
}

/**
 * The reports store on S3. The bucket is versioned, so writing a key again keeps the earlier object as a
 * noncurrent version; the version answered is S3's VersionId. Reads are of the current version.
 */
export class S3ReportStore implements VersionedReportStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly kmsKeyId: string | undefined;

  constructor(options: S3ReportStoreOptions) {
    if (!options.bucket) throw new TypeError('bucket is required');
    this.client = options.client;
    this.bucket = options.bucket;
    this.kmsKeyId = options.kmsKeyId;
  }

  async put(key: string, body: string, contentType: string): Promise<{ version: string }> {
    const out = await this.call('put', () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ServerSideEncryption: 'aws:kms',
          ...(this.kmsKeyId ? { SSEKMSKeyId: this.kmsKeyId, BucketKeyEnabled: true } : {}),
        }),
      ),
    );
    // An unversioned bucket answers no VersionId: the earlier report would be gone. Refuse to pretend.
    if (!out.VersionId) throw new Error(`bucket ${this.bucket} answered no VersionId: is versioning on?`);
    return { version: out.VersionId };
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.current(key))?.body;
  }

  async current(key: string): Promise<{ body: string; version: string } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = out.Body ? await out.Body.transformToString('utf-8') : '';
      return { body, version: out.VersionId ?? 'null' };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error | undefined)?.name === 'NoSuchKey') return undefined;
      throw translate('get', error);
    }
  }

  /**
   * A presigned GET that downloads (content-disposition: attachment, named after the key), as the inline
   * export does: a browser navigating to it saves the file instead of showing it.
   */
  async link(key: string, ttlSeconds: number): Promise<string> {
    const name = key.slice(key.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]/g, '_');
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentDisposition: `attachment; filename="${name}"`,
      }),
      { expiresIn: ttlSeconds },
    );
  }

  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw translate(operation, error);
    }
  }
}

/** S3 throttling or its own faults are "not now" (DependencyError); anything else passes unchanged. */
function translate(operation: string, error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const fault = (error as { $fault?: string }).$fault;
  if (fault === 'server' || error.name === 'SlowDown' || error.name === 'ServiceUnavailable') {
    return new DependencyError(`S3 ${operation} failed: ${error.name}`, { cause: error });
  }
  return error;
}
