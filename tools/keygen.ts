import { generateKeyPairSync } from 'node:crypto';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../src/lianlian/keys';
import { ToolError } from './errors';

const KEY_SIZES = [1024, 2048] as const;
export type KeySize = (typeof KEY_SIZES)[number];

export interface MerchantKeyPair {
  readonly bits: KeySize;
  /** Base64 PKCS#8 DER (`MIIC…`): the form encrypt-key stores and the functions parse. Secret. */
  readonly privateKey: string;
  /** Base64 X.509 SubjectPublicKeyInfo DER (`MIGf…`): what the provider's portal takes. */
  readonly publicKey: string;
}

export function parseKeySize(value: string | undefined): KeySize {
  const bits = value === undefined ? 2048 : Number(value);
  if (!(KEY_SIZES as readonly number[]).includes(bits)) {
    throw new ToolError(`--bits must be one of ${KEY_SIZES.join(', ')}`);
  }
  return bits as KeySize;
}

/** A fresh RSA key pair in the provider's formats (spec §6), through the same exporters the runtime pairs with. */
export function generateMerchantKeyPair(bits: KeySize = 2048): MerchantKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
  });
  return {
    bits,
    privateKey: exportPrivateKeyBase64(privateKey),
    publicKey: exportPublicKeyBase64(publicKey),
  };
}

/** What keygen prints. With `privateKeyFile`, the private key went there and is not printed. */
export function formatKeyPair(pair: MerchantKeyPair, privateKeyFile?: string): string[] {
  return [
    `# Merchant RSA key pair (${pair.bits} bits)`,
    '',
    '# Public key (base64 X.509 SPKI): upload it in the LianLian merchant portal.',
    pair.publicKey,
    '',
    ...(privateKeyFile
      ? [`# Private key (base64 PKCS#8) written to ${privateKeyFile} (mode 600).`]
      : [
          '# Private key (base64 PKCS#8): SECRET. Store it with encrypt-key, then delete every copy.',
          pair.privateKey,
        ]),
    '',
    '# Next: npm run ops -- encrypt-key --kind rsa --key-file <private key file> --kms-key <MerchantKeyKmsKeyArn> \\',
    '#         --param <MerchantKeyParameter> --oid-partner <18 digits>',
  ];
}
