import { TEST_OID_PARTNER } from '../../../support/fakes';
import 'aws-sdk-client-mock-vitest/extend';
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { GetParameterCommand, SSMClient, ThrottlingException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parameterStoreKeys } from '../../../../functions/shared/merchant-key-loader';
import { MemoryMetrics } from '../../../../functions/shared/observability';
import { buildRuntime } from '../../../../functions/shared/runtime';
import { cachedFor } from '../../../../src/adapters/kms/cache';
import { ENV, merchantKeyContext } from '../../../../src/config/contract';
import { DependencyError } from '../../../../src/core/errors';
import { verifyFields } from '../../../../src/lianlian/sign';

/**
 * Merchant keys live MERCHANT_KEY_CACHE_SECONDS: a key rotated in SSM is used without a cold start, and a
 * failed re-read keeps the key in use. MD5 mode, so each request's signature shows which key signed it.
 */

const OID = TEST_OID_PARTNER;
const KMS_KEY = 'arn:aws:kms:ap-east-1:111122223333:key/merchant';
const MD5_PARAM = '/lianlian-payout/test/merchant-md5-key';
const OLD_KEY = 'md5-key-before-rotation';
const NEW_KEY = 'md5-key-after-rotation';
const OLD_BLOB = randomBytes(64);
const NEW_BLOB = randomBytes(64);

const env = {
  [ENV.keySource]: 'kms',
  [ENV.tableName]: 'payouts',
  [ENV.apiBase]: 'https://provider.example.com',
  [ENV.oidPartner]: OID,
  [ENV.signType]: 'MD5',
  [ENV.notifyUrl]: 'https://api.example.com/lianlian/notify',
  [ENV.md5KeyParam]: MD5_PARAM,
  [ENV.merchantKeyKmsKeyId]: KMS_KEY,
  [ENV.fieldKeyKmsKeyId]: 'arn:aws:kms:ap-east-1:111122223333:key/field',
  [ENV.keyCacheSeconds]: '300',
};

const ssmMock = mockClient(SSMClient);
const kmsMock = mockClient(KMSClient);

const stores = (blob: Buffer) =>
  ssmMock
    .on(GetParameterCommand, { Name: MD5_PARAM })
    .resolves({ Parameter: { Name: MD5_PARAM, Type: 'String', Value: blob.toString('base64') } });

const expectedDecrypt = (blob: Buffer) => ({
  CiphertextBlob: blob,
  KeyId: KMS_KEY,
  EncryptionContext: merchantKeyContext(OID, 'md5'),
});

let now: number;
let sent: Record<string, string>[];
let logger: Logger;

function runtime() {
  return buildRuntime(env, {
    kmsMerchantKeys: parameterStoreKeys(() => new SSMClient({ region: 'ap-east-1' })),
    kms: new KMSClient({ region: 'ap-east-1' }),
    dynamo: new DynamoDBClient({ region: 'ap-east-1' }),
    clock: { now: () => new Date(now) },
    metrics: new MemoryMetrics(),
    logger,
    fetchImpl: async (_url, init) => {
      sent.push(JSON.parse(String(init?.body)) as Record<string, string>);
      return new Response('{"ret_code":"9999","ret_msg":"busy"}', { status: 200 });
    },
  });
}

/** Which key signed the last request the provider received. */
function lastSignedWith(): string | undefined {
  const body = sent.at(-1);
  if (!body) return undefined;
  return [OLD_KEY, NEW_KEY].find((md5Key) => verifyFields(body, { md5Key }).ok);
}

beforeEach(() => {
  ssmMock.reset();
  kmsMock.reset();
  now = Date.parse('2026-11-30T00:00:00Z');
  sent = [];
  logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  kmsMock.on(DecryptCommand).callsFake((input: { CiphertextBlob: Uint8Array }) => {
    const blob = Buffer.from(input.CiphertextBlob);
    const key = blob.equals(OLD_BLOB) ? OLD_KEY : blob.equals(NEW_BLOB) ? NEW_KEY : undefined;
    if (!key) throw new Error('unexpected ciphertext');
    return { KeyId: KMS_KEY, Plaintext: Buffer.from(key, 'utf8') };
  });
});

describe('merchant keys with a stated lifetime', () => {
  it('re-reads the key after MERCHANT_KEY_CACHE_SECONDS and signs with the rotated one, no cold start', async () => {
    stores(OLD_BLOB);
    const rt = runtime();

    await rt.deps.provider.query('PO-1');
    expect(lastSignedWith()).toBe(OLD_KEY);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssmMock).toHaveReceivedNthCommandWith(GetParameterCommand, 1, { Name: MD5_PARAM });
    expect(kmsMock).toHaveReceivedNthCommandWith(DecryptCommand, 1, expectedDecrypt(OLD_BLOB));

    // The operator rotates the key in SSM; within the lifetime the loaded key is still used, unread.
    stores(NEW_BLOB);
    now += 299_000;
    await rt.deps.provider.query('PO-2');
    expect(lastSignedWith()).toBe(OLD_KEY);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);

    // At the lifetime: read again, exactly the same commands, and the provider client is rebuilt with it.
    now += 1_000;
    await rt.deps.provider.query('PO-3');
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    expect(ssmMock).toHaveReceivedNthCommandWith(GetParameterCommand, 2, { Name: MD5_PARAM });
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 2);
    expect(kmsMock).toHaveReceivedNthCommandWith(DecryptCommand, 2, expectedDecrypt(NEW_BLOB));
    expect(lastSignedWith()).toBe(NEW_KEY);
    // Verification follows the same key (MD5 verifies with the merchant's secret).
    expect((await rt.verifyingKeys()).md5Key).toBe(NEW_KEY);
  });

  it('a failed re-read keeps the key in use, logs it, and tries again later — not on every request', async () => {
    stores(OLD_BLOB);
    const rt = runtime();
    const warn = vi.spyOn(logger, 'warn');
    await rt.deps.provider.query('PO-1');

    ssmMock.on(GetParameterCommand).rejects(
      new ThrottlingException({
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
        Message: 'Rate exceeded',
      }),
    );
    now += 300_000;
    await rt.deps.provider.query('PO-2');
    expect(lastSignedWith()).toBe(OLD_KEY);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls[0])).toContain('ThrottlingException');
    expect(JSON.stringify(warn.mock.calls[0])).not.toContain(OLD_KEY);

    // The next attempt waits a tenth of the lifetime (30 s).
    now += 29_000;
    await rt.deps.provider.query('PO-3');
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);

    stores(NEW_BLOB);
    now += 1_000;
    await rt.deps.provider.query('PO-4');
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 3);
    expect(lastSignedWith()).toBe(NEW_KEY);
  });

  it('with no key loaded yet, SSM/KMS throttling surfaces as DependencyError and is not cached', async () => {
    ssmMock.on(GetParameterCommand).rejects(
      new ThrottlingException({
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
        Message: 'Rate exceeded',
      }),
    );
    const rt = runtime();
    await expect(rt.merchantKeys()).rejects.toBeInstanceOf(DependencyError);
    await expect(rt.deps.provider.query('PO-1')).rejects.toBeInstanceOf(DependencyError);
    expect(sent).toEqual([]);

    stores(OLD_BLOB);
    kmsMock.on(DecryptCommand).rejectsOnce(
      new KMSServiceException({
        name: 'KMSInternalException',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'internal',
      }),
    );
    await expect(rt.merchantKeys()).rejects.toBeInstanceOf(DependencyError);
  });
});

describe('cachedFor', () => {
  it('shares one load between concurrent callers at expiry', async () => {
    let t = 0;
    let loads = 0;
    const get = cachedFor(async () => ++loads, { lifetimeMs: 1_000, now: () => t });
    expect(await get()).toBe(1);
    t = 1_000;
    const values = await Promise.all([get(), get(), get()]);
    expect(values).toEqual([2, 2, 2]);
    expect(loads).toBe(2);
  });
});
