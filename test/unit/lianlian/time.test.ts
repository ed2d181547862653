import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDtOrder, formatSettleDate, isValidSettleDate, parseDtOrder } from '../../../src/lianlian/time';

// [instant (UTC), dt_order in UTC+8, settle_date in UTC+8]
const VECTORS: ReadonlyArray<readonly [string, string, string]> = [
  ['2026-01-01T16:30:00Z', '20260102003000', '20260102'],
  ['2026-01-01T16:30:00.999Z', '20260102003000', '20260102'],
  ['2026-01-01T15:59:59Z', '20260101235959', '20260101'],
  ['2026-01-01T16:00:00Z', '20260102000000', '20260102'],
  ['2025-12-31T16:00:00Z', '20260101000000', '20260101'],
  ['2025-12-31T15:59:59Z', '20251231235959', '20251231'],
  ['2024-02-28T16:00:00Z', '20240229000000', '20240229'],
  ['2026-03-08T07:30:00Z', '20260308153000', '20260308'], // US daylight-saving switch
  ['2026-11-01T06:30:00Z', '20261101143000', '20261101'], // US daylight-saving end
  ['2026-06-30T23:59:59Z', '20260701075959', '20260701'],
  ['1970-01-01T00:00:00Z', '19700101080000', '19700101'],
];

describe('formatDtOrder / formatSettleDate (UTC+8)', () => {
  it.each(VECTORS)('%s → %s / %s', (iso, dt, settle) => {
    const date = new Date(iso);
    expect(formatDtOrder(date)).toBe(dt);
    expect(formatSettleDate(date)).toBe(settle);
    expect(formatDtOrder(date)).toMatch(/^\d{14}$/);
  });

  it('does not mutate its argument', () => {
    const date = new Date('2026-01-01T16:30:00Z');
    formatDtOrder(date);
    formatSettleDate(date);
    expect(date.toISOString()).toBe('2026-01-01T16:30:00.000Z');
  });
});

describe('parseDtOrder', () => {
  it.each(VECTORS)('inverts %s', (iso, dt) => {
    const expected = Math.floor(new Date(iso).getTime() / 1000) * 1000;
    expect(parseDtOrder(dt)?.getTime()).toBe(expected);
  });

  it('reads the stamp as China time, not UTC or host time', () => {
    expect(parseDtOrder('20260102003000')?.toISOString()).toBe('2026-01-01T16:30:00.000Z');
    expect(parseDtOrder('20240229000000')?.toISOString()).toBe('2024-02-28T16:00:00.000Z');
  });

  it.each([
    '20260231120000', // 31 February
    '20250229000000', // not a leap year
    '20261301000000', // month 13
    '20260001000000', // month 0
    '20260100000000', // day 0
    '20260132000000', // day 32
    '20260101240000', // hour 24
    '20260101126000', // minute 60
    '20260101120060', // second 60
    '2026-01-02 00:30:00',
    '2026-01-02T00:30:00',
    '20260102 003000',
    '2026010200300', // 13 digits
    '202601020030000', // 15 digits
    '',
    '２０２６０１０２００３０００', // fullwidth digits
    '20260102003000\n',
    ' 20260102003000',
  ])('rejects %j', (value) => {
    expect(parseDtOrder(value)).toBeUndefined();
  });

  it('property: parseDtOrder(formatDtOrder(d)) is d truncated to the second', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1000-01-02T00:00:00Z'),
          max: new Date('9999-12-30T00:00:00Z'),
          noInvalidDate: true,
        }),
        (d) => {
          const parsed = parseDtOrder(formatDtOrder(d));
          expect(parsed?.getTime()).toBe(Math.floor(d.getTime() / 1000) * 1000);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: any 14-digit string is either refused or parses to a date that formats back to it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^[0-9]{14}$/),
          fc
            .tuple(
              fc.integer({ min: 1970, max: 2099 }),
              fc.integer({ min: 0, max: 13 }),
              fc.integer({ min: 0, max: 32 }),
              fc.integer({ min: 0, max: 24 }),
              fc.integer({ min: 0, max: 60 }),
              fc.integer({ min: 0, max: 60 }),
            )
            .map((parts) => parts.map((n, i) => n.toString().padStart(i === 0 ? 4 : 2, '0')).join('')),
        ),
        (value) => {
          const parsed = parseDtOrder(value);
          if (parsed !== undefined) expect(formatDtOrder(parsed)).toBe(value);
          const [mo, d, h, mi, s] = [4, 6, 8, 10, 12].map((i) => Number(value.slice(i, i + 2)));
          if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 59) {
            expect(parsed).toBeUndefined();
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('isValidSettleDate', () => {
  it.each(['20260102', '20240229', '20261231', '19700101'])('accepts %j', (v) => {
    expect(isValidSettleDate(v)).toBe(true);
  });
  it.each(['20260230', '20250229', '20261301', '20260100', '2026-01-02', '2026010', '202601021', ''])(
    'rejects %j',
    (v) => {
      expect(isValidSettleDate(v)).toBe(false);
    },
  );
});

describe('independence from the host time zone', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const moduleUrl = pathToFileURL(
    fileURLToPath(new URL('../../../src/lianlian/time.ts', import.meta.url)),
  ).href;
  const code = `
    const t = await import(${JSON.stringify(moduleUrl)});
    const instants = ${JSON.stringify(VECTORS.map(([iso]) => iso))};
    const out = instants.map((iso) => {
      const d = new Date(iso);
      return [t.formatDtOrder(d), t.formatSettleDate(d), t.parseDtOrder(t.formatDtOrder(d))?.toISOString()];
    });
    // Proof that the zone really differs between the two children.
    const hostOffset = new Date('2026-01-15T00:00:00Z').getTimezoneOffset();
    process.stdout.write(JSON.stringify({ hostOffset, out }));
  `;
  const run = (tz: string) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: root,
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      }),
    ) as { hostOffset: number; out: string[][] };

  it('gives identical output under TZ=America/New_York and TZ=Asia/Shanghai (and in this process)', () => {
    const ny = run('America/New_York');
    const sh = run('Asia/Shanghai');
    expect(ny.hostOffset).toBe(300);
    expect(sh.hostOffset).toBe(-480);
    expect(ny.out).toEqual(sh.out);
    const here = VECTORS.map(([iso]) => {
      const d = new Date(iso);
      return [formatDtOrder(d), formatSettleDate(d), parseDtOrder(formatDtOrder(d))?.toISOString()];
    });
    expect(sh.out).toEqual(here);
    expect(sh.out.map((row) => row.slice(0, 2))).toEqual(VECTORS.map(([, dt, settle]) => [dt, settle]));
  }, 20_000);
});
