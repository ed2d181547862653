import 'aws-sdk-client-mock-vitest/extend';
import { generateKeyPairSync } from 'node:crypto';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { exportPrivateKeyBase64 } from '../../../src/lianlian/keys';
import { encryptMerchantKey, keyPlaintext, parseKind, parseOidPartner } from '../../../tools/encrypt-key';
import { ToolError } from '../../../tools/errors';

const kmsMock = mockClient(KMSClient);
const ssmMock = mockClient(SSMClient);
const clients = () => ({
  kms: new KMSClient({ region: 'cn-north-1' }),
  ssm: new SSMClient({ region: 'cn-north-1' }),
});

const KEY_ARN = 'arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PARAM = '/lianlian-payout/prod/merchant-rsa-key';
const OID = '201408071000001543';
const CIPHERTEXT = Buffer.from('kms-ciphertext-bytes');

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const PKCS8_BASE64 = exportPrivateKeyBase64(privateKey);
const PKCS1_PEM = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();

beforeEach(() => {
  kmsMock.reset();
  ssmMock.reset();
  kmsMock.on(EncryptCommand).resolves({ CiphertextBlob: CIPHERTEXT, KeyId: KEY_ARN });
  ssmMock.on(PutParameterCommand).resolves({ Version: 3 });
});

describe('encrypt-key', () => {
  it('encrypts under the merchant-key context and stores the base64 ciphertext as a String parameter', async () => {
    const result = await encryptMerchantKey(clients(), {
      kmsKeyId: KEY_ARN,
      parameterName: PARAM,
      oidPartner: OID,
      kind: 'rsa',
      keyText: `${PKCS8_BASE64}\n`,
    });

    expect(kmsMock).toHaveReceivedCommandTimes(EncryptCommand, 1);
    const sent = kmsMock.commandCalls(EncryptCommand)[0]?.args[0].input;
    expect(sent).toStrictEqual({
      KeyId: KEY_ARN,
      Plaintext: Buffer.from(PKCS8_BASE64, 'utf8'),
      EncryptionContext: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind: 'rsa' },
    });
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(PutParameterCommand, {
      Name: PARAM,
      Value: CIPHERTEXT.toString('base64'),
      Type: 'String',
      Overwrite: true,
    });
    expect(Object.keys(ssmMock.commandCalls(PutParameterCommand)[0]?.args[0].input ?? {}).sort()).toEqual([
      'Name',
      'Overwrite',
      'Type',
      'Value',
    ]);
    expect(result).toEqual({ parameterName: PARAM, version: 3, keyId: KEY_ARN, kind: 'rsa' });
  });

  it('normalises a PEM (PKCS#1) private key to the base64 PKCS#8 the functions parse', () => {
    expect(keyPlaintext('rsa', PKCS1_PEM)).toBe(PKCS8_BASE64);
  });

  it('stores an MD5 key without surrounding whitespace, under kind md5', async () => {
    await encryptMerchantKey(clients(), {
      kmsKeyId: KEY_ARN,
      parameterName: '/lianlian-payout/prod/merchant-md5-key',
      oidPartner: OID,
      kind: 'md5',
      keyText: '  201408071000001543abcdef\r\n',
    });

    expect(kmsMock).toHaveReceivedCommandWith(EncryptCommand, {
      KeyId: KEY_ARN,
      Plaintext: Buffer.from('201408071000001543abcdef'),
      EncryptionContext: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind: 'md5' },
    });
  });

  it('refuses a file that is not an RSA private key, without quoting it, and sends nothing', async () => {
    const publicPem = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();

    const attempt = encryptMerchantKey(clients(), {
      kmsKeyId: KEY_ARN,
      parameterName: PARAM,
      oidPartner: OID,
      kind: 'rsa',
      keyText: publicPem,
    });

    await expect(attempt).rejects.toThrow(ToolError);
    await attempt.catch((error: Error) => expect(error.message).not.toContain('MIG'));
    expect(kmsMock).not.toHaveReceivedAnyCommand();
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('writes no parameter when KMS refuses', async () => {
    kmsMock.on(EncryptCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

    await expect(
      encryptMerchantKey(clients(), {
        kmsKeyId: KEY_ARN,
        parameterName: PARAM,
        oidPartner: OID,
        kind: 'rsa',
        keyText: PKCS8_BASE64,
      }),
    ).rejects.toThrow('denied');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('uses the Advanced tier only when the ciphertext outgrows a Standard parameter', async () => {
    kmsMock.on(EncryptCommand).resolves({ CiphertextBlob: Buffer.alloc(3200, 7), KeyId: KEY_ARN });

    await encryptMerchantKey(clients(), {
      kmsKeyId: KEY_ARN,
      parameterName: PARAM,
      oidPartner: OID,
      kind: 'rsa',
      keyText: PKCS8_BASE64,
    });

    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Tier: 'Advanced', Type: 'String' });
  });

  it('validates the kind and the merchant number', () => {
    expect(parseKind('md5')).toBe('md5');
    expect(() => parseKind('RSA')).toThrow(ToolError);
    expect(parseOidPartner(OID)).toBe(OID);
    expect(() => parseOidPartner('2014080710000015')).toThrow(ToolError);
    expect(() => keyPlaintext('md5', 'two words')).toThrow(ToolError);
    expect(() => keyPlaintext('md5', ' \n')).toThrow(ToolError);
  });
});
