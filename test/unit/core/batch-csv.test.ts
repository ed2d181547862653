import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvLine, parseCsv } from '../../../src/core/batch-csv';
import { BatchValidationError, parseBatch } from '../../../src/core/batch-input';
import { NO_CONTROLS } from '../../../src/core/controls';

const HEADER = 'no_order,money_order,card_no,acct_name,flag_card,info_order';
const CARD = '6222020000000000123';

function rows(...lines: string[]): string {
  return [HEADER, ...lines].join('\r\n');
}

function errorsOf(fn: () => unknown): { row: number; field: string; message: string; line?: number }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof BatchValidationError) return [...error.fields];
    throw error;
  }
  throw new Error('expected a BatchValidationError');
}

describe('parseCsv (RFC 4180, strict)', () => {
  it('reads quoted fields with commas, doubled quotes and newlines, CRLF and LF mixed', () => {
    const parsed = parseCsv('a,"b,c","say ""hi""","two\r\nlines"\nx,y,,"z"\r\n');
    expect(parsed).toEqual({
      ok: true,
      records: [
        { line: 1, fields: ['a', 'b,c', 'say "hi"', 'two\r\nlines'] },
        { line: 3, fields: ['x', 'y', '', 'z'] },
      ],
    });
  });

  it('drops a BOM and skips empty lines, keeping physical line numbers', () => {
    const parsed = parseCsv('\uFEFFh1,h2\n\n\r\nv1,v2\n\n');
    expect(parsed).toEqual({
      ok: true,
      records: [
        { line: 1, fields: ['h1', 'h2'] },
        { line: 4, fields: ['v1', 'v2'] },
      ],
    });
  });

  it.each([
    ['a,b"c\n', 1, 'a quote inside an unquoted field'],
    ['a,"b"c\n', 1, 'characters after a closing quote'],
    ['a\nb,"open\n', 2, 'a quoted field is not closed'],
    ['a\rb\n', 1, 'a carriage return without a line feed'],
  ])('refuses %j (line %i)', (text, line, message) => {
    expect(parseCsv(text)).toEqual({ ok: false, line, message });
  });

  it('reads back whatever csvLine writes (property)', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'Z', '9', ',', '"', '\r', '\n', ' ', '张', '-') });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        (table) => {
          const text = table.map((r) => csvLine(r)).join('');
          const parsed = parseCsv(text);
          expect(parsed.ok).toBe(true);
          if (parsed.ok) expect(parsed.records.map((r) => r.fields)).toEqual(table);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseBatch', () => {
  it('accepts a CSV with a BOM, Chinese names, quoted commas and an empty optional column', () => {
    const text = `\uFEFF${HEADER},bank_code\r\nB1,10.5,${CARD},张三,0,"salary, Nov",\r\n\r\nB2,"7",${CARD},"李""四",0,bonus,01020000\r\n`;
    const parsed = parseBatch('b1', { kind: 'csv', text }, NO_CONTROLS);
    expect(parsed.requests.map((r) => [r.no_order, r.money_fen, r.payee.acct_name, r.info_order])).toEqual([
      ['B1', 1050, '张三', 'salary, Nov'],
      ['B2', 700, '李"四', 'bonus'],
    ]);
    expect(parsed.requests[1]?.optional).toEqual({ bank_code: '01020000' });
    expect(parsed.requests[0]?.optional).toEqual({});
  });

  it('reports every bad row at once, rows counted from 1 after the header, with lines', () => {
    const text = rows(
      `A1,10.00,${CARD},张三,0,ok`,
      `A2,abc,12x,张三,0,ok`,
      `A1,1.00,${CARD},张三,0,dup`,
      `A4,1.00,${CARD},张三,0`,
    );
    const errors = errorsOf(() => parseBatch('b', { kind: 'csv', text }, NO_CONTROLS));
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 2, field: 'money_order', line: 3 }),
        expect.objectContaining({ row: 2, field: 'card_no', line: 3 }),
        { row: 3, field: 'no_order', message: 'repeats row 1 of this batch', line: 4 },
        { row: 4, field: '(row)', message: 'has 5 cells, the header has 6', line: 5 },
      ]),
    );
    expect(errors.some((e) => e.row === 1)).toBe(false);
  });

  it('refuses an unknown or repeated header column', () => {
    const errors = errorsOf(() =>
      parseBatch('b', { kind: 'csv', text: `${HEADER},amount,card_no\r\n` }, NO_CONTROLS),
    );
    expect(errors).toEqual([
      { row: 0, field: 'amount', message: 'is not a known column', line: 1 },
      { row: 0, field: 'card_no', message: 'appears twice in the header', line: 1 },
    ]);
  });

  it('refuses more than 5000 rows without validating them', () => {
    const body = Array.from({ length: 5001 }, (_, i) => `N${i},1.00,${CARD},张三,0,x`);
    const errors = errorsOf(() => parseBatch('b', { kind: 'csv', text: rows(...body) }, NO_CONTROLS));
    expect(errors).toEqual([{ row: 0, field: 'items', message: 'at most 5000 items (got 5001)' }]);
  });

  it('refuses an empty file and a file with only a header', () => {
    expect(errorsOf(() => parseBatch('b', { kind: 'csv', text: '' }, NO_CONTROLS))[0]?.message).toBe(
      'the file is empty',
    );
    expect(errorsOf(() => parseBatch('b', { kind: 'csv', text: HEADER }, NO_CONTROLS))[0]?.message).toBe(
      'the batch has no items',
    );
  });

  it('names a broken quote by its line', () => {
    const errors = errorsOf(() =>
      parseBatch('b', { kind: 'csv', text: rows(`A1,"1.00,${CARD}`) }, NO_CONTROLS),
    );
    expect(errors).toEqual([
      { row: 0, field: '(csv)', message: 'line 2: a quoted field is not closed', line: 2 },
    ]);
  });

  it('validates JSON items with 1-based rows and refuses rows over PAYOUT_MAX_AMOUNT', () => {
    const item = (no: string, money: string) => ({
      no_order: no,
      money_order: money,
      card_no: CARD,
      acct_name: '张三',
      flag_card: '0',
      info_order: 'x',
    });
    const errors = errorsOf(() =>
      parseBatch(
        'b',
        { kind: 'json', value: { items: [item('J1', '5.00'), item('J2', '500.00'), 'nope'] } },
        { ...NO_CONTROLS, payoutMaxFen: 10_000 },
      ),
    );
    expect(errors).toEqual([
      { row: 2, field: 'money_order', message: 'is over the payout maximum (100.00)' },
      { row: 3, field: '(body)', message: 'must be a JSON object' },
    ]);
    expect(errorsOf(() => parseBatch('b', { kind: 'json', value: { items: 'x' } }, NO_CONTROLS))).toEqual([
      { row: 0, field: 'items', message: 'must be an array of payouts' },
    ]);
  });

  it('digests row order: the same rows in another order are other content', () => {
    const a = `A1,1.00,${CARD},张三,0,x`;
    const b = `A2,2.00,${CARD},张三,0,y`;
    const one = parseBatch('b', { kind: 'csv', text: rows(a, b) }, NO_CONTROLS).digest;
    expect(parseBatch('b', { kind: 'csv', text: `${rows(a, b)}\n` }, NO_CONTROLS).digest).toBe(one);
    expect(parseBatch('b', { kind: 'csv', text: rows(b, a) }, NO_CONTROLS).digest).not.toBe(one);
  });
});
