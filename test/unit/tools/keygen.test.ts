import { describe, expect, it } from 'vitest';
import { parsePrivateKey, parsePublicKey } from '../../../src/lianlian/keys';
import { buildSignString, rsaSignString, rsaVerifyString } from '../../../src/lianlian/sign';
import { ToolError } from '../../../tools/errors';
import { formatKeyPair, generateMerchantKeyPair, parseKeySize } from '../../../tools/keygen';

describe('keygen', () => {
  it.each([1024, 2048] as const)(
    'a %i-bit pair parses back in the provider formats and signs/verifies',
    (bits) => {
      const pair = generateMerchantKeyPair(bits);

      const privateKey = parsePrivateKey(pair.privateKey);
      const publicKey = parsePublicKey(pair.publicKey);

      expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(bits);
      expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(bits);
      // Bare base64 DER, no PEM armour or line breaks: what the portal and the functions expect.
      expect(pair.privateKey).toMatch(/^MII[A-Za-z0-9+/]+={0,2}$/);
      expect(pair.publicKey).toMatch(/^MI[A-Za-z0-9+/]+={0,2}$/);
      const text = buildSignString({ oid_partner: '201408071000001543', no_order: 'K1', sign_type: 'RSA' });
      const signature = rsaSignString(text, privateKey);
      expect(rsaVerifyString(text, signature, publicKey)).toBe(true);
      expect(rsaVerifyString(`${text}x`, signature, publicKey)).toBe(false);
    },
  );

  it('every pair is new', () => {
    expect(generateMerchantKeyPair(1024).publicKey).not.toBe(generateMerchantKeyPair(1024).publicKey);
  });

  it('accepts 1024 and 2048 bits only, 2048 by default', () => {
    expect(parseKeySize(undefined)).toBe(2048);
    expect(parseKeySize('1024')).toBe(1024);
    expect(() => parseKeySize('4096')).toThrow(ToolError);
    expect(() => parseKeySize('big')).toThrow(ToolError);
  });

  it('prints the private key only when it was not written to a file', () => {
    const pair = generateMerchantKeyPair(1024);

    const printed = formatKeyPair(pair).join('\n');
    const toFile = formatKeyPair(pair, '/tmp/merchant.key').join('\n');

    expect(printed).toContain(pair.publicKey);
    expect(printed).toContain(pair.privateKey);
    expect(toFile).toContain(pair.publicKey);
    expect(toFile).not.toContain(pair.privateKey);
    expect(toFile).toContain('/tmp/merchant.key');
  });
});
