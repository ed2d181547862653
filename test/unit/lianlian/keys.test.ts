import {
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  exportPrivateKeyBase64,
  exportPublicKeyBase64,
  KeyFormatError,
  parsePrivateKey,
  parsePublicKey,
} from '../../../src/lianlian/keys';
import { rsaSignString, rsaVerifyString } from '../../../src/lianlian/sign';
import { type RsaPair, rsaPair } from './fixtures';

const generateKeyPairAsync = promisify(generateKeyPair);

const privForms = (key: KeyObject) => ({
  'base64 PKCS#8 DER': key.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  'base64 PKCS#1 DER': key.export({ format: 'der', type: 'pkcs1' }).toString('base64'),
  'PKCS#8 PEM': key.export({ format: 'pem', type: 'pkcs8' }) as string,
  'PKCS#1 PEM': key.export({ format: 'pem', type: 'pkcs1' }) as string,
});
const pubForms = (key: KeyObject) => ({
  'base64 SPKI DER': key.export({ format: 'der', type: 'spki' }).toString('base64'),
  'base64 PKCS#1 DER': key.export({ format: 'der', type: 'pkcs1' }).toString('base64'),
  'SPKI PEM': key.export({ format: 'pem', type: 'spki' }) as string,
  'PKCS#1 PEM': key.export({ format: 'pem', type: 'pkcs1' }) as string,
});

/** The secret part of a PEM or base64 input: what must never appear in an error message. */
function material(input: string): string {
  return input
    .replace(/-----(BEGIN|END)[^-]+-----/g, '')
    .replace(/\s+/g, '')
    .trim();
}

function expectRefusedWithoutLeak(parse: () => unknown, input: string): KeyFormatError {
  let caught: unknown;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyFormatError);
  const error = caught as KeyFormatError;
  expect(error.name).toBe('KeyFormatError');
  const body = material(input);
  if (body.length > 0) {
    expect(error.message).not.toContain(input.trim());
    expect(error.message).not.toContain(body);
    // Not even a fragment: no 12-character slice of the key body appears in the message.
    for (let i = 0; i + 12 <= body.length; i += 6) expect(error.message).not.toContain(body.slice(i, i + 12));
  }
  return error;
}

/** An RSA public key of arbitrary size without generating primes: a JWK with a random odd modulus. */
function fakeRsaPublicKeyBase64(bits: number): string {
  const n = randomBytes(bits / 8);
  n[0] = n[0]! | 0x80;
  n[n.length - 1] = n[n.length - 1]! | 1;
  const jwk = { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' };
  return exportPublicKeyBase64(createPublicKey({ key: jwk, format: 'jwk' }));
}

describe('parsePrivateKey / parsePublicKey', () => {
  let k1024: RsaPair;
  let k2048: RsaPair;
  let k4096: RsaPair;

  beforeAll(async () => {
    // 4096-bit generation is the slow part (~0.5–1 s): once per file, off the main thread.
    const pending = generateKeyPairAsync('rsa', { modulusLength: 4096 });
    k1024 = rsaPair(1024);
    k2048 = rsaPair(2048);
    k4096 = await pending;
  });

  for (const bits of [1024, 2048, 4096] as const) {
    const pair = () => (bits === 1024 ? k1024 : bits === 2048 ? k2048 : k4096);

    it(`accepts every supported private-key form at ${bits} bits`, () => {
      for (const [form, text] of Object.entries(privForms(pair().privateKey))) {
        const key = parsePrivateKey(text);
        expect(key.type, form).toBe('private');
        expect(key.asymmetricKeyType, form).toBe('rsa');
        expect(key.asymmetricKeyDetails?.modulusLength, form).toBe(bits);
        // The parsed key is the same key: it signs what the original public key verifies.
        const sig = rsaSignString('a=1&sign_type=RSA', key);
        expect(rsaVerifyString('a=1&sign_type=RSA', sig, pair().publicKey), form).toBe(true);
      }
    });

    it(`accepts every supported public-key form at ${bits} bits`, () => {
      const sig = rsaSignString('a=1&sign_type=RSA', pair().privateKey);
      for (const [form, text] of Object.entries(pubForms(pair().publicKey))) {
        const key = parsePublicKey(text);
        expect(key.type, form).toBe('public');
        expect(key.asymmetricKeyDetails?.modulusLength, form).toBe(bits);
        expect(rsaVerifyString('a=1&sign_type=RSA', sig, key), form).toBe(true);
      }
    });
  }

  it('tolerates surrounding whitespace and line-wrapped base64 (as pasted from the portal)', () => {
    const priv = exportPrivateKeyBase64(k1024.privateKey);
    const pub = exportPublicKeyBase64(k1024.publicKey);
    const wrap = (s: string) => s.replace(/(.{64})/g, '$1\n');
    expect(parsePrivateKey(`  ${wrap(priv)}\n`).asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(parsePublicKey(`\n${wrap(pub)}  `).asymmetricKeyDetails?.modulusLength).toBe(1024);
    const pem = k1024.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(parsePrivateKey(`\n\n${pem}\n\n`).type).toBe('private');
  });

  it('exports the provider forms: base64 PKCS#8 (MIIC… at 1024) and SPKI (MIGf… at 1024), round-trip', () => {
    const priv = exportPrivateKeyBase64(k1024.privateKey);
    const pub = exportPublicKeyBase64(k1024.publicKey);
    expect(priv).toMatch(/^MIIC[A-Za-z0-9+/]+={0,2}$/);
    expect(pub).toMatch(/^MIGf[A-Za-z0-9+/]+={0,2}$/);
    expect(exportPrivateKeyBase64(parsePrivateKey(priv))).toBe(priv);
    expect(exportPublicKeyBase64(parsePublicKey(pub))).toBe(pub);
    // A PKCS#1 input is normalised to the provider's forms.
    const pkcs1 = k1024.publicKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    expect(exportPublicKeyBase64(parsePublicKey(pkcs1))).toBe(pub);
  });

  it('refuses a 512-bit key (too small) without leaking it', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 512 });
    for (const text of Object.values(privForms(small.privateKey))) {
      const error = expectRefusedWithoutLeak(() => parsePrivateKey(text), text);
      expect(error.message).toMatch(/1024.4096 bits, got 512/);
    }
    for (const text of Object.values(pubForms(small.publicKey))) {
      const error = expectRefusedWithoutLeak(() => parsePublicKey(text), text);
      expect(error.message).toMatch(/got 512/);
    }
  });

  it('refuses an RSA public key above 4096 bits', () => {
    for (const bits of [4104, 8192]) {
      const text = fakeRsaPublicKeyBase64(bits);
      const error = expectRefusedWithoutLeak(() => parsePublicKey(text), text);
      expect(error.message).toContain(`got ${bits}`);
    }
    // The same construction at exactly 4096 bits is accepted: the bound is inclusive.
    expect(parsePublicKey(fakeRsaPublicKeyBase64(4096)).asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it('refuses EC and Ed25519 keys in every form, without leaking them', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ed = generateKeyPairSync('ed25519');
    for (const pair of [ec, ed]) {
      const privTexts = [
        pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      ];
      const pubTexts = [
        pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
      ];
      for (const text of privTexts) {
        expect(expectRefusedWithoutLeak(() => parsePrivateKey(text), text).message).toMatch(
          /must be an RSA key/,
        );
      }
      for (const text of pubTexts) {
        expect(expectRefusedWithoutLeak(() => parsePublicKey(text), text).message).toMatch(
          /must be an RSA key/,
        );
      }
    }
  });

  it('refuses garbage, without leaking it', () => {
    const garbage = [
      '',
      '   ',
      'not a key at all',
      'MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAKhT', // base64, truncated DER
      Buffer.from('this is valid base64 but not DER at all, merchant secret 123').toString('base64'),
      '-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZSBnYXJiYWdlIGdhcmJhZ2U=\n-----END PRIVATE KEY-----\n',
      '-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZSBnYXJiYWdlIGdhcmJhZ2U=\n-----END PUBLIC KEY-----\n',
      'MIGf!!!notbase64***',
    ];
    for (const text of garbage) {
      expectRefusedWithoutLeak(() => parsePrivateKey(text), text);
      expectRefusedWithoutLeak(() => parsePublicKey(text), text);
    }
  });

  it('refuses a public key where a private key is expected, and an encrypted PEM without passphrase', () => {
    const pub = exportPublicKeyBase64(k1024.publicKey);
    expectRefusedWithoutLeak(() => parsePrivateKey(pub), pub);
    const pubPem = k1024.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expectRefusedWithoutLeak(() => parsePrivateKey(pubPem), pubPem);
    const encrypted = k1024.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'secret passphrase',
    }) as string;
    expectRefusedWithoutLeak(() => parsePrivateKey(encrypted), encrypted);
  });

  it('refuses a private key where the public key is expected (a secret must not sit in a public setting)', () => {
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      const pem = k1024.privateKey.export({ format: 'pem', type }) as string;
      expectRefusedWithoutLeak(() => parsePublicKey(pem), pem);
    }
  });

  it('names the configured label in the error, never the key', () => {
    const text = Buffer.from('still not a key, but long enough to be a secret').toString('base64');
    const error = expectRefusedWithoutLeak(() => parsePrivateKey(text, 'LIANLIAN_MERCHANT_KEY'), text);
    expect(error.message).toContain('LIANLIAN_MERCHANT_KEY');
    const pubError = expectRefusedWithoutLeak(() => parsePublicKey('x!', 'provider key'), 'x!');
    expect(pubError.message).toContain('provider key');
  });
});
