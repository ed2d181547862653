import 'aws-sdk-client-mock-vitest/extend';
import { generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import {
  DecryptCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSServiceException,
} from '@aws-sdk/client-kms';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedOnce } from '../../../../src/adapters/kms/cache';
import {
  loadEnvMerchantKeys,
  loadKmsMerchantKeys,
  MerchantKeyError,
} from '../../../../src/adapters/kms/merchant-keys';
import { DependencyError } from '../../../../src/core/errors';
import { buildSignString, signFields, verifyFields } from '../../../../src/lianlian/sign';

const OID = '201408071000001546';
const KMS_KEY = 'arn:aws:kms:ap-east-1:111122223333:key/merchant';
const RSA_PARAM = '/lianlian-payout/prod/merchant-key';
const MD5_PARAM = '/lianlian-payout/prod/md5-key';
const MD5_KEY = '201408071000001546_test_20140815';

let privateKeyDer: string; // base64 PKCS#8 DER, as the provider's portal hands it out
let privateKeyPem: string;
let publicKey: KeyObject;

beforeAll(() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  privateKeyDer = pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  privateKeyPem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  publicKey = pair.publicKey;
});

const ssmMock = mockClient(SSMClient);
const kmsMock = mockClient(KMSClient);

/**
 * A fake KMS that, like the real one, only decrypts a ciphertext under the key id and encryption context it
 * was made with. Returns the ciphertext bytes and how they are stored in SSM (base64, a plain String).
 */
let vault: Map<string, { plaintext: string; context: Record<string, string> }>;
/** When set, the next Decrypt fails with it (then KMS behaves again). */
let failNextDecrypt: Error | undefined;

function encrypt(plaintext: string, kind: 'rsa' | 'md5'): { blob: Buffer; stored: string } {
  const blob = randomBytes(200);
  vault.set(blob.toString('hex'), {
    plaintext,
    context: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind },
  });
  return { blob, stored: blob.toString('base64') };
}

function storeParameter(name: string, value: string): void {
  ssmMock
    .on(GetParameterCommand, { Name: name })
    .resolves({ Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } });
}

function clients() {
  return { ssm: new SSMClient({ region: 'ap-east-1' }), kms: new KMSClient({ region: 'ap-east-1' }) };
}

function rsaOptions() {
  return {
    ...clients(),
    oidPartner: OID,
    signType: 'RSA' as const,
    merchantKeyParam: RSA_PARAM,
    kmsKeyId: KMS_KEY,
  };
}

function md5Options() {
  return {
    ...clients(),
    oidPartner: OID,
    signType: 'MD5' as const,
    md5KeyParam: MD5_PARAM,
    kmsKeyId: KMS_KEY,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected a throw');
}

beforeEach(() => {
  ssmMock.reset();
  kmsMock.reset();
  vault = new Map();
  failNextDecrypt = undefined;
  ssmMock
    .on(GetParameterCommand)
    .rejects(new ParameterNotFound({ $metadata: { httpStatusCode: 400 }, message: 'parameter not found' }));
  kmsMock.on(DecryptCommand).callsFake((input) => {
    const failure = failNextDecrypt;
    failNextDecrypt = undefined;
    if (failure) throw failure;
    const entry = vault.get(Buffer.from(input.CiphertextBlob!).toString('hex'));
    const contextMatches = JSON.stringify(entry?.context) === JSON.stringify(input.EncryptionContext);
    if (!entry || !contextMatches || input.KeyId !== KMS_KEY) {
      throw new InvalidCiphertextException({ $metadata: { httpStatusCode: 400 }, message: 'invalid' });
    }
    return {
      KeyId: KMS_KEY,
      Plaintext: Buffer.from(entry.plaintext, 'utf8'),
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    };
  });
});

describe('loadKmsMerchantKeys — RSA', () => {
  it('reads the ciphertext from SSM, decrypts it with the merchant-key context and returns a usable key', async () => {
    const { blob, stored } = encrypt(privateKeyDer, 'rsa');
    storeParameter(RSA_PARAM, stored);

    const keys = await loadKmsMerchantKeys(rsaOptions());

    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: RSA_PARAM });
    expect(ssmMock.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: RSA_PARAM });
    expect(kmsMock).toHaveReceivedCommandExactlyOnceWith(DecryptCommand, {
      CiphertextBlob: blob,
      KeyId: KMS_KEY,
      EncryptionContext: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind: 'rsa' },
    });
    const decryptInput = kmsMock.commandCalls(DecryptCommand)[0]!.args[0].input;
    expect(decryptInput).toEqual({
      CiphertextBlob: blob,
      KeyId: KMS_KEY,
      EncryptionContext: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind: 'rsa' },
    });
    expect(Buffer.from(decryptInput.CiphertextBlob!).equals(blob)).toBe(true);

    expect(keys.signing.signType).toBe('RSA');
    expect(keys.md5Key).toBeUndefined();
    const privateKey = keys.signing.privateKey!;
    expect(privateKey.type).toBe('private');
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
    const data = Buffer.from('acct_name=张三&card_no=6222021234567890123', 'utf8');
    expect(verify('md5', data, publicKey, sign('md5', data, privateKey))).toBe(true);
    // And through the protocol code: sign a request, verify it with the public half.
    const signed = signFields({ oid_partner: OID, no_order: 'PO1', money_order: '0.01' }, keys.signing);
    expect(verifyFields(signed, { publicKey })).toEqual({ ok: true, signType: 'RSA' });
    expect(buildSignString(signed)).toContain('sign_type=RSA');
  });

  it('accepts a PEM merchant key as the plaintext', async () => {
    const { stored } = encrypt(privateKeyPem, 'rsa');
    storeParameter(RSA_PARAM, stored);
    const keys = await loadKmsMerchantKeys(rsaOptions());
    const data = Buffer.from('x');
    expect(verify('md5', data, publicKey, sign('md5', data, keys.signing.privateKey!))).toBe(true);
  });

  it('also loads the MD5 key when LLP_MD5_KEY_PARAM is set, each with its own kind in the context', async () => {
    const rsa = encrypt(privateKeyDer, 'rsa');
    const md5 = encrypt(MD5_KEY, 'md5');
    storeParameter(RSA_PARAM, rsa.stored);
    storeParameter(MD5_PARAM, md5.stored);

    const keys = await loadKmsMerchantKeys({ ...rsaOptions(), md5KeyParam: MD5_PARAM });

    expect(keys.signing.signType).toBe('RSA');
    expect(keys.signing.privateKey).toBeDefined();
    expect(keys.md5Key).toBe(MD5_KEY);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 2);
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      CiphertextBlob: md5.blob,
      KeyId: KMS_KEY,
      EncryptionContext: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind: 'md5' },
    });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: MD5_PARAM });
  });

  it('fails when the ciphertext was made for another partner (encryption context mismatch)', async () => {
    const blob = randomBytes(200);
    vault.set(blob.toString('hex'), {
      plaintext: privateKeyDer,
      context: { purpose: 'lianlian-payout/merchant-key', oid_partner: 'someone-else', kind: 'rsa' },
    });
    storeParameter(RSA_PARAM, blob.toString('base64'));
    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toContain('InvalidCiphertextException');
    expect(error.message).not.toContain(blob.toString('base64'));
  });

  it('wraps a KMS AccessDenied without any ciphertext or key material in the message', async () => {
    const { blob, stored } = encrypt(privateKeyDer, 'rsa');
    storeParameter(RSA_PARAM, stored);
    const denied = new KMSServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: `User: arn:aws:sts::111122223333:assumed-role/apply is not authorized to perform: kms:Decrypt`,
    });
    kmsMock.on(DecryptCommand).rejects(denied);

    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));

    expect(error).toBeInstanceOf(DependencyError);
    expect(error.cause).toBe(denied);
    expect(error.message).toContain('AccessDeniedException');
    expect(error.message).toContain(RSA_PARAM);
    const rendered = `${error.message}\n${String(error)}\n${error.stack}\n${JSON.stringify(error)}`;
    for (const fragment of [
      stored,
      stored.slice(0, 40),
      blob.toString('hex').slice(0, 40),
      privateKeyDer.slice(0, 40),
    ]) {
      expect(rendered).not.toContain(fragment);
    }
  });

  // Throttling and unavailability must reach the handlers as the core's DependencyError (answered 503),
  // named so an operator can tell them apart, with nothing of the request in the message.
  it.each([
    ['SSM', 'ThrottlingException', 'client'],
    ['SSM', 'InternalServerError', 'server'],
    ['KMS', 'ThrottlingException', 'client'],
    ['KMS', 'KMSInternalException', 'server'],
    ['KMS', 'ServiceUnavailable', 'server'],
  ] as const)('a %s %s is a DependencyError naming it', async (service, name, fault) => {
    const { stored } = encrypt(privateKeyDer, 'rsa');
    storeParameter(RSA_PARAM, stored);
    const failure = new KMSServiceException({
      name,
      $fault: fault,
      $metadata: { httpStatusCode: fault === 'server' ? 500 : 400 },
      message: `Rate exceeded for ${stored.slice(0, 12)}`,
    });
    if (service === 'SSM') ssmMock.on(GetParameterCommand).rejects(failure);
    else kmsMock.on(DecryptCommand).rejects(failure);

    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));

    expect(error).toBeInstanceOf(DependencyError);
    expect(error.cause).toBe(failure);
    expect(error.message).toContain(name);
    expect(error.message).toContain(service === 'SSM' ? 'SSM GetParameter' : 'KMS Decrypt');
    expect(error.message).not.toContain(stored.slice(0, 12));
  });

  it('a network failure is a DependencyError naming the system error code', async () => {
    const reset = Object.assign(new Error('read ECONNRESET 10.0.0.1:443'), { code: 'ECONNRESET' });
    ssmMock.on(GetParameterCommand).rejects(reset);
    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toContain('Error (ECONNRESET)');
    expect(error.message).not.toContain('10.0.0.1');

    const timeout = Object.assign(new Error('connect ETIMEDOUT'), {
      name: 'TimeoutError',
      code: 'ETIMEDOUT',
    });
    const { stored } = encrypt(privateKeyDer, 'rsa');
    storeParameter(RSA_PARAM, stored);
    kmsMock.on(DecryptCommand).rejects(timeout);
    const kmsError = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));
    expect(kmsError).toBeInstanceOf(DependencyError);
    expect(kmsError.message).toContain('TimeoutError (ETIMEDOUT)');
  });

  it('wraps an SSM failure naming the parameter', async () => {
    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toContain(RSA_PARAM);
    expect(error.message).toContain('ParameterNotFound');
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('refuses an SSM value that is not base64, without quoting it', async () => {
    const value = 'this is not ciphertext: MIICdwIBADANBg';
    storeParameter(RSA_PARAM, value);
    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain(RSA_PARAM);
    expect(error.message).not.toContain(value);
    expect(error.message).not.toContain('MIICdwIBADANBg');
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('refuses a decrypted plaintext that is not an RSA private key, without quoting it', async () => {
    const plaintext = 'c2VjcmV0LWJ1dC1ub3QtYS1rZXk=';
    const { stored } = encrypt(plaintext, 'rsa');
    storeParameter(RSA_PARAM, stored);
    const error = await rejectionOf(loadKmsMerchantKeys(rsaOptions()));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain(RSA_PARAM);
    expect(error.message).not.toContain(plaintext);
    expect(error.message).not.toContain(stored);
  });

  it('names LLP_MERCHANT_KEY_PARAM when it is missing, before calling AWS', async () => {
    const { merchantKeyParam: _omitted, ...options } = rsaOptions();
    const error = await rejectionOf(loadKmsMerchantKeys(options));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain('LLP_MERCHANT_KEY_PARAM');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
    expect(kmsMock).not.toHaveReceivedAnyCommand();
  });

  it('names MERCHANT_KEY_KMS_KEY_ID and LLP_OID_PARTNER when they are empty', async () => {
    expect((await rejectionOf(loadKmsMerchantKeys({ ...rsaOptions(), kmsKeyId: '' }))).message).toContain(
      'MERCHANT_KEY_KMS_KEY_ID',
    );
    expect((await rejectionOf(loadKmsMerchantKeys({ ...rsaOptions(), oidPartner: '' }))).message).toContain(
      'LLP_OID_PARTNER',
    );
  });
});

describe('loadKmsMerchantKeys — MD5', () => {
  it('decrypts the MD5 key with kind md5 and signs with it', async () => {
    const { blob, stored } = encrypt(`${MD5_KEY}\n`, 'md5');
    storeParameter(MD5_PARAM, stored);

    const keys = await loadKmsMerchantKeys(md5Options());

    expect(keys).toEqual({ signing: { signType: 'MD5', md5Key: MD5_KEY }, md5Key: MD5_KEY });
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: MD5_PARAM });
    expect(kmsMock.commandCalls(DecryptCommand).map((c) => c.args[0].input)).toEqual([
      {
        CiphertextBlob: blob,
        KeyId: KMS_KEY,
        EncryptionContext: { purpose: 'lianlian-payout/merchant-key', oid_partner: OID, kind: 'md5' },
      },
    ]);
    const signed = signFields({ oid_partner: OID, no_order: 'PO1' }, keys.signing);
    expect(verifyFields(signed, { md5Key: MD5_KEY })).toEqual({ ok: true, signType: 'MD5' });
  });

  it('does not fetch the RSA key in MD5 mode', async () => {
    storeParameter(MD5_PARAM, encrypt(MD5_KEY, 'md5').stored);
    await loadKmsMerchantKeys({ ...md5Options(), merchantKeyParam: RSA_PARAM });
    expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: RSA_PARAM });
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
  });

  it('names LLP_MD5_KEY_PARAM when it is missing', async () => {
    const { md5KeyParam: _omitted, ...options } = md5Options();
    const error = await rejectionOf(loadKmsMerchantKeys({ ...options, merchantKeyParam: RSA_PARAM }));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain('LLP_MD5_KEY_PARAM');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('refuses an MD5 plaintext that is blank', async () => {
    storeParameter(MD5_PARAM, encrypt('  \n', 'md5').stored);
    const error = await rejectionOf(loadKmsMerchantKeys(md5Options()));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain(MD5_PARAM);
  });
});

describe('cachedOnce (merchant key per cold start)', () => {
  it('decrypts once for any number of calls', async () => {
    storeParameter(RSA_PARAM, encrypt(privateKeyDer, 'rsa').stored);
    const merchantKeys = cachedOnce(() => loadKmsMerchantKeys(rsaOptions()));

    const first = await merchantKeys();
    const second = await merchantKeys();
    const concurrent = await Promise.all([merchantKeys(), merchantKeys(), merchantKeys()]);

    expect(second).toBe(first);
    expect(concurrent.every((k) => k === first)).toBe(true);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
  });

  it('shares one in-flight load between concurrent first callers', async () => {
    storeParameter(RSA_PARAM, encrypt(privateKeyDer, 'rsa').stored);
    const merchantKeys = cachedOnce(() => loadKmsMerchantKeys(rsaOptions()));
    const [a, b] = await Promise.all([merchantKeys(), merchantKeys()]);
    expect(a).toBe(b);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
  });

  it('does not cache a failure: the next call retries and then sticks', async () => {
    const { stored } = encrypt(privateKeyDer, 'rsa');
    storeParameter(RSA_PARAM, stored);
    const throttled = new KMSServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: {},
      message: 'Rate exceeded',
    });
    failNextDecrypt = throttled;
    const merchantKeys = cachedOnce(() => loadKmsMerchantKeys(rsaOptions()));

    const error = await rejectionOf(merchantKeys());
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.cause).toBe(throttled);

    const keys = await merchantKeys();
    expect(keys.signing.privateKey).toBeDefined();
    await merchantKeys();
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 2);
  });

  it('retries a loader that throws synchronously', async () => {
    let calls = 0;
    const load = cachedOnce((): Promise<number> => {
      calls += 1;
      if (calls === 1) throw new Error('sync failure');
      return Promise.resolve(calls);
    });
    await expect(load()).rejects.toThrow('sync failure');
    await expect(load()).resolves.toBe(2);
    await expect(load()).resolves.toBe(2);
    expect(calls).toBe(2);
  });
});

describe('loadEnvMerchantKeys (local mode)', () => {
  it('loads an RSA key given as base64 PKCS#8 DER or PEM', () => {
    for (const privateKey of [privateKeyDer, privateKeyPem, `  ${privateKeyDer}\n`]) {
      const keys = loadEnvMerchantKeys({ signType: 'RSA', privateKey });
      const data = Buffer.from('payload');
      expect(verify('md5', data, publicKey, sign('md5', data, keys.signing.privateKey!))).toBe(true);
      expect(keys.signing.signType).toBe('RSA');
      expect(keys.md5Key).toBeUndefined();
    }
  });

  it('returns the MD5 key alongside the RSA key when given', () => {
    const keys = loadEnvMerchantKeys({ signType: 'RSA', privateKey: privateKeyDer, md5Key: MD5_KEY });
    expect(keys.md5Key).toBe(MD5_KEY);
  });

  it('loads an MD5 key', () => {
    expect(loadEnvMerchantKeys({ signType: 'MD5', md5Key: MD5_KEY })).toEqual({
      signing: { signType: 'MD5', md5Key: MD5_KEY },
      md5Key: MD5_KEY,
    });
  });

  it.each([undefined, '', '   '])('names LLP_MERCHANT_PRIVATE_KEY when it is %j', (privateKey) => {
    const error = thrownBy(() => loadEnvMerchantKeys({ signType: 'RSA', privateKey, md5Key: MD5_KEY }));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain('LLP_MERCHANT_PRIVATE_KEY');
    expect(error.message).not.toContain(MD5_KEY);
  });

  it.each([
    ['truncated DER', () => privateKeyDer.slice(0, 300)],
    ['not base64', () => `${privateKeyDer.slice(0, 60)}!!`],
    ['a public key', () => publicKey.export({ format: 'der', type: 'spki' }).toString('base64')],
    ['a broken PEM', () => privateKeyPem.replace(/[A-Za-z]{20}/, 'x')],
  ])('names LLP_MERCHANT_PRIVATE_KEY when it is malformed (%s) and never quotes it', (_label, value) => {
    const privateKey = value();
    const error = thrownBy(() => loadEnvMerchantKeys({ signType: 'RSA', privateKey }));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain('LLP_MERCHANT_PRIVATE_KEY');
    const rendered = `${error.message}\n${String(error)}\n${JSON.stringify(error)}`;
    for (let i = 0; i + 24 <= privateKey.length; i += 24) {
      const fragment = privateKey.slice(i, i + 24);
      if (!fragment.includes('-----')) expect(rendered).not.toContain(fragment);
    }
  });

  it.each([undefined, '', ' \n'])('names LLP_MD5_KEY when it is %j in MD5 mode', (md5Key) => {
    const error = thrownBy(() => loadEnvMerchantKeys({ signType: 'MD5', md5Key, privateKey: privateKeyDer }));
    expect(error).toBeInstanceOf(MerchantKeyError);
    expect(error.message).toContain('LLP_MD5_KEY');
    expect(error.message).not.toContain(privateKeyDer.slice(0, 40));
  });

  it('refuses an unknown sign type, naming LLP_SIGN_TYPE', () => {
    const error = thrownBy(() =>
      loadEnvMerchantKeys({ signType: 'SHA' as 'RSA', privateKey: privateKeyDer }),
    );
    expect(error.message).toContain('LLP_SIGN_TYPE');
  });
});
