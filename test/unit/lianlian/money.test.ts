import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatFen,
  MAX_BALANCE_FEN,
  MAX_FEN,
  parseCallerAmount,
  parseWireAmount,
  parseWireBalance,
} from '../../../src/lianlian/money';

describe('parseCallerAmount', () => {
  it.each([
    ['7.5', 750],
    ['7.50', 750],
    ['100', 10000],
    ['0.01', 1],
    ['0.1', 10],
    ['1', 100],
    ['12.34', 1234],
    ['100000000.00', 10_000_000_000],
    ['100000000', 10_000_000_000],
    ['99999999.99', 9_999_999_999],
  ])('%j → %d fen', (input, fen) => {
    expect(parseCallerAmount(input)).toEqual({ ok: true, fen });
  });

  it.each([
    '-1',
    '-0.01',
    '+1',
    '0',
    '0.00',
    '0.0',
    '1.234',
    '1e3',
    '1E3',
    '1.0E7',
    ' 1',
    '1 ',
    '1\n',
    '01',
    '00.01',
    '1.',
    '.5',
    '',
    '100000000.01',
    '100000001',
    '999999999.99',
    '1000000000',
    'NaN',
    'Infinity',
    '１', // fullwidth digit one
    '１.００',
    '٣', // Arabic-Indic three
    '1,000.00',
    '1_000',
    '0x10',
    '12.5.0',
  ])('refuses %j', (input) => {
    const result = parseCallerAmount(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
  });

  it.each([[7.5], [750], [null], [undefined], [Number.NaN], [true], [{ amount: '1.00' }], [['1.00']], [10n]])(
    'refuses the non-string %s (JSON numbers arrive as floats)',
    (input) => {
      expect(parseCallerAmount(input)).toEqual({ ok: false, reason: expect.stringContaining('string') });
    },
  );
});

describe('parseWireAmount', () => {
  it.each([
    ['0.01', 1],
    ['7.50', 750],
    ['1234.50', 123450],
    ['100.00', 10000],
    ['100000000.00', 10_000_000_000],
  ])('%j → %d fen', (input, fen) => {
    expect(parseWireAmount(input)).toEqual({ ok: true, fen });
  });

  it.each([
    '7.5',
    '100',
    '12.5',
    '10.0',
    '1.0E7',
    '1.234',
    '0.00',
    '-1.00',
    '01.00',
    '100000000.01',
    ' 1.00',
    '1.00 ',
    '',
    'NaN',
    '１.００',
  ])('refuses %j (the wire always has exactly 2 decimals)', (input) => {
    expect(parseWireAmount(input).ok).toBe(false);
  });
});

describe('formatFen', () => {
  it.each([
    [1, '0.01'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [750, '7.50'],
    [123450, '1234.50'],
    [0, '0.00'],
    [10_000_000_000, '100000000.00'],
  ])('%d fen → %j', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  it.each([
    [0.5],
    [7.5],
    [-1],
    [-0.01],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [Number.MAX_SAFE_INTEGER + 1],
  ])('throws for %d', (fen) => {
    expect(() => formatFen(fen)).toThrow(RangeError);
  });

  it('property: round-trips through both parsers for every fen in 1..MAX_FEN', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_FEN }), (fen) => {
        const text = formatFen(fen);
        expect(text).toMatch(/^\d+\.\d{2}$/);
        expect(parseWireAmount(text)).toEqual({ ok: true, fen });
        expect(parseCallerAmount(text)).toEqual({ ok: true, fen });
      }),
      { numRuns: 1000 },
    );
  });

  it('property: small and boundary amounts round-trip too', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: MAX_FEN - 1000, max: MAX_FEN })),
        (fen) => {
          const text = formatFen(fen);
          expect(text).toMatch(/^\d+\.\d{2}$/);
          expect(parseWireAmount(text)).toEqual({ ok: true, fen });
          expect(parseCallerAmount(text)).toEqual({ ok: true, fen });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a caller amount with one decimal parses to the same fen as its two-decimal form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_FEN / 10 }), (tenths) => {
        const fen = tenths * 10;
        const twoDecimals = formatFen(fen);
        const oneDecimal = twoDecimals.slice(0, -1);
        expect(parseCallerAmount(oneDecimal)).toEqual({ ok: true, fen });
      }),
      { numRuns: 300 },
    );
  });

  it('property: amounts above MAX_FEN are refused by both parsers', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_FEN + 1, max: 99_999_999_999 }), (fen) => {
        const text = formatFen(fen);
        expect(parseWireAmount(text).ok).toBe(false);
        expect(parseCallerAmount(text).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseWireBalance (spec §11 amt_balance / amt_unsettle)', () => {
  it.each([
    ['0.00', 0],
    ['0.01', 1],
    ['1234.50', 123_450],
    // Above one payout's maximum: an account may hold more than 100,000,000.00.
    ['100000000.01', 10_000_000_001],
    ['9999999999999.99', MAX_BALANCE_FEN],
  ])('%j → %d fen', (input, fen) => {
    expect(parseWireBalance(input)).toEqual({ ok: true, fen });
  });

  it.each([
    '',
    '0',
    '0.0',
    '1.5',
    '1.234',
    '-1.00',
    '+1.00',
    '01.00',
    '1e3',
    '1.0E7',
    ' 1.00',
    '1,000.00',
    '10000000000000.00',
  ])('refuses %j', (input) => {
    expect(parseWireBalance(input)).toMatchObject({ ok: false });
  });

  it('property: formatFen and parseWireBalance round-trip every balance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_BALANCE_FEN }), (fen) => {
        expect(parseWireBalance(formatFen(fen))).toEqual({ ok: true, fen });
      }),
    );
  });
});
