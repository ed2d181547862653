import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePayoutRequest } from '../../../src/core/request';
import { SIGN_DELIMITER_MESSAGE } from '../../../src/lianlian/messages';

/** A valid personal request; card number obviously fake. */
const personal = (overrides: Record<string, unknown> = {}) => ({
  no_order: 'PO20260102003000A1',
  money_order: '7.5',
  card_no: '6222000000000000',
  acct_name: '张三',
  flag_card: '0',
  info_order: '佣金结算',
  ...overrides,
});

const FREE_TEXT = ['info_order', 'acct_name', 'brabank_name', 'platform'] as const;

/** Any string holding at least one `&` or `=`, short enough for every free-text field's length limit. */
const withDelimiter = fc
  .tuple(fc.string({ maxLength: 10 }), fc.constantFrom('&', '='), fc.string({ maxLength: 10 }))
  .map(([a, d, b]) => `${a}${d}${b}`)
  .filter((v) => v.trim() === v);

describe('parsePayoutRequest: free text may not hold "&" or "=" (defect 3, spec §13)', () => {
  it.each([
    ['info_order', 'x&no_order=B'],
    ['info_order', '工资 & 奖金'],
    ['acct_name', '张三&card_no=6222000000000001'],
    ['brabank_name', '上海分行=营业部'],
    ['platform', 'shop=1'],
  ])('refuses %s = %j with a clear error naming the field', (field, value) => {
    expect(parsePayoutRequest(personal({ [field]: value }))).toEqual({
      ok: false,
      errors: [{ field, message: SIGN_DELIMITER_MESSAGE }],
    });
  });

  it('property: any value with "&" or "=" in any free-text field is refused, naming that field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FREE_TEXT), withDelimiter, (field, value) => {
        const parsed = parsePayoutRequest(personal({ [field]: value }));
        expect(parsed.ok).toBe(false);
        expect(!parsed.ok && parsed.errors.map((e) => e.field)).toContain(field);
      }),
    );
  });

  it('accepts the same text without the delimiters, unchanged (nothing is rewritten)', () => {
    const parsed = parsePayoutRequest(
      personal({ info_order: '工资 and 奖金 100%', platform: 'shop-1', brabank_name: '上海分行营业部' }),
    );
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.request.info_order).toBe('工资 and 奖金 100%');
    expect(parsed.ok && parsed.request.optional).toEqual({
      platform: 'shop-1',
      brabank_name: '上海分行营业部',
    });
  });
});

describe('parsePayoutRequest: the shared field formats keep their merchant-facing messages', () => {
  it.each([
    ['bank_code', { flag_card: '1', bank_code: '0102', prcptcd: '102100099996' }, 'must be 8 digits'],
    ['province_code', { province_code: '31' }, 'must be a 6-digit area code'],
    ['city_code', { city_code: 'abcdef' }, 'must be a 6-digit area code'],
    ['prcptcd', { prcptcd: '1'.repeat(13) }, 'must be at most 12 digits'],
    ['brabank_name', { brabank_name: '' }, 'must not be empty'],
    ['brabank_name', { brabank_name: '行'.repeat(101) }, 'must be at most 100 characters'],
    ['platform', { platform: 'p'.repeat(33) }, 'must be at most 32 characters'],
    ['acct_name', { acct_name: ' 张三' }, 'must not start or end with spaces'],
    ['info_order', { info_order: 'x'.repeat(256) }, 'must be at most 255 characters'],
  ])('%s: %j → %j', (field, overrides, message) => {
    expect(parsePayoutRequest(personal(overrides))).toEqual({ ok: false, errors: [{ field, message }] });
  });

  it('names every bad field in one answer, corporate rules included', () => {
    const parsed = parsePayoutRequest(personal({ flag_card: '1', info_order: 'a=b', platform: '&' }));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.errors.map((e) => e.field).sort()).toEqual(
      ['bank_code', 'brabank_name', 'city_code', 'info_order', 'platform', 'province_code'].sort(),
    );
  });
});
