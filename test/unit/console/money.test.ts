import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFen, sameAmount, toFen } from '../../../console/src/money';

/** The console's amounts (typed confirmation, overview sums) are integer fen, never floats. */
describe('console money', () => {
  it('reads yuan strings as integer fen and writes them back', () => {
    expect(toFen('1000')).toBe(100_000);
    expect(toFen('1000.5')).toBe(100_050);
    expect(toFen('0.01')).toBe(1);
    expect(toFen(' 12.30 ')).toBe(1230);
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 13 }), (fen) => toFen(formatFen(fen)) === fen));
  });

  it('refuses what is not a plain non-negative amount', () => {
    for (const bad of ['', '-1', '1e3', '1.234', '1,000', 'abc', '.5', '1.', '0x10', null, undefined]) {
      expect(toFen(bad), String(bad)).toBeUndefined();
    }
  });

  it('a typed amount confirms only the same value, however written', () => {
    expect(sameAmount('1000', '1000.00')).toBe(true);
    expect(sameAmount('1000.0', '1000.00')).toBe(true);
    expect(sameAmount('999.99', '1000.00')).toBe(false);
    expect(sameAmount('100', '1000.00')).toBe(false);
    expect(sameAmount('', '0.00')).toBe(false);
    // 0.1 + 0.2 style float drift cannot happen: sums are in fen.
    expect(formatFen((toFen('0.10') ?? 0) + (toFen('0.20') ?? 0))).toBe('0.30');
  });
});
