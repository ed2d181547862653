import 'aws-sdk-client-mock-vitest/extend';
import { createHmac, randomBytes } from 'node:crypto';
import { GenerateMacCommand, KMSClient, KMSInvalidStateException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsPayeeKeyer, LocalPayeeKeyer } from '../../../../src/adapters/crypto/payee-key';
import { DependencyError } from '../../../../src/core/errors';

const KEY_ID = 'arn:aws:kms:ap-east-1:111122223333:key/payee-hmac';
// Obviously fake card numbers (the test/support convention).
const CARD = '6222000000001234';
const OTHER_CARD = '6222000000005678';

const kmsMock = mockClient(KMSClient);

beforeEach(() => kmsMock.reset());

describe('KmsPayeeKeyer', () => {
  it('sends exactly one GenerateMac (HMAC_SHA_256, the configured key, the card number as message) and returns base64url', async () => {
    const mac = Uint8Array.from(randomBytes(32));
    kmsMock.on(GenerateMacCommand).resolves({ Mac: mac, KeyId: KEY_ID, MacAlgorithm: 'HMAC_SHA_256' });
    const keyer = new KmsPayeeKeyer(new KMSClient({ region: 'ap-east-1' }), KEY_ID);

    const key = await keyer.key(CARD);

    expect(key).toBe(Buffer.from(mac).toString('base64url'));
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(kmsMock).toHaveReceivedCommandTimes(GenerateMacCommand, 1);
    expect(kmsMock).toHaveReceivedCommandWith(GenerateMacCommand, {
      KeyId: KEY_ID,
      MacAlgorithm: 'HMAC_SHA_256',
      Message: Buffer.from(CARD, 'utf8'),
    });
  });

  it('a KMS failure is a DependencyError that never quotes the card number', async () => {
    kmsMock
      .on(GenerateMacCommand)
      .rejects(new KMSInvalidStateException({ message: 'key disabled', $metadata: {} }));
    const keyer = new KmsPayeeKeyer(new KMSClient({ region: 'ap-east-1' }), KEY_ID);
    const error = await keyer.key(CARD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(String((error as Error).message)).not.toContain(CARD);
    expect(JSON.stringify(error)).not.toContain(CARD);
  });

  it('an answer without a MAC is a DependencyError, not an empty key', async () => {
    kmsMock.on(GenerateMacCommand).resolves({});
    const keyer = new KmsPayeeKeyer(new KMSClient({ region: 'ap-east-1' }), KEY_ID);
    await expect(keyer.key(CARD)).rejects.toBeInstanceOf(DependencyError);
  });
});

describe('LocalPayeeKeyer', () => {
  it('is HMAC-SHA256 under the local key, base64url: stable per card, different across cards and keys', async () => {
    const secret = randomBytes(32);
    const keyer = LocalPayeeKeyer.fromBase64(secret.toString('base64'));
    const key = await keyer.key(CARD);
    expect(key).toBe(createHmac('sha256', secret).update(CARD).digest('base64url'));
    expect(await keyer.key(CARD)).toBe(key);
    expect(await keyer.key(OTHER_CARD)).not.toBe(key);
    expect(await new LocalPayeeKeyer(randomBytes(32)).key(CARD)).not.toBe(key);
    expect(key).not.toContain(CARD);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new LocalPayeeKeyer(randomBytes(16))).toThrow(RangeError);
  });
});
