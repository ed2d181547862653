import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ENV, merchantKeyContext } from '../../config/contract';
import { DependencyError } from '../../core/errors';
import { parsePrivateKey } from '../../lianlian/keys';
import type { SigningKeys, SignType } from '../../lianlian/sign';

export { cachedOnce } from './cache';

/**
 * The merchant's signing keys. KMS cannot produce MD5withRSA (spec §6), so the merchant key is stored as KMS
 * ciphertext (base64, in a plain String SSM parameter), decrypted with kms:Decrypt under an encryption
 * context naming the partner and the key kind, and used with node:crypto. Wrap the loader in `cachedOnce`
 * so that happens once per cold start.
 *
 * Errors name the environment variable or SSM parameter involved, never a ciphertext, key or plaintext.
 */
export interface MerchantKeys {
  readonly signing: SigningKeys;
  /** The MD5 key when one is configured (it signs in MD5 mode and verifies MD5-signed messages). */
  readonly md5Key?: string;
}

/**
 * Configuration is missing or a key is malformed: retrying will not help. (Every failed SSM/KMS call is
 * thrown as the core's DependencyError — throttling, service errors, access denied, network — which the
 * handlers answer with 503: the next attempt may work, and nothing was recorded.)
 */
export class MerchantKeyError extends Error {
  override readonly name = 'MerchantKeyError';
}

export interface KmsMerchantKeyOptions {
  ssm: SSMClient;
  kms: KMSClient;
  oidPartner: string;
  signType: SignType;
  /** LLP_MERCHANT_KEY_PARAM: required for RSA. */
  merchantKeyParam?: string;
  /** LLP_MD5_KEY_PARAM: required for MD5, optional (loaded in addition) for RSA. */
  md5KeyParam?: string;
  /** MERCHANT_KEY_KMS_KEY_ID */
  kmsKeyId: string;
}

export async function loadKmsMerchantKeys(options: KmsMerchantKeyOptions): Promise<MerchantKeys> {
  const { signType, merchantKeyParam, md5KeyParam } = options;
  checkSignType(signType);
  if (!options.oidPartner) throw new MerchantKeyError(`${ENV.oidPartner} is not set`);
  if (!options.kmsKeyId) throw new MerchantKeyError(`${ENV.merchantKeyKmsKeyId} is not set`);
  if (signType === 'RSA' && !merchantKeyParam) {
    throw new MerchantKeyError(
      `${ENV.merchantKeyParam} is not set: RSA signing needs the SSM parameter holding the merchant key ciphertext`,
    );
  }
  if (signType === 'MD5' && !md5KeyParam) {
    throw new MerchantKeyError(
      `${ENV.md5KeyParam} is not set: MD5 signing needs the SSM parameter holding the MD5 key ciphertext`,
    );
  }

  const [privateKey, md5Key] = await Promise.all([
    signType === 'RSA' && merchantKeyParam
      ? decryptParameter(options, merchantKeyParam, 'rsa').then((text) => {
          try {
            return parsePrivateKey(text, 'key');
          } catch (cause) {
            throw new MerchantKeyError(
              `the key decrypted from SSM parameter ${merchantKeyParam} is not a usable RSA private key` +
                ` (${safeMessage(cause)})`,
              { cause },
            );
          }
        })
      : undefined,
    md5KeyParam ? decryptParameter(options, md5KeyParam, 'md5') : undefined,
  ]);

  if (signType === 'RSA') return { signing: { signType, privateKey }, md5Key };
  return { signing: { signType, md5Key }, md5Key };
}

/** GetParameter (plain String, base64 ciphertext) → kms:Decrypt with the merchant-key context → trimmed UTF-8. */
async function decryptParameter(
  options: KmsMerchantKeyOptions,
  name: string,
  kind: 'rsa' | 'md5',
): Promise<string> {
  let value: string | undefined;
  try {
    const out = await options.ssm.send(new GetParameterCommand({ Name: name }));
    value = out?.Parameter?.Value;
  } catch (cause) {
    throw new DependencyError(`SSM GetParameter ${name} failed: ${errorName(cause)}`, { cause });
  }
  const compact = (value ?? '').replace(/\s+/g, '');
  if (compact === '') throw new MerchantKeyError(`SSM parameter ${name} is empty`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new MerchantKeyError(`SSM parameter ${name} does not hold base64 KMS ciphertext`);
  }
  const ciphertext = Buffer.from(compact, 'base64');

  let plaintext: Uint8Array | undefined;
  try {
    const out = await options.kms.send(
      new DecryptCommand({
        CiphertextBlob: ciphertext,
        KeyId: options.kmsKeyId,
        EncryptionContext: merchantKeyContext(options.oidPartner, kind),
      }),
    );
    plaintext = out?.Plaintext;
  } catch (cause) {
    throw new DependencyError(
      `KMS Decrypt of the merchant ${kind} key (SSM parameter ${name}) failed: ${errorName(cause)}`,
      { cause },
    );
  }
  if (!plaintext || plaintext.length === 0) {
    throw new DependencyError(`KMS Decrypt of the merchant ${kind} key returned no plaintext`);
  }
  const bytes = Buffer.from(plaintext);
  const text = bytes.toString('utf8').trim();
  bytes.fill(0);
  if (text === '') throw new MerchantKeyError(`the merchant ${kind} key in SSM parameter ${name} is empty`);
  return text;
}

/**
 * Local mode: keys given by environment (LLP_MERCHANT_PRIVATE_KEY, LLP_MD5_KEY). The MD5 key, when given,
 * is returned in RSA mode too. Errors name the variable, never its value.
 */
export function loadEnvMerchantKeys(options: {
  signType: SignType;
  privateKey?: string;
  md5Key?: string;
}): MerchantKeys {
  const { signType } = options;
  checkSignType(signType);
  const md5Key = options.md5Key?.trim() || undefined;
  if (signType === 'MD5') {
    if (!md5Key) throw new MerchantKeyError(`${ENV.md5Key} is not set: MD5 signing needs the MD5 key`);
    return { signing: { signType, md5Key }, md5Key };
  }
  const text = options.privateKey?.trim();
  if (!text) {
    throw new MerchantKeyError(
      `${ENV.merchantPrivateKey} is not set: RSA signing needs the merchant private key`,
    );
  }
  try {
    return { signing: { signType, privateKey: parsePrivateKey(text, 'key') }, md5Key };
  } catch (cause) {
    throw new MerchantKeyError(
      `${ENV.merchantPrivateKey} is not a usable RSA private key (base64 PKCS#8 DER or PEM): ${safeMessage(cause)}`,
      { cause },
    );
  }
}

function checkSignType(signType: string): void {
  if (signType !== 'RSA' && signType !== 'MD5')
    throw new MerchantKeyError(`${ENV.signType} must be RSA or MD5`);
}

/**
 * What went wrong, safe to log: the SDK's error name (ThrottlingException, KMSInternalException,
 * AccessDeniedException…), plus a Node system error's code (ECONNRESET, ETIMEDOUT, ENOTFOUND…) so a
 * network failure is not just "Error". Never a message, which for some SDK errors echoes the request.
 */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? `${error.name} (${code})` : error.name;
}

/** parsePrivateKey's own messages never quote the input; anything else is reduced to its name. */
function safeMessage(error: unknown): string {
  if (error instanceof Error && error.name === 'KeyFormatError') return error.message;
  return errorName(error);
}
