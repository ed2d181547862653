import { describe, expect, it } from 'vitest';
import { csvField, csvHeader, csvLine, EXPORT_COLUMNS } from '../../../src/core/export';
import { toListView } from '../../../src/core/search';
import { makeOrder } from '../../support/order-fixtures';

describe('CSV export lines', () => {
  it('has the columns of the issue, in order', () => {
    expect(csvHeader()).toBe(
      'no_order,batch_id,created_at,updated_at,status,money_order,card_no_masked,acct_name_masked,oid_paybill,settle_date,ret_code,memo,created_by,approved_by',
    );
    expect(EXPORT_COLUMNS).toHaveLength(14);
  });

  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField('plain')).toBe('plain');
  });

  it('defuses spreadsheet formulas in text fields', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('writes masked data only: never the sealed payee', () => {
    const order = makeOrder({ memo: 'bank, memo', batch_id: 'B1', created_by: 'local:alice' });
    const line = csvLine(toListView(order));
    expect(line).toContain(order.card_no_masked);
    expect(line).toContain('"bank, memo"');
    expect(line).not.toContain(order.payee_sealed);
    expect(line.split(',')[1]).toBe('B1');
  });
});
