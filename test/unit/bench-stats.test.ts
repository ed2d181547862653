import { describe, expect, it } from 'vitest';
import { itemSizeBytes, strongReadUnitsFor, writeUnitsFor } from '../../bench/item-size';
import { parseOpensslSpeed } from '../../bench/sign';
import {
  markdownTable,
  maxInWindow,
  median,
  mulberry32,
  percentile,
  rateOverSpan,
  textTable,
} from '../../bench/stats';

describe('bench statistics helpers', () => {
  it('percentile is nearest-rank: a value that was really observed', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(percentile(samples, 50)).toBe(3);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile(samples, 100)).toBe(5);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99);
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('median averages the middle pair of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('rateOverSpan counts intervals, not events', () => {
    // 51 events 20 ms apart span exactly one second: 50 per second, not 51.
    const times = Array.from({ length: 51 }, (_, i) => 1_000 + i * 20);
    expect(rateOverSpan(times)).toBeCloseTo(50, 10);
    expect(rateOverSpan([1])).toBe(0);
  });

  it('maxInWindow finds the busiest half-open window', () => {
    // [100, 1100) holds 100, 999, 1000 and 1001; 0 and 1000 never share a window.
    expect(maxInWindow([0, 100, 999, 1000, 1001], 1000)).toBe(4);
    expect(maxInWindow([0, 1000], 1000)).toBe(1);
    expect(maxInWindow([], 1000)).toBe(0);
  });

  it('mulberry32 repeats from a seed and stays in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('tables pad and escape', () => {
    expect(textTable(['a', 'bb'], [['xxx', 'y']])).toBe('a    bb\n---  --\nxxx  y');
    expect(markdownTable(['k'], [['a|b']])).toBe('| k |\n| --- |\n| a\\|b |');
  });
});

describe('openssl speed parsing', () => {
  it('reads sign/s and verify/s of the rsa 1024 row (OpenSSL 3.0 layout)', () => {
    const out = [
      'Doing 1024 bits private rsa sign ops for 3s: 42000 1024 bits private RSA sign ops in 3.00s',
      '                  sign    verify    sign/s verify/s',
      'rsa 1024 bits 0.000071s 0.000004s  14016.8 243554.1',
    ].join('\n');
    expect(parseOpensslSpeed(out)).toMatchObject({ signPerSecond: 14016.8, verifyPerSecond: 243554.1 });
  });

  it('matches columns from the right when encrypt/decrypt columns are present (OpenSSL 3.2+)', () => {
    const out = [
      '                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s',
      'rsa  1024 bits 0.000070s 0.000004s 0.000004s 0.000069s  14285.7 250000.0 245000.0  14400.0',
    ].join('\n');
    expect(parseOpensslSpeed(out)).toMatchObject({ signPerSecond: 14285.7, verifyPerSecond: 250000 });
  });

  it('fails loudly on output it does not understand', () => {
    expect(() => parseOpensslSpeed('nothing here')).toThrow(/rsa 1024/);
  });
});

describe('DynamoDB item size', () => {
  it('counts names and values by the billing rules', () => {
    // "no_order"(8) + "A1"(2) + "v"(1) + number 12345 (3 significant-digit pairs + 1 = 4)
    expect(itemSizeBytes({ no_order: { S: 'A1' }, v: { N: '12345' } })).toBe(8 + 2 + 1 + 4);
    // Chinese: 3 bytes per character.
    expect(itemSizeBytes({ n: { S: '张三' } })).toBe(1 + 6);
    // list: 3 + per element (1 + size)
    expect(itemSizeBytes({ l: { L: [{ S: 'ab' }, { BOOL: true }] } })).toBe(1 + 3 + (1 + 2) + (1 + 1));
  });

  it('rounds units up per started KB', () => {
    expect(writeUnitsFor(1024)).toBe(1);
    expect(writeUnitsFor(1025)).toBe(2);
    expect(strongReadUnitsFor(4096)).toBe(1);
    expect(strongReadUnitsFor(4097)).toBe(2);
  });
});
