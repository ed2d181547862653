import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseWireBody } from '../../../src/lianlian/messages';
import {
  buildSignString,
  md5Sign,
  md5Verify,
  rsaSignString,
  rsaVerifyString,
  SigningKeyMissingError,
  signFields,
  type VerifyingKeys,
  verifyFields,
  verifyQueryResponse,
  type WireFields,
} from '../../../src/lianlian/sign';
import { FAKE_CARD, MERCHANT, type RsaPair, rsaPair } from './fixtures';

const MD5_KEY = 'test-md5-key-123';

// Lower-case snake_case keys, as the provider uses; `sign` and `sign_type` are handled explicitly.
const keyArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((k) => k !== 'sign' && k !== 'sign_type');
// Values that must travel raw: URL metacharacters, spaces, Chinese, URLs, plus arbitrary text.
const specialValues = [
  'a&b',
  'x=y',
  '100%',
  '%E5%BC%A0',
  'a b',
  ' leading and trailing ',
  '张三',
  '工资 & 奖金=100%',
  'https://merchant.example.com/notify?a=1&b=2',
  'a+b/c',
  '"quoted"',
];
const nonEmptyValueArb = fc.oneof(
  fc.constantFrom(...specialValues),
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
);
const fieldsArb = fc.dictionary(keyArb, nonEmptyValueArb, { minKeys: 1, maxKeys: 8 });

/** Independent oracle for spec §6 (filter, sort by code unit — keys are ASCII —, join raw). */
function oracle(fields: Record<string, string | null | undefined>): string {
  return Object.entries(fields)
    .filter(([k, v]) => k !== 'sign' && v !== undefined && v !== null && v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

describe('buildSignString', () => {
  it('matches the hand-built spec §6 example: sorted, empty dropped, sign excluded, values raw', () => {
    const fields = {
      sign: 'ignored-signature',
      oid_partner: MERCHANT,
      sign_type: 'RSA',
      api_version: '1.2',
      platform: '',
      prcptcd: undefined,
      brabank_name: null,
      no_order: 'ORD20260102001',
      dt_order: '20260102003000',
      money_order: '1234.50',
      flag_card: '0',
      card_no: FAKE_CARD,
      acct_name: '张三',
      info_order: '工资 & 奖金=100%',
      notify_url: 'https://merchant.example.com/notify?a=1&b=2',
    };
    expect(buildSignString(fields)).toBe(
      'acct_name=张三&api_version=1.2&card_no=6222000000000000&dt_order=20260102003000&flag_card=0' +
        '&info_order=工资 & 奖金=100%&money_order=1234.50&no_order=ORD20260102001' +
        '&notify_url=https://merchant.example.com/notify?a=1&b=2&oid_partner=201800000000000001' +
        '&sign_type=RSA',
    );
  });

  it('matches a hand-built notification example (fields the provider adds are included)', () => {
    const fields = {
      result_pay: 'SUCCESS',
      oid_partner: MERCHANT,
      sign_type: 'MD5',
      sign: '0123456789abcdef0123456789abcdef',
      no_order: 'PO1',
      dt_order: '20260102003000',
      money_order: '0.01',
      oid_paybill: '2026010200001234',
      settle_date: '20260102',
      info_order: '',
      some_new_field: 'x',
    };
    expect(buildSignString(fields)).toBe(
      'dt_order=20260102003000&money_order=0.01&no_order=PO1&oid_partner=201800000000000001' +
        '&oid_paybill=2026010200001234&result_pay=SUCCESS&settle_date=20260102&sign_type=MD5' +
        '&some_new_field=x',
    );
  });

  it('is empty for a message that carries only a signature', () => {
    expect(buildSignString({ sign: 'abc' })).toBe('');
  });

  it('never trims or rewrites keys (trap §10.7: "sign_type " is a different key)', () => {
    expect(buildSignString({ 'sign_type ': 'RSA', a: '1' })).toBe('a=1&sign_type =RSA');
  });

  it('orders keys by UTF-8 bytes, also where that differs from UTF-16 code-unit order', () => {
    // U+FF01 is EF BC 81 in UTF-8 but sorts after U+1F600 (surrogate D83D) in code units.
    expect(buildSignString({ '\u{1F600}': 'b', '\uFF01': 'a', a: 'c' })).toBe('a=c&\uFF01=a&\u{1F600}=b');
  });

  it('property: equals a straightforward reference over random maps, Chinese and non-ASCII keys included', () => {
    // Reference for spec §6 written the obvious way (entries, filter, sort by UTF-8 bytes, join): the
    // hot-path version (one appended string, cached key order) must give the same text byte for byte.
    const reference = (fields: Record<string, string | null | undefined>): string =>
      Object.entries(fields)
        .filter(([k, v]) => k !== 'sign' && v !== undefined && v !== null && v !== '')
        .sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
        .map(([k, v]) => `${k}=${v}`)
        .join('&');
    const anyKey = fc.oneof(
      keyArb,
      fc.constantFrom(
        'sign',
        'sign_type',
        '__proto__',
        '收款人',
        '金额',
        'ключ',
        'clé',
        '\u{1F600}',
        '\uFF01',
      ),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
    );
    const anyValue = fc.oneof(nonEmptyValueArb, fc.constant(''), fc.constant(null), fc.constant(undefined));
    const mapArb = fc.uniqueArray(fc.tuple(anyKey, anyValue), { selector: ([k]) => k, maxLength: 12 });
    fc.assert(
      fc.property(
        // The same key set several times, in several insertion orders and with other values: the
        // cached key order must follow the key list it was computed for, never a stale one.
        mapArb.chain((entries) =>
          fc.tuple(
            fc.constant(entries),
            fc.array(
              fc.tuple(
                fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
                fc.array(anyValue, { minLength: entries.length, maxLength: entries.length }),
              ),
              { maxLength: 3 },
            ),
          ),
        ),
        ([entries, variants]) => {
          for (const list of [
            entries,
            entries,
            ...variants.map(([s, vs]) => s.map(([k], i) => [k, vs[i]])),
          ]) {
            const fields = Object.fromEntries(list) as Record<string, string | null | undefined>;
            expect(buildSignString(fields)).toBe(reference(fields));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: ignores the order in which keys were inserted', () => {
    fc.assert(
      fc.property(
        fieldsArb.chain((d) => {
          const entries = Object.entries(d);
          return fc.tuple(
            fc.constant(entries),
            fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
          );
        }),
        ([entries, shuffled]) => {
          const a = buildSignString(Object.fromEntries(entries));
          const b = buildSignString(Object.fromEntries(shuffled));
          const c = buildSignString(Object.fromEntries([...entries].reverse()));
          expect(b).toBe(a);
          expect(c).toBe(a);
          expect(a).toBe(oracle(Object.fromEntries(entries)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: drops null, undefined and empty values, keeps sign_type', () => {
    const maybeValue = fc.oneof(nonEmptyValueArb, fc.constant(''), fc.constant(null), fc.constant(undefined));
    fc.assert(
      fc.property(
        fc.dictionary(keyArb, maybeValue, { maxKeys: 10 }),
        fc.constantFrom('RSA', 'MD5'),
        (d, signType) => {
          const fields = { ...d, sign_type: signType };
          const text = buildSignString(fields);
          expect(text).toBe(oracle(fields));
          expect(text.split('&')).toContain(`sign_type=${signType}`);
          // Empty fields contribute nothing: the string equals the one built without them. (Searching the
          // text for `&key=` would be wrong: a value such as a URL can contain that sequence.)
          const present = Object.fromEntries(
            Object.entries(d).filter(([, v]) => v !== '' && v !== null && v !== undefined),
          );
          present.sign_type = signType;
          expect(text).toBe(buildSignString(present));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: never URL-encodes — every value appears raw as key=value', () => {
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const text = buildSignString(fields);
        for (const [k, v] of Object.entries(fields)) expect(text).toContain(`${k}=${v}`);
        // Length is exactly the raw concatenation: nothing was escaped or quoted.
        const rawLength = Object.entries(fields).reduce((n, [k, v]) => n + k.length + 1 + v.length, 0);
        expect(text.length).toBe(rawLength + Object.keys(fields).length - 1);
      }),
      { numRuns: 200 },
    );
  });

  it('values with &, =, %, spaces, Chinese and URLs are not encoded', () => {
    const text = buildSignString({ a: 'x&y=z', b: '50% off', c: '张三 李四', d: 'http://h/p?q=1&r=%20' });
    expect(text).toBe('a=x&y=z&b=50% off&c=张三 李四&d=http://h/p?q=1&r=%20');
    expect(text).not.toContain('%26');
    expect(text).not.toContain('%E5');
    expect(text).not.toContain('+');
  });

  it('property: excludes sign whatever its value', () => {
    fc.assert(
      fc.property(fieldsArb, nonEmptyValueArb, (fields, sign) => {
        const text = buildSignString({ ...fields, sign });
        expect(text).toBe(buildSignString(fields));
        expect(text.startsWith('sign=')).toBe(false);
        expect(text.includes('&sign=')).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('md5Sign / md5Verify', () => {
  it('matches an independently computed digest (md5sum of the spec §6 example + &key=)', () => {
    const text =
      'acct_name=张三&api_version=1.2&card_no=6222000000000000&dt_order=20260102003000&flag_card=0' +
      '&info_order=工资 & 奖金=100%&money_order=1234.50&no_order=ORD20260102001' +
      '&notify_url=https://merchant.example.com/notify?a=1&b=2&oid_partner=201800000000000001' +
      '&sign_type=MD5';
    expect(md5Sign(text, MD5_KEY)).toBe('1201eb7502589a73579c652e20ecdba7');
    const notification =
      'dt_order=20260102003000&money_order=0.01&no_order=PO1&oid_partner=201800000000000001' +
      '&oid_paybill=2026010200001234&result_pay=SUCCESS&settle_date=20260102&sign_type=MD5';
    expect(md5Sign(notification, 'k')).toBe('5a786bb45055509561ad024d268f4426');
  });

  it('property: output is always 32 lower-case hex characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), (text, key) => {
        expect(md5Sign(text, key)).toMatch(/^[0-9a-f]{32}$/);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts the right digest in lower or upper case, refuses other digests and keys', () => {
    const text = 'a=1&sign_type=MD5';
    const digest = md5Sign(text, MD5_KEY);
    expect(md5Verify(text, digest, MD5_KEY)).toBe(true);
    expect(md5Verify(text, digest.toUpperCase(), MD5_KEY)).toBe(true);
    expect(md5Verify(text, digest, 'other-key')).toBe(false);
    expect(md5Verify('a=2&sign_type=MD5', digest, MD5_KEY)).toBe(false);
    expect(md5Verify(text, digest.slice(0, 31), MD5_KEY)).toBe(false);
    expect(md5Verify(text, `${digest}0`, MD5_KEY)).toBe(false);
    expect(md5Verify(text, '', MD5_KEY)).toBe(false);
    // A digest of the string without the key is not a signature.
    expect(md5Verify(text, md5Sign(text, ''), MD5_KEY)).toBe(false);
  });
});

describe('RSA (MD5withRSA)', () => {
  let k1024: RsaPair;
  let k2048: RsaPair;
  let other1024: RsaPair;

  beforeAll(() => {
    k1024 = rsaPair(1024);
    k2048 = rsaPair(2048);
    other1024 = rsaPair(1024);
  });

  it('signature is standard base64 without line breaks: 172 chars for 1024-bit, 344 for 2048-bit', () => {
    const long = `info_order=${'很长的用途说明'.repeat(100)}&sign_type=RSA`;
    for (const [pair, length] of [
      [k1024, 172],
      [k2048, 344],
    ] as const) {
      for (const text of ['a=1&sign_type=RSA', long]) {
        const sig = rsaSignString(text, pair.privateKey);
        expect(sig).toHaveLength(length);
        expect(sig).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
        expect(sig).not.toMatch(/[\r\n]/);
      }
    }
  });

  it('is deterministic (PKCS#1 v1.5) and verifies only with the matching public key', () => {
    const text = 'acct_name=张三&sign_type=RSA';
    const sig = rsaSignString(text, k1024.privateKey);
    expect(rsaSignString(text, k1024.privateKey)).toBe(sig);
    expect(rsaVerifyString(text, sig, k1024.publicKey)).toBe(true);
    expect(rsaVerifyString(text, sig, other1024.publicKey)).toBe(false);
    expect(rsaVerifyString(text, sig, k2048.publicKey)).toBe(false);
    expect(rsaVerifyString('acct_name=李四&sign_type=RSA', sig, k1024.publicKey)).toBe(false);
  });

  it('rejects malformed signatures without throwing', () => {
    const text = 'a=1&sign_type=RSA';
    const sig = rsaSignString(text, k1024.privateKey);
    const withBreak = `${sig.slice(0, 64)}\n${sig.slice(64)}`;
    for (const bad of ['', 'not base64!', withBreak, sig.slice(0, 100), `${sig}AAAA`, '====']) {
      expect(rsaVerifyString(text, bad, k1024.publicKey)).toBe(false);
    }
  });

  for (const bits of [1024, 2048] as const) {
    describe(`${bits}-bit key`, () => {
      const pair = () => (bits === 1024 ? k1024 : k2048);

      it('property: signFields → verifyFields round-trips', () => {
        fc.assert(
          fc.property(fieldsArb, (fields) => {
            const signed = signFields(fields, { signType: 'RSA', privateKey: pair().privateKey });
            expect(signed.sign_type).toBe('RSA');
            expect(signed.sign).toHaveLength(bits === 1024 ? 172 : 344);
            expect(verifyFields(signed, { publicKey: pair().publicKey })).toEqual({
              ok: true,
              signType: 'RSA',
            });
          }),
          { numRuns: 100 },
        );
      });

      it('property: any single-field tamper (change, add, remove) fails verification', () => {
        fc.assert(
          fc.property(fieldsArb, tamperArb, (fields, tamper) => {
            const signed = signFields(fields, { signType: 'RSA', privateKey: pair().privateKey });
            const tampered = applyTamper(signed, tamper);
            fc.pre(tampered !== undefined);
            expect(verifyFields(tampered!, { publicKey: pair().publicKey }).ok).toBe(false);
          }),
          { numRuns: 150 },
        );
      });
    });
  }

  it('a flipped signature character fails with reason mismatch', () => {
    const signed = signFields({ a: '1' }, { signType: 'RSA', privateKey: k1024.privateKey });
    const flipped = signed.sign.startsWith('A') ? `B${signed.sign.slice(1)}` : `A${signed.sign.slice(1)}`;
    expect(verifyFields({ ...signed, sign: flipped }, { publicKey: k1024.publicKey })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  describe('fails closed', () => {
    it('RSA message with no public key configured → no_key_for_sign_type', () => {
      const signed = signFields({ a: '1' }, { signType: 'RSA', privateKey: k1024.privateKey });
      expect(verifyFields(signed, {})).toEqual({ ok: false, reason: 'no_key_for_sign_type' });
      expect(verifyFields(signed, { md5Key: MD5_KEY })).toEqual({
        ok: false,
        reason: 'no_key_for_sign_type',
      });
    });

    it('no downgrade: an "MD5" message on an RSA-only deployment fails, even signed with an empty key', () => {
      const fields = { oid_partner: MERCHANT, result_pay: 'SUCCESS', money_order: '100.00' };
      // The forger's best guesses at an unconfigured key: empty, and "undefined".
      for (const forgedKey of ['', 'undefined']) {
        const forged = signFields(fields, { signType: 'MD5', md5Key: 'x' });
        const sign = md5Sign(buildSignString(forged), forgedKey);
        for (const keys of [
          { publicKey: k1024.publicKey },
          { publicKey: k1024.publicKey, md5Key: undefined },
          { publicKey: k1024.publicKey, md5Key: '' },
        ] satisfies VerifyingKeys[]) {
          expect(verifyFields({ ...forged, sign }, keys)).toEqual({
            ok: false,
            reason: 'no_key_for_sign_type',
          });
        }
      }
    });

    it('an RSA-signed message relabelled as MD5 fails', () => {
      const signed = signFields({ a: '1' }, { signType: 'RSA', privateKey: k1024.privateKey });
      const result = verifyFields(
        { ...signed, sign_type: 'MD5' },
        { publicKey: k1024.publicKey, md5Key: MD5_KEY },
      );
      expect(result.ok).toBe(false);
    });

    it('unknown or missing sign_type → unsupported_sign_type', () => {
      const signed = signFields({ a: '1' }, { signType: 'RSA', privateKey: k1024.privateKey });
      const keys = { publicKey: k1024.publicKey, md5Key: MD5_KEY };
      for (const signType of ['rsa', 'md5', 'RSA ', 'SHA256', 'RSA2', '']) {
        expect(verifyFields({ ...signed, sign_type: signType }, keys)).toEqual({
          ok: false,
          reason: 'unsupported_sign_type',
        });
      }
      const { sign_type: _dropped, ...noType } = signed;
      expect(verifyFields(noType, keys)).toEqual({ ok: false, reason: 'unsupported_sign_type' });
    });

    it('missing or empty sign → missing_sign', () => {
      const signed = signFields({ a: '1' }, { signType: 'RSA', privateKey: k1024.privateKey });
      const keys = { publicKey: k1024.publicKey, md5Key: MD5_KEY };
      const { sign: _dropped, ...unsigned } = signed;
      expect(verifyFields(unsigned, keys)).toEqual({ ok: false, reason: 'missing_sign' });
      expect(verifyFields({ ...signed, sign: '' }, keys)).toEqual({ ok: false, reason: 'missing_sign' });
    });
  });

  describe('verifyQueryResponse (bank_name may sit outside the signature, spec §4)', () => {
    const answer = (): Record<string, string> => ({
      ret_code: '0000',
      ret_msg: '交易成功',
      oid_partner: MERCHANT,
      no_order: 'PO1',
      dt_order: '20260102003000',
      oid_paybill: '2026010200001234',
      money_order: '100.00',
      result_pay: 'SUCCESS',
      settle_date: '20260102',
      info_order: '佣金结算',
      memo: '',
    });
    const keys = (): VerifyingKeys => ({ publicKey: k1024.publicKey });

    it('verifies an answer whose signature excludes bank_name (fallback)', () => {
      const signed = signFields(answer(), { signType: 'RSA', privateKey: k1024.privateKey });
      const received: WireFields = { ...signed, bank_name: '中国工商银行' };
      expect(verifyFields(received, keys()).ok).toBe(false);
      expect(verifyQueryResponse(received, keys())).toEqual({ ok: true, signType: 'RSA' });
    });

    it('verifies an answer whose signature covers bank_name (first pass)', () => {
      const signed = signFields(
        { ...answer(), bank_name: '中国工商银行' },
        { signType: 'RSA', privateKey: k1024.privateKey },
      );
      expect(verifyQueryResponse(signed, keys())).toEqual({ ok: true, signType: 'RSA' });
    });

    it('property: with bank_name outside the signature, tampering with any other field still fails', () => {
      const signed: Record<string, string> = {
        ...signFields(answer(), { signType: 'RSA', privateKey: k1024.privateKey }),
        bank_name: '中国工商银行',
      };
      const tamperable = Object.keys(signed).filter((k) => k !== 'bank_name' && k !== 'sign');
      fc.assert(
        fc.property(fc.constantFrom(...tamperable), nonEmptyValueArb, (key, value) => {
          fc.pre(signed[key] !== value);
          const tampered = { ...signed, [key]: value };
          expect(verifyQueryResponse(tampered, keys()).ok).toBe(false);
          const { [key]: _removed, ...without } = signed;
          if (signed[key] !== '') expect(verifyQueryResponse(without, keys()).ok).toBe(false);
        }),
        { numRuns: 100 },
      );
      // And the untouched message does verify, so the failures above are the tampering's doing.
      expect(verifyQueryResponse(signed, keys()).ok).toBe(true);
    });

    it('without bank_name there is no second attempt: a tampered answer fails with mismatch', () => {
      const signed = signFields(answer(), { signType: 'RSA', privateKey: k1024.privateKey });
      expect(verifyQueryResponse({ ...signed, money_order: '1000.00' }, keys())).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    });

    it('a signature that covers bank_name cannot survive bank_name being stripped or altered', () => {
      const signed = signFields(
        { ...answer(), bank_name: '中国工商银行' },
        { signType: 'RSA', privateKey: k1024.privateKey },
      );
      const { bank_name: _stripped, ...stripped } = signed;
      expect(verifyQueryResponse(stripped, keys())).toEqual({ ok: false, reason: 'mismatch' });
      expect(verifyQueryResponse({ ...signed, bank_name: '中国银行' }, keys())).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    });

    it('the fallback does not override a fail-closed reason', () => {
      const signed = { ...signFields(answer(), { signType: 'MD5', md5Key: MD5_KEY }), bank_name: 'X' };
      expect(verifyQueryResponse(signed, keys())).toEqual({ ok: false, reason: 'no_key_for_sign_type' });
      const { sign: _s, ...unsigned } = signed;
      expect(verifyQueryResponse(unsigned, keys())).toEqual({ ok: false, reason: 'missing_sign' });
    });
  });
});

describe('MD5 signing', () => {
  it('property: signFields → verifyFields round-trips', () => {
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const signed = signFields(fields, { signType: 'MD5', md5Key: MD5_KEY });
        expect(signed.sign).toMatch(/^[0-9a-f]{32}$/);
        expect(signed.sign).toBe(md5Sign(oracle(signed), MD5_KEY));
        expect(verifyFields(signed, { md5Key: MD5_KEY })).toEqual({ ok: true, signType: 'MD5' });
        expect(verifyFields({ ...signed, sign: signed.sign.toUpperCase() }, { md5Key: MD5_KEY }).ok).toBe(
          true,
        );
        expect(verifyFields(signed, { md5Key: 'another-key' })).toEqual({ ok: false, reason: 'mismatch' });
      }),
      { numRuns: 200 },
    );
  });

  it('property: any single-field tamper (change, add, remove) fails verification', () => {
    fc.assert(
      fc.property(fieldsArb, tamperArb, (fields, tamper) => {
        const signed = signFields(fields, { signType: 'MD5', md5Key: MD5_KEY });
        const tampered = applyTamper(signed, tamper);
        fc.pre(tampered !== undefined);
        expect(verifyFields(tampered!, { md5Key: MD5_KEY }).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('an MD5 message with no MD5 key configured → no_key_for_sign_type', () => {
    const signed = signFields({ a: '1' }, { signType: 'MD5', md5Key: MD5_KEY });
    expect(verifyFields(signed, {})).toEqual({ ok: false, reason: 'no_key_for_sign_type' });
    expect(verifyFields(signed, { md5Key: '' })).toEqual({ ok: false, reason: 'no_key_for_sign_type' });
  });
});

describe('signFields', () => {
  it('sets sign_type from the keys, overriding any sign_type or sign in the input, and copies', () => {
    const input = { a: '1', sign_type: 'MD5', sign: 'stale' };
    const signed = signFields(input, { signType: 'MD5', md5Key: MD5_KEY });
    expect(signed.sign).toBe(md5Sign('a=1&sign_type=MD5', MD5_KEY));
    expect(input.sign).toBe('stale');
    const rsaInput = { a: '1' };
    expect(() => signFields(rsaInput, { signType: 'RSA' })).toThrow(SigningKeyMissingError);
    expect(() => signFields(rsaInput, { signType: 'MD5', md5Key: '' })).toThrow(SigningKeyMissingError);
    expect(rsaInput).toEqual({ a: '1' });
  });
});

type Tamper =
  | { kind: 'change'; index: number; value: string }
  | { kind: 'add'; key: string; value: string }
  | { kind: 'remove'; index: number };

const tamperArb: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant('change' as const), index: fc.nat(), value: nonEmptyValueArb }),
  fc.record({ kind: fc.constant('add' as const), key: keyArb, value: nonEmptyValueArb }),
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
);

/** One change to a signed message; undefined when the tamper would be a no-op. */
function applyTamper(signed: Record<string, string>, tamper: Tamper): Record<string, string> | undefined {
  const keys = Object.keys(signed).filter((k) => k !== 'sign');
  switch (tamper.kind) {
    case 'change': {
      const key = keys[tamper.index % keys.length]!;
      if (signed[key] === tamper.value) return undefined;
      return { ...signed, [key]: tamper.value };
    }
    case 'add':
      if (Object.hasOwn(signed, tamper.key)) return undefined;
      return { ...signed, [tamper.key]: tamper.value };
    case 'remove': {
      const key = keys[tamper.index % keys.length]!;
      const { [key]: _removed, ...rest } = signed;
      return rest;
    }
  }
}

describe('received keys named like Object.prototype members (defect 10)', () => {
  const keys = { md5Key: MD5_KEY };
  const base = () => ({
    oid_partner: MERCHANT,
    no_order: 'PO20260102003000A1',
    money_order: '1.00',
    result_pay: 'SUCCESS',
  });
  /** A provider-signed raw body that carries `key` as one of its signed fields. */
  const signedWith = (key: string): string => {
    const fields: Record<string, string> = Object.assign(Object.create(null), base());
    fields[key] = 'covered';
    const signed = signFields(fields, { signType: 'MD5', md5Key: MD5_KEY });
    const raw = JSON.stringify(signed);
    expect(raw).toContain(`"${key}":"covered"`);
    return raw;
  };
  /** Adds `"key":"x"` to a signed raw body after signing, as a forger would. */
  const injected = (key: string): string => {
    const raw = JSON.stringify(signFields(base(), { signType: 'MD5', md5Key: MD5_KEY }));
    return `{${JSON.stringify(key)}:"injected",${raw.slice(1)}`;
  };
  const verifyRaw = (raw: string) => {
    const parsed = parseWireBody(raw);
    if (!parsed.ok) throw new Error(parsed.reason);
    return verifyFields(parsed.fields, keys);
  };

  it.each(['__proto__', 'constructor', 'prototype'])('a body signed over %j verifies', (key) => {
    expect(verifyRaw(signedWith(key))).toEqual({ ok: true, signType: 'MD5' });
  });

  it.each(['__proto__', 'constructor', 'prototype'])('%j added after signing fails verification', (key) => {
    expect(verifyRaw(injected(key))).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('the sign string covers a received "__proto__" key', () => {
    const parsed = parseWireBody('{"__proto__":"p","a":"1"}');
    expect(parsed.ok && buildSignString(parsed.fields)).toBe('__proto__=p&a=1');
  });

  it('verifyQueryResponse keeps "__proto__" covered when it retries without bank_name', () => {
    const fields: Record<string, string> = Object.assign(Object.create(null), base());
    Object.defineProperty(fields, '__proto__', { value: 'covered', enumerable: true });
    const signed = signFields(fields, { signType: 'MD5', md5Key: MD5_KEY });
    const withBankName = `${JSON.stringify(signed).slice(0, -1)},"bank_name":"中国银行"}`;
    const parsed = parseWireBody(withBankName);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(verifyQueryResponse(parsed.fields, keys)).toEqual({ ok: true, signType: 'MD5' });
    const forged = parseWireBody(
      `{"__proto__":"x",${JSON.stringify(signFields(base(), { signType: 'MD5', md5Key: MD5_KEY })).slice(1, -1)},"bank_name":"中国银行"}`,
    );
    if (!forged.ok) throw new Error(forged.reason);
    expect(verifyQueryResponse(forged.fields, keys)).toEqual({ ok: false, reason: 'mismatch' });
  });
});
