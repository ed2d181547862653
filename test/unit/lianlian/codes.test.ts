import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyRetCode,
  isResultPay,
  RESULT_PAY,
  RET_CODES,
  type RetCodeConclusion,
} from '../../../src/lianlian/codes';

/** Spec §7, transcribed by hand from the table: code → what the merchant may conclude. */
const SPEC_SECTION_7: Record<string, RetCodeConclusion> = {
  '0000': 'accepted',
  '1001': 'rejected',
  '1002': 'unknown',
  '1004': 'rejected',
  '1005': 'rejected',
  '1008': 'rejected',
  '1009': 'rejected',
  '1012': 'rejected',
  '2005': 'unknown',
  '3001': 'rejected',
  '5501': 'rejected',
  '5502': 'rejected',
  '5503': 'rejected',
  '5504': 'rejected',
  '5505': 'rejected',
  '8901': 'not_found',
  '9104': 'rejected',
  '9910': 'rejected',
  '9911': 'rejected',
  '9912': 'rejected',
  '9913': 'rejected',
  '9999': 'unknown',
};

describe('classifyRetCode', () => {
  it.each(Object.entries(SPEC_SECTION_7))('%s → %s (spec §7)', (code, conclusion) => {
    const info = classifyRetCode(code);
    expect(info.conclusion).toBe(conclusion);
    expect(info.known).toBe(true);
    expect(info.meaning.length).toBeGreaterThan(0);
  });

  it('the catalogue holds exactly the spec §7 codes', () => {
    expect(Object.keys(RET_CODES).sort()).toEqual(Object.keys(SPEC_SECTION_7).sort());
  });

  it('never concludes "rejected" for the double-payout codes (trap §10.9)', () => {
    for (const code of ['1002', '2005', '9999']) {
      expect(classifyRetCode(code).conclusion).toBe('unknown');
    }
  });

  it.each([
    '7777',
    '0001',
    '1003',
    '9914',
    '',
    '000',
    '00000',
    'abcd',
    ' 0000',
    '0000 ',
    'toString',
    '__proto__',
  ])('an unlisted code %j → unknown, known=false', (code) => {
    expect(classifyRetCode(code)).toEqual({
      conclusion: 'unknown',
      meaning: expect.any(String),
      known: false,
    });
  });

  it('property: any string outside the catalogue is unknown and unknown-to-us', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !Object.hasOwn(SPEC_SECTION_7, s)),
        (code) => {
          const info = classifyRetCode(code);
          expect(info.conclusion).toBe('unknown');
          expect(info.known).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('result_pay', () => {
  it.each([
    ['SUCCESS', true],
    ['FAILURE', true],
    ['CANCEL', true],
    ['WAITING', false],
    ['PROCESSING', false],
  ] as const)('%s final=%s (spec §8)', (value, final) => {
    expect(isResultPay(value)).toBe(true);
    expect(RESULT_PAY[value].final).toBe(final);
  });

  it('knows exactly the five spec §8 values', () => {
    expect(Object.keys(RESULT_PAY).sort()).toEqual(['CANCEL', 'FAILURE', 'PROCESSING', 'SUCCESS', 'WAITING']);
  });

  it.each([
    'success',
    'Success',
    '',
    ' SUCCESS',
    'SUCCESS ',
    'PAID',
    'REFUND',
    'toString',
    'hasOwnProperty',
    '__proto__',
  ])('isResultPay rejects %j', (value) => {
    expect(isResultPay(value)).toBe(false);
  });
});
