import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError';
}

const MIN_BITS = 1024;
const MAX_BITS = 4096;

/**
 * Merchant private key: PEM (PKCS#1 or PKCS#8) or base64 PKCS#8 DER (`MIICd…`), as the provider's portal
 * hands it out. Error messages never quote the input: it is a secret.
 */
export function parsePrivateKey(input: string, label = 'private key'): KeyObject {
  const text = input.trim();
  let key: KeyObject | undefined;
  if (text.includes('-----BEGIN')) {
    key = attempt(() => createPrivateKey({ key: text, format: 'pem' }));
  } else {
    const der = base64Der(text, label);
    key =
      attempt(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })) ??
      attempt(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }));
  }
  if (!key) throw new KeyFormatError(`${label} is not a PEM or base64 DER RSA private key`);
  return checkRsa(key, label);
}

/** Provider public key: PEM or base64 X.509 SubjectPublicKeyInfo DER (`MIGf…`); PKCS#1 also accepted. */
export function parsePublicKey(input: string, label = 'public key'): KeyObject {
  const text = input.trim();
  // Node derives a public key from a private PEM; refusing it keeps a secret out of a public setting.
  if (text.includes('PRIVATE KEY'))
    throw new KeyFormatError(`${label} is a private key; give the public key`);
  let key: KeyObject | undefined;
  if (text.includes('-----BEGIN')) {
    key = attempt(() => createPublicKey({ key: text, format: 'pem' }));
  } else {
    const der = base64Der(text, label);
    key =
      attempt(() => createPublicKey({ key: der, format: 'der', type: 'spki' })) ??
      attempt(() => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }));
  }
  if (!key) throw new KeyFormatError(`${label} is not a PEM or base64 DER RSA public key`);
  return checkRsa(key, label);
}

/** Base64 DER forms the provider uses: PKCS#8 for private keys, SPKI for public keys. */
export function exportPrivateKeyBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

export function exportPublicKeyBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

function base64Der(text: string, label: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new KeyFormatError(`${label} is not valid base64`);
  return Buffer.from(compact, 'base64');
}

function attempt(fn: () => KeyObject): KeyObject | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function checkRsa(key: KeyObject, label: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new KeyFormatError(`${label} must be an RSA key`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_BITS || bits > MAX_BITS) {
    throw new KeyFormatError(`${label} must be ${MIN_BITS}–${MAX_BITS} bits, got ${bits}`);
  }
  return key;
}
