import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../../src/lianlian/keys';
import { ToolError } from '../../../tools/errors';
import { formatSignDebug, PAYEE_DATA_WARNING, signDebug } from '../../../tools/sign-debug';

const MD5_KEY = '201408071000001543test_20140812';
// A notification as the provider sends it: unsorted keys, Chinese text, an empty field.
const MESSAGE = {
  oid_partner: '201408071000001543',
  sign_type: 'MD5',
  no_order: 'P20240101000001',
  dt_order: '20240101120000',
  money_order: '1234.50',
  oid_paybill: '',
  result_pay: 'SUCCESS',
  info_order: '工资',
  settle_date: '20240101',
};
// Hand-written from spec §6: no `sign`, no empty value, keys sorted, raw values joined with `&`.
const EXPECTED_SIGN_STRING =
  'dt_order=20240101120000&info_order=工资&money_order=1234.50&no_order=P20240101000001' +
  '&oid_partner=201408071000001543&result_pay=SUCCESS&settle_date=20240101&sign_type=MD5';
const EXPECTED_MD5 = createHash('md5').update(`${EXPECTED_SIGN_STRING}&key=${MD5_KEY}`, 'utf8').digest('hex');

const lines = (input: Parameters<typeof signDebug>[0]) => formatSignDebug(signDebug(input));

describe('sign-debug', () => {
  it('prints the payee-data warning first, then the exact string to sign and the signature', () => {
    const out = lines({
      messageJson: JSON.stringify({ ...MESSAGE, sign: EXPECTED_MD5 }),
      md5Key: `${MD5_KEY}\n`,
    });

    expect(out[0]).toBe(PAYEE_DATA_WARNING);
    expect(out).toContain(EXPECTED_SIGN_STRING);
    expect(out).toContain(`string to sign (${Buffer.byteLength(EXPECTED_SIGN_STRING)} bytes, UTF-8):`);
    expect(out).toContain(`computed signature: ${EXPECTED_MD5}`);
    expect(out).toContain('verifies: yes');
  });

  it('says "verifies: no" when the message’s sign does not match', () => {
    const tampered = JSON.stringify({ ...MESSAGE, money_order: '1234.51', sign: EXPECTED_MD5 });

    const out = lines({ messageJson: tampered, md5Key: MD5_KEY });

    expect(out).toContain('verifies: no');
    expect(out).toContain('computed equals checked: no');
  });

  it('checks --signature instead of the message’s own sign', () => {
    const messageJson = JSON.stringify({ ...MESSAGE, sign: 'not-it' });

    expect(lines({ messageJson, md5Key: MD5_KEY, signature: EXPECTED_MD5 })).toContain('verifies: yes');
    expect(lines({ messageJson, md5Key: MD5_KEY })).toContain('verifies: no');
  });

  describe('RSA', () => {
    const merchant = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaMessage = { ...MESSAGE, sign_type: 'RSA' };

    it('computes MD5withRSA with the private key, and it verifies with the matching public key', () => {
      const first = signDebug({
        messageJson: JSON.stringify(rsaMessage),
        privateKey: exportPrivateKeyBase64(merchant.privateKey),
      });
      expect(first.computed).toMatch(/^[A-Za-z0-9+/]{171}=$/);

      const out = lines({
        messageJson: JSON.stringify({ ...rsaMessage, sign: first.computed }),
        publicKey: exportPublicKeyBase64(merchant.publicKey),
      });

      expect(out).toContain('verifies: yes');
    });

    it('says "verifies: no" under someone else’s public key', () => {
      const signed = signDebug({
        messageJson: JSON.stringify(rsaMessage),
        privateKey: exportPrivateKeyBase64(merchant.privateKey),
      }).computed;

      const out = lines({
        messageJson: JSON.stringify({ ...rsaMessage, sign: signed }),
        publicKey: exportPublicKeyBase64(other.publicKey),
      });

      expect(out).toContain('verifies: no');
    });

    it('says it cannot check without a key for the message’s sign type', () => {
      const out = lines({ messageJson: JSON.stringify({ ...rsaMessage, sign: 'abc' }), md5Key: MD5_KEY });

      expect(out).toContain('verifies: cannot check');
    });
  });

  it('refuses values that are not strings (they cannot be what was signed)', () => {
    expect(() => signDebug({ messageJson: JSON.stringify({ ...MESSAGE, money_order: 1234.5 }) })).toThrow(
      ToolError,
    );
    expect(() => signDebug({ messageJson: '[1,2]' })).toThrow(ToolError);
    expect(() => signDebug({ messageJson: 'not json' })).toThrow(ToolError);
  });

  it('points at the known traps: keys with spaces and signatures with line breaks', () => {
    const report = signDebug({
      messageJson: JSON.stringify({ ...MESSAGE, 'sign_type ': 'MD5', sign: 'ab\ncd' }),
      md5Key: MD5_KEY,
    });

    expect(report.notes.join('\n')).toContain('"sign_type "');
    expect(report.notes.join('\n')).toContain('line breaks');
  });
});
