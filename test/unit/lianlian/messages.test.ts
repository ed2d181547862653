import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import {
  applyFieldsSchema,
  applyRequestSchema,
  applyResponseSchema,
  balanceAnswerSchema,
  balanceRequestSchema,
  type FieldError,
  fieldErrors,
  notificationSchema,
  parseWireBody,
  queryRequestSchema,
  queryResultSchema,
  SIGN_DELIMITER_MESSAGE,
} from '../../../src/lianlian/messages';
import { buildSignString, signFields, verifyFields } from '../../../src/lianlian/sign';
import { corporateApply, MERCHANT, personalApply } from './fixtures';

const MD5_KEY = 'messages-test-md5-key';

/** Parses and returns the field errors (empty when the input is valid). */
function errorsOf(schema: z.ZodMiniType, input: unknown): FieldError[] {
  const result = schema.safeParse(input);
  return result.success ? [] : fieldErrors(result.error);
}

function fieldsOf(errors: FieldError[]): string[] {
  return errors.map((e) => e.field);
}

describe('applyFieldsSchema', () => {
  it('accepts a valid personal apply, unchanged', () => {
    const apply = personalApply();
    const result = applyFieldsSchema.safeParse(apply);
    expect(result.success).toBe(true);
    expect(result.data).toEqual(apply);
  });

  it('accepts boundary values: 32-char no_order, 255-char info_order, platform, 0.01, http notify_url', () => {
    expect(
      errorsOf(
        applyFieldsSchema,
        personalApply({
          no_order: `${'A'.repeat(30)}_-`,
          info_order: '款'.repeat(255),
          platform: 'p'.repeat(32),
          money_order: '0.01',
          notify_url: 'http://127.0.0.1:3000/notify',
        }),
      ),
    ).toEqual([]);
  });

  it.each([
    ['no_order', { no_order: 'A'.repeat(33) }],
    ['no_order', { no_order: '' }],
    ['no_order', { no_order: 'PO/1' }],
    ['no_order', { no_order: '订单1' }],
    ['dt_order', { dt_order: '2026-01-02 00:30:00' }],
    ['dt_order', { dt_order: '2026/01/02 00:30:00' }],
    ['dt_order', { dt_order: '20260231120000' }],
    ['money_order', { money_order: '12.5' }],
    ['money_order', { money_order: '1.0E7' }],
    ['money_order', { money_order: '100' }],
    ['money_order', { money_order: '0.00' }],
    ['money_order', { money_order: '-1.00' }],
    ['flag_card', { flag_card: '2' }],
    ['flag_card', { flag_card: '' }],
    ['card_no', { card_no: '6222ABCD00000000' }],
    ['card_no', { card_no: '6222 0000 0000 0000' }],
    ['card_no', { card_no: '6'.repeat(33) }],
    ['card_no', { card_no: '' }],
    ['acct_name', { acct_name: '' }],
    ['info_order', { info_order: '' }],
    ['info_order', { info_order: 'x'.repeat(256) }],
    ['oid_partner', { oid_partner: '20180000000000001' }],
    ['api_version', { api_version: '1.1' }],
    ['platform', { platform: 'p'.repeat(33) }],
    ['bank_code', { bank_code: '0102000' }],
    ['notify_url', { notify_url: 'not a url' }],
    ['notify_url', { notify_url: 'javascript:alert(1)' }],
    ['notify_url', { notify_url: `https://merchant.example.com/${'n'.repeat(250)}` }],
  ] as const)('refuses a bad %s (%j) and names the field', (field, overrides) => {
    const errors = errorsOf(applyFieldsSchema, personalApply(overrides));
    expect(fieldsOf(errors)).toEqual([field]);
    expect(errors[0]!.message.length).toBeGreaterThan(0);
  });

  it('refuses a missing info_order with "is required"', () => {
    const { info_order: _dropped, ...apply } = personalApply();
    expect(errorsOf(applyFieldsSchema, apply)).toEqual([{ field: 'info_order', message: 'is required' }]);
  });

  it('says "is required" only when a value is missing, not when it has the wrong type', () => {
    const errors = errorsOf(applyFieldsSchema, { ...personalApply(), money_order: 12.5, card_no: null });
    expect(fieldsOf(errors).sort()).toEqual(['card_no', 'money_order']);
    for (const error of errors) expect(error.message).not.toBe('is required');
    const missing = errorsOf(applyFieldsSchema, { ...personalApply(), money_order: undefined });
    expect(missing).toEqual([{ field: 'money_order', message: 'is required' }]);
  });

  it('refuses an unknown extra field and names it', () => {
    const errors = errorsOf(applyFieldsSchema, { ...personalApply(), extra_field: 'x' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('extra_field');
  });

  it('refuses the signature fields: they are added by signing, not by the caller', () => {
    const errors = errorsOf(applyFieldsSchema, { ...personalApply(), sign_type: 'RSA' });
    expect(errors[0]?.message).toContain('sign_type');
  });

  it('reports each field once, several fields at a time', () => {
    const errors = errorsOf(
      applyFieldsSchema,
      personalApply({ no_order: '', money_order: '1e3', flag_card: '9' }),
    );
    expect(fieldsOf(errors).sort()).toEqual(['flag_card', 'money_order', 'no_order']);
  });

  describe('corporate (flag_card 1)', () => {
    it('accepts bank_code + province/city/branch', () => {
      expect(errorsOf(applyFieldsSchema, corporateApply())).toEqual([]);
    });

    it('accepts bank_code + prcptcd without branch data (prcptcd wins)', () => {
      const apply = corporateApply({ prcptcd: '102290000001' });
      const { province_code: _p, city_code: _c, brabank_name: _b, ...withPrcptcd } = apply;
      expect(errorsOf(applyFieldsSchema, withPrcptcd)).toEqual([]);
    });

    it('refuses a missing bank_code, naming bank_code', () => {
      const { bank_code: _dropped, ...apply } = corporateApply();
      expect(fieldsOf(errorsOf(applyFieldsSchema, apply))).toEqual(['bank_code']);
      const withPrcptcd = { ...apply, prcptcd: '102290000001' };
      expect(fieldsOf(errorsOf(applyFieldsSchema, withPrcptcd))).toEqual(['bank_code']);
    });

    it('refuses bank_code with only city_code, naming province_code and brabank_name', () => {
      const { province_code: _p, brabank_name: _b, ...apply } = corporateApply();
      expect(fieldsOf(errorsOf(applyFieldsSchema, apply)).sort()).toEqual(['brabank_name', 'province_code']);
    });

    it('refuses bank_code with no branch data at all, naming all three', () => {
      const { province_code: _p, city_code: _c, brabank_name: _b, ...apply } = corporateApply();
      expect(fieldsOf(errorsOf(applyFieldsSchema, apply)).sort()).toEqual([
        'brabank_name',
        'city_code',
        'province_code',
      ]);
    });

    it('refuses a malformed prcptcd', () => {
      expect(fieldsOf(errorsOf(applyFieldsSchema, corporateApply({ prcptcd: '1'.repeat(13) })))).toEqual([
        'prcptcd',
      ]);
      expect(fieldsOf(errorsOf(applyFieldsSchema, corporateApply({ prcptcd: 'ABC' })))).toEqual(['prcptcd']);
    });

    it('does not require branch data for a personal payout', () => {
      expect(errorsOf(applyFieldsSchema, personalApply({ bank_code: '01020000' }))).toEqual([]);
    });
  });
});

describe('applyRequestSchema', () => {
  it('accepts a signed apply and refuses an unsigned one', () => {
    const signed = signFields({ ...personalApply() }, { signType: 'MD5', md5Key: MD5_KEY });
    expect(errorsOf(applyRequestSchema, signed)).toEqual([]);
    const { sign: _s, ...unsigned } = signed;
    expect(fieldsOf(errorsOf(applyRequestSchema, unsigned))).toEqual(['sign']);
    expect(fieldsOf(errorsOf(applyRequestSchema, { ...signed, sign_type: 'SHA256' }))).toEqual(['sign_type']);
  });

  it('applies the corporate rules too', () => {
    const { bank_code: _b, ...apply } = corporateApply();
    const signed = signFields(apply, { signType: 'MD5', md5Key: MD5_KEY });
    expect(fieldsOf(errorsOf(applyRequestSchema, signed))).toEqual(['bank_code']);
  });
});

describe('queryRequestSchema', () => {
  const query = (extra: Record<string, string> = {}) =>
    signFields(
      { oid_partner: MERCHANT, no_order: 'PO1', type_dc: '1', query_version: '1.1', ...extra },
      { signType: 'MD5', md5Key: MD5_KEY },
    );

  it('accepts a payout query with type_dc 1', () => {
    expect(errorsOf(queryRequestSchema, query())).toEqual([]);
    expect(errorsOf(queryRequestSchema, query({ dt_order: '20260102003000' }))).toEqual([]);
  });

  it('requires type_dc "1" (trap §10.1)', () => {
    expect(errorsOf(queryRequestSchema, query({ type_dc: '0' }))).toEqual([
      { field: 'type_dc', message: 'must be "1" (merchant payout)' },
    ]);
    const { type_dc: _t, ...withoutTypeDc } = query();
    expect(fieldsOf(errorsOf(queryRequestSchema, withoutTypeDc))).toEqual(['type_dc']);
  });

  it('refuses a malformed dt_order and unknown fields', () => {
    expect(fieldsOf(errorsOf(queryRequestSchema, query({ dt_order: '2026-01-02' })))).toEqual(['dt_order']);
    expect(errorsOf(queryRequestSchema, { ...query(), extra: 'x' })[0]?.message).toContain('extra');
  });
});

describe('response and notification schemas', () => {
  const notification = () => ({
    oid_partner: MERCHANT,
    no_order: 'PO1',
    dt_order: '20260102003000',
    money_order: '100.00',
    oid_paybill: '2026010200001234',
    result_pay: 'SUCCESS',
    settle_date: '20260102',
    info_order: '佣金结算',
  });

  it('notificationSchema keeps unknown string fields, so the signature over them still verifies', () => {
    const signed = signFields(
      { ...notification(), new_field: 'added by the provider', 'sign_type ': 'odd key' },
      { signType: 'MD5', md5Key: MD5_KEY },
    );
    const parsed = notificationSchema.safeParse(signed);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(signed);
    expect(parsed.data?.new_field).toBe('added by the provider');
    expect(verifyFields(parsed.data!, { md5Key: MD5_KEY }).ok).toBe(true);
  });

  it('notificationSchema refuses non-string extras, a bad amount and a missing signature', () => {
    const signed = signFields(notification(), { signType: 'MD5', md5Key: MD5_KEY });
    expect(fieldsOf(errorsOf(notificationSchema, { ...signed, extra: 1 }))).toEqual(['extra']);
    expect(fieldsOf(errorsOf(notificationSchema, { ...signed, money_order: '100' }))).toEqual([
      'money_order',
    ]);
    const { sign: _s, ...unsigned } = signed;
    expect(fieldsOf(errorsOf(notificationSchema, unsigned))).toEqual(['sign']);
  });

  it('applyResponseSchema accepts an unsigned error answer and keeps unknown fields', () => {
    const answer = { ret_code: '5503', ret_msg: '商户提现权限不足', extra: 'x' };
    const parsed = applyResponseSchema.safeParse(answer);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(answer);
    expect(fieldsOf(errorsOf(applyResponseSchema, { ret_msg: 'no code' }))).toEqual(['ret_code']);
    expect(fieldsOf(errorsOf(applyResponseSchema, { ret_code: '00000' }))).toEqual(['ret_code']);
  });

  it('queryResultSchema needs a well-formed money_order and the merchant number', () => {
    const answer = signFields({ ret_code: '0000', ...notification() }, { signType: 'MD5', md5Key: MD5_KEY });
    expect(errorsOf(queryResultSchema, answer)).toEqual([]);
    const { money_order: _m, ...noMoney } = answer;
    expect(fieldsOf(errorsOf(queryResultSchema, noMoney))).toEqual(['money_order']);
    expect(fieldsOf(errorsOf(queryResultSchema, { ...answer, money_order: '1.0E7' }))).toEqual([
      'money_order',
    ]);
    expect(fieldsOf(errorsOf(queryResultSchema, { ...answer, ret_code: '8901' }))).toEqual(['ret_code']);
  });
});

describe('parseWireBody', () => {
  it('accepts a JSON object of strings, keeping keys exactly as received', () => {
    const raw = '{"ret_code":"0000","ret_msg":"交易成功","sign_type ":"RSA","empty":""}';
    expect(parseWireBody(raw)).toEqual({
      ok: true,
      fields: { ret_code: '0000', ret_msg: '交易成功', 'sign_type ': 'RSA', empty: '' },
    });
    expect(parseWireBody('{}')).toEqual({ ok: true, fields: {} });
  });

  it.each([
    '',
    '<html><body>502 Bad Gateway</body></html>',
    'ret_code=0000&ret_msg=ok',
    '{"a":"b"',
    "{'a':'b'}",
  ])('rejects non-JSON %j', (raw) => {
    expect(parseWireBody(raw)).toEqual({ ok: false, reason: 'body is not JSON' });
  });

  it.each(['[]', '[{"ret_code":"0000"}]', 'null', '"0000"', '0', 'true'])(
    'rejects the non-object %j',
    (raw) => {
      expect(parseWireBody(raw)).toEqual({ ok: false, reason: 'body is not a JSON object' });
    },
  );

  it.each([
    '{"ret_code":"0000","money_order":100.5}',
    '{"ret_code":0}',
    '{"a":null}',
    '{"a":true}',
    '{"a":{"b":"c"}}',
    '{"a":["b"]}',
  ])('rejects an object with a non-string value %j', (raw) => {
    expect(parseWireBody(raw)).toEqual({ ok: false, reason: 'every value must be a string' });
  });
});

describe('parseWireBody: keys that are also Object.prototype names (defect 10)', () => {
  // JSON.parse keeps "__proto__" as an own key; any copy by assignment into an ordinary object turns it
  // into a prototype change and drops it — and a dropped key is a key the signature no longer covers.
  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'])(
    'keeps %j as an ordinary received field',
    (key) => {
      const parsed = parseWireBody(`{"ret_code":"0000",${JSON.stringify(key)}:"x"}`);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(Object.keys(parsed.fields).sort()).toEqual([key, 'ret_code'].sort());
      expect(Object.getOwnPropertyDescriptor(parsed.fields, key)?.value).toBe('x');
    },
  );

  it('does not treat inherited names as received fields', () => {
    const parsed = parseWireBody('{"ret_code":"0000"}');
    expect(parsed.ok && parsed.fields.constructor).toBeUndefined();
    expect(parsed.ok && parsed.fields.toString).toBeUndefined();
  });
});

/**
 * Every way to read a sign string as `key=value` pairs: split it at `&`, then group consecutive pieces (a
 * group's key runs to its first `=`). Keeps only readings that could be a received message: ascending,
 * distinct keys (the sign string is sorted) and non-empty values (empty ones are never signed).
 */
function rereadings(signString: string): Record<string, string>[] {
  const pieces = signString.split('&');
  const out: Record<string, string>[] = [];
  const walk = (from: number, previous: string, fields: [string, string][]): void => {
    if (from === pieces.length) {
      out.push(Object.fromEntries(fields));
      return;
    }
    for (let to = from + 1; to <= pieces.length; to++) {
      const group = pieces.slice(from, to).join('&');
      const eq = group.indexOf('=');
      const key = group.slice(0, eq);
      const value = group.slice(eq + 1);
      if (eq <= 0 || value === '' || key <= previous) continue;
      walk(to, key, [...fields, [key, value]]);
    }
  };
  walk(0, '', []);
  return out;
}

describe('defect 3: "&" and "=" cannot shift what a signature covers (spec §13)', () => {
  const FREE_TEXT = ['info_order', 'acct_name', 'brabank_name', 'platform'] as const;
  const withDelimiter = fc
    .tuple(fc.string({ maxLength: 10 }), fc.constantFrom('&', '='), fc.string({ maxLength: 10 }))
    .map(([a, d, b]) => `${a}${d}${b}`);
  // Free text as a merchant may write it: any characters, "&" and "=" included before validation.
  const text = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max });

  it('the shift the spec describes: info_order "x&no_order=B" is refused before signing', () => {
    const errors = errorsOf(applyFieldsSchema, personalApply({ info_order: 'x&no_order=B' }));
    expect(errors).toEqual([{ field: 'info_order', message: SIGN_DELIMITER_MESSAGE }]);
  });

  it('property: applyFieldsSchema refuses "&" or "=" in any free-text field, naming it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FREE_TEXT), withDelimiter, (field, value) => {
        const fields = fieldsOf(errorsOf(applyFieldsSchema, corporateApply({ [field]: value })));
        expect(fields).toContain(field);
      }),
    );
  });

  it('property: a signed apply that passes the schema reads back only as itself', () => {
    fc.assert(
      fc.property(text(20), text(20), text(20), text(10), (info, name, branch, platform) => {
        const apply = corporateApply({ info_order: info, acct_name: name, brabank_name: branch, platform });
        fc.pre(applyFieldsSchema.safeParse(apply).success);
        const signed: Record<string, string> = signFields(apply, { signType: 'MD5', md5Key: MD5_KEY });
        const { sign: _s, ...unsigned } = signed;
        // No value holds "&", so the sign string splits back into exactly the signed fields…
        const pieces = buildSignString(signed).split('&');
        expect(
          Object.fromEntries(pieces.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])),
        ).toEqual(unsigned);
        // …and any other reading merges pieces, so one of its values holds "&": every field refuses that.
        for (const key of Object.keys(unsigned)) {
          const merged = { ...signed, [key]: `${signed[key]}&x=y` };
          expect(fieldsOf(errorsOf(applyRequestSchema, merged)), key).toContain(key);
        }
      }),
    );
  });

  it('property: of all readings of a signed notification or query answer, at most one passes — the real one whenever it can pass', () => {
    // Free text from the provider, "&" and "=" included: they are what a shift is made of.
    // At most one "&" each keeps the readings to enumerate in the thousands.
    const freeText = fc.stringMatching(/^[a-z =_]{0,5}(&[a-z =_]{0,5})?$/).filter((v) => v !== '');
    const optionalText = fc.option(freeText, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          info_order: freeText,
          memo: optionalText,
          ret_msg: optionalText,
        }),
        fc.constantFrom('SUCCESS', 'FAILURE', 'PROCESSING', 'CANCEL', 'NEW_STATE'),
        (free, resultPay) => {
          const received = {
            oid_partner: MERCHANT,
            no_order: 'PO20260102003000A1',
            dt_order: '20260102003000',
            money_order: '1234.50',
            result_pay: resultPay,
            settle_date: '20260102',
            ...Object.fromEntries(Object.entries(free).filter(([, v]) => v !== undefined)),
          } as Record<string, string>;
          const notification = signFields(received, { signType: 'MD5', md5Key: MD5_KEY });
          const answer = signFields({ ret_code: '0000', ...received }, { signType: 'MD5', md5Key: MD5_KEY });
          for (const [schema, message] of [
            [notificationSchema, notification],
            [queryResultSchema, answer],
          ] as const) {
            const { sign, ...unsigned } = message;
            // The real message passes unless one of its values itself holds "&name=" — which we never send
            // (the request schema refuses "&" and "="), so no answer about our own orders can hold it.
            const realPasses = schema.safeParse(message).success;
            let passing = 0;
            for (const reading of rereadings(buildSignString(message))) {
              // Same sign string, so the same signature verifies every reading: the schema alone must
              // leave at most one, and the real one whenever the real one can pass at all.
              const forged = { ...reading, sign };
              if (!schema.safeParse(forged).success) continue;
              passing += 1;
              expect(verifyFields(forged, { md5Key: MD5_KEY }).ok).toBe(true);
              if (realPasses) expect({ ...reading }).toEqual({ ...unsigned });
            }
            expect(passing).toBeLessThanOrEqual(1);
            // Not vacuous: a message without "&" in its free text is read, and believed, exactly once.
            if (!Object.values(free).some((v) => v?.includes('&'))) expect(passing).toBe(1);
          }
        },
      ),
      // Each case enumerates every grouping of its pieces (thousands): a few dozen cases suffice.
      { numRuns: 60 },
    );
  });
});

describe('received messages: known formats checked strictly (spec §13)', () => {
  const signed = (overrides: Record<string, string> = {}) =>
    signFields(
      {
        ret_code: '0000',
        oid_partner: MERCHANT,
        no_order: 'PO1',
        dt_order: '20260102003000',
        money_order: '100.00',
        result_pay: 'SUCCESS',
        settle_date: '20260102',
        ...overrides,
      },
      { signType: 'MD5', md5Key: MD5_KEY },
    );

  it.each([
    ['dt_order', '2026010200300'],
    ['dt_order', '20260102003000&x=1'],
    ['settle_date', '2026-01-02'],
    ['settle_date', '20260102&no_order=PO2'],
    ['money_order', '100.00&no_order=PO2'],
    ['oid_partner', `${MERCHANT}&x=y`],
    ['no_order', 'PO1&money_order=1.00'],
    ['no_order', 'PO 1'],
    ['result_pay', 'SUCCESS&settle_date=20260102'],
    ['result_pay', 'SUCCESS '],
    ['result_pay', 'success'],
    ['result_pay', 'X'.repeat(33)],
  ])('refuses %s = %j in a notification and in a query answer', (field, value) => {
    const message = signed({ [field]: value });
    expect(fieldsOf(errorsOf(notificationSchema, message))).toEqual([field]);
    expect(fieldsOf(errorsOf(queryResultSchema, message))).toEqual([field]);
  });

  it('an unknown but well-formed result_pay still passes, for the core to keep open and alarm (spec §8)', () => {
    expect(notificationSchema.safeParse(signed({ result_pay: 'REFUND_PENDING' })).success).toBe(true);
    expect(queryResultSchema.safeParse(signed({ result_pay: 'REFUND_PENDING' })).success).toBe(true);
  });

  it('an empty optional dt_order or settle_date counts as absent (empty values are never signed)', () => {
    expect(notificationSchema.safeParse(signed({ settle_date: '', dt_order: '' })).success).toBe(true);
    const { settle_date: _s, dt_order: _d, ...without } = signed();
    expect(queryResultSchema.safeParse(without).success).toBe(true);
  });

  it('the apply answer: oid_partner and no_order, where present, have their formats', () => {
    expect(fieldsOf(errorsOf(applyResponseSchema, { ret_code: '0000', no_order: 'PO1&x=y' }))).toEqual([
      'no_order',
    ]);
    expect(fieldsOf(errorsOf(applyResponseSchema, { ret_code: '0000', oid_partner: '1' }))).toEqual([
      'oid_partner',
    ]);
    expect(applyResponseSchema.safeParse({ ret_code: '5503', no_order: '' }).success).toBe(true);
  });
});

describe('balance schemas (spec §11)', () => {
  const signedAnswer = (overrides: Record<string, string> = {}): Record<string, string> => ({
    ret_code: '0000',
    ret_msg: '交易成功',
    amt_balance: '1234.50',
    amt_unsettle: '0.00',
    sign_type: 'RSA',
    sign: 'c2lnbg==',
    ...overrides,
  });

  it('balanceRequestSchema takes exactly oid_partner, sign_type, sign and api_version 1.0 or 1.1', () => {
    const request = { oid_partner: MERCHANT, sign_type: 'RSA', sign: 'c2lnbg==', api_version: '1.0' };
    expect(balanceRequestSchema.safeParse(request).success).toBe(true);
    expect(balanceRequestSchema.safeParse({ ...request, api_version: '1.1' }).success).toBe(true);
    expect(balanceRequestSchema.safeParse({ ...request, api_version: '1.2' }).success).toBe(false);
    expect(balanceRequestSchema.safeParse({ ...request, no_order: 'X1' }).success).toBe(false);
    const { api_version: _dropped, ...withoutVersion } = request;
    expect(balanceRequestSchema.safeParse(withoutVersion).success).toBe(false);
  });

  it('balanceAnswerSchema accepts a zero balance and unknown extra fields', () => {
    expect(balanceAnswerSchema.safeParse(signedAnswer({ amt_balance: '0.00' })).success).toBe(true);
    expect(balanceAnswerSchema.safeParse(signedAnswer({ acct_state: '0' })).success).toBe(true);
  });

  it.each([
    ['amt_balance', '1234.5'],
    ['amt_balance', '1.0E7'],
    ['amt_balance', ''],
    ['amt_unsettle', '-1.00'],
    ['amt_unsettle', '0'],
    ['ret_msg', 'ok&amt_balance=99.00'],
    ['oid_partner', '2018'],
  ])('balanceAnswerSchema refuses %s = %j', (field, value) => {
    const result = balanceAnswerSchema.safeParse(signedAnswer({ [field]: value }));
    expect(result.success).toBe(false);
    expect(result.error && fieldErrors(result.error).map((e) => e.field)).toContain(field);
  });

  it('balanceAnswerSchema refuses an answer without either figure (no balance is not zero)', () => {
    for (const missing of ['amt_balance', 'amt_unsettle']) {
      const { [missing]: _gone, ...rest } = signedAnswer();
      expect(balanceAnswerSchema.safeParse(rest).success).toBe(false);
    }
  });
});
