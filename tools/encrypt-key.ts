import { EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { merchantKeyContext } from '../src/config/contract';
import { exportPrivateKeyBase64, parsePrivateKey } from '../src/lianlian/keys';
import { ToolError } from './errors';

export type KeyKind = 'rsa' | 'md5';

export interface EncryptKeyInput {
  /** Id, ARN or alias of the merchant-key KMS key (stack output MerchantKeyKmsKeyArn). */
  readonly kmsKeyId: string;
  /** SSM parameter the functions read (stack output MerchantKeyParameter). */
  readonly parameterName: string;
  readonly oidPartner: string;
  readonly kind: KeyKind;
  /** The key as read from the operator's file. Never printed, never part of an error message. */
  readonly keyText: string;
}

export interface EncryptKeyResult {
  readonly parameterName: string;
  readonly version?: number;
  /** The key KMS actually used (an alias resolves to its key ARN). */
  readonly keyId?: string;
  readonly kind: KeyKind;
}

/** KMS Encrypt's plaintext limit. */
const MAX_PLAINTEXT_BYTES = 4096;
/** A Standard-tier SSM parameter holds at most 4 KB; a 4096-bit RSA key's ciphertext needs Advanced. */
const STANDARD_TIER_MAX_CHARS = 4096;

export function parseKind(value: string | undefined): KeyKind {
  if (value === 'rsa' || value === 'md5') return value;
  throw new ToolError('--kind must be rsa or md5');
}

export function parseOidPartner(value: string | undefined): string {
  if (value && /^[0-9]{18}$/.test(value)) return value;
  throw new ToolError('--oid-partner must be the 18-digit merchant number');
}

/**
 * The exact plaintext the functions will decrypt: an RSA key is checked and normalised to base64 PKCS#8
 * (what the portal issues and parsePrivateKey reads first); an MD5 key is taken as the file's text without
 * its surrounding whitespace (a trailing newline is never part of the key).
 */
export function keyPlaintext(kind: KeyKind, keyText: string): string {
  if (kind === 'rsa') {
    try {
      return exportPrivateKeyBase64(parsePrivateKey(keyText, 'the key file'));
    } catch (error) {
      // parsePrivateKey never quotes its input; anything else is reduced to a fixed sentence.
      const reason =
        error instanceof Error && error.name === 'KeyFormatError' ? error.message : 'unreadable key';
      throw new ToolError(`--key-file does not hold a usable RSA private key: ${reason}`);
    }
  }
  const md5Key = keyText.trim();
  if (md5Key === '') throw new ToolError('--key-file is empty');
  if (/\s/.test(md5Key))
    throw new ToolError('--key-file holds more than one word: an MD5 key has no whitespace');
  return md5Key;
}

/**
 * Encrypts the merchant key under the merchant-key KMS key with the encryption context the functions
 * decrypt with (purpose, merchant number, kind), and stores the base64 ciphertext in a plain String SSM
 * parameter. The plaintext never leaves this process except inside the KMS request.
 */
export async function encryptMerchantKey(
  clients: { kms: KMSClient; ssm: SSMClient },
  input: EncryptKeyInput,
): Promise<EncryptKeyResult> {
  const plaintext = Buffer.from(keyPlaintext(input.kind, input.keyText), 'utf8');
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new ToolError(`the key is ${plaintext.length} bytes; KMS encrypts at most ${MAX_PLAINTEXT_BYTES}`);
  }
  const encrypted = await clients.kms.send(
    new EncryptCommand({
      KeyId: input.kmsKeyId,
      Plaintext: plaintext,
      EncryptionContext: merchantKeyContext(parseOidPartner(input.oidPartner), input.kind),
    }),
  );
  if (!encrypted.CiphertextBlob) throw new ToolError('KMS Encrypt returned no ciphertext');
  const value = Buffer.from(encrypted.CiphertextBlob).toString('base64');
  const stored = await clients.ssm.send(
    new PutParameterCommand({
      Name: input.parameterName,
      Value: value,
      Type: 'String',
      Overwrite: true,
      ...(value.length > STANDARD_TIER_MAX_CHARS ? { Tier: 'Advanced' as const } : {}),
    }),
  );
  return {
    parameterName: input.parameterName,
    version: stored.Version,
    keyId: encrypted.KeyId,
    kind: input.kind,
  };
}

export function formatEncryptResult(result: EncryptKeyResult): string[] {
  return [
    `stored the ${result.kind} merchant key as KMS ciphertext in SSM parameter ${result.parameterName}` +
      (result.version === undefined ? '' : ` (version ${result.version})`),
    ...(result.keyId ? [`KMS key: ${result.keyId}`] : []),
    'The functions read it on their next cold start. To force one now, update each function’s configuration',
    '(see docs/deploy.md, "Rotating the merchant key").',
  ];
}
