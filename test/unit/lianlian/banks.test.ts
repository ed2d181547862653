import { describe, expect, it } from 'vitest';
import { BANK_CODES, lookupBank } from '../../../src/lianlian/banks';

describe('bank codes (spec §9)', () => {
  it('every code is 8 digits and every entry has an abbreviation and a Chinese name', () => {
    for (const [code, info] of Object.entries(BANK_CODES)) {
      expect(code).toMatch(/^[0-9]{8}$/);
      expect(info.abbr).toMatch(/^[A-Z]+$/);
      expect(info.name).toMatch(/银行$/);
    }
  });

  it.each([
    ['01020000', 'ICBC', '工商银行'],
    ['01000000', 'PSBC', '邮储银行'],
    ['03080000', 'CMB', '招商银行'],
    ['04031000', 'BOB', '北京银行'],
  ])('%s is %s %s', (code, abbr, name) => {
    expect(lookupBank(code)).toMatchObject({ abbr, name });
    expect(lookupBank(code)?.singleSource).toBeUndefined();
  });

  it('marks exactly the three single-source codes', () => {
    const single = Object.entries(BANK_CODES)
      .filter(([, info]) => info.singleSource)
      .map(([code]) => code)
      .sort();
    expect(single).toEqual(['04083320', '04243010', '64296510']);
    expect(Object.keys(BANK_CODES)).toHaveLength(22);
  });

  it('an unlisted or malformed code is simply not found', () => {
    expect(lookupBank('99999999')).toBeUndefined();
    expect(lookupBank('0102000')).toBeUndefined();
    expect(lookupBank('toString')).toBeUndefined();
  });
});
