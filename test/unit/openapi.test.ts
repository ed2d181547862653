import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApi, OPENAPI_PATH } from '../../scripts/openapi';
import { parsePayoutRequest } from '../../src/core/request';
import { PAYOUT_STATUSES } from '../../src/core/status';
import { PAYOUT_VIEW_FIELDS, toView } from '../../src/core/view';
import { makeOrder } from '../support/order-fixtures';

describe('docs/openapi.json', () => {
  const committed = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
  const doc = buildOpenApi() as {
    paths: Record<string, unknown>;
    components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> };
  };

  it('is what the code generates (run `npm run openapi` after changing the API)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('describes exactly the fields the request validator accepts, and requires the ones it requires', () => {
    const schema = doc.components.schemas.PayoutRequest!;
    const minimal = {
      no_order: 'A1',
      money_order: '1',
      card_no: '6222000000000000',
      acct_name: '测试',
      flag_card: '0',
      info_order: 'x',
    };
    expect(parsePayoutRequest(minimal).ok).toBe(true);
    expect([...schema.required].sort()).toEqual(Object.keys(minimal).sort());
    for (const field of schema.required) {
      const { [field]: _dropped, ...rest } = minimal as Record<string, string>;
      expect(parsePayoutRequest(rest).ok).toBe(false);
    }
    const unknown = parsePayoutRequest({ ...minimal, not_in_the_doc: 'x' });
    expect(unknown.ok).toBe(false);
    expect(Object.keys(schema.properties)).not.toContain('not_in_the_doc');
  });

  it('describes exactly the fields of the payout view and every status', () => {
    const view = doc.components.schemas.PayoutView!;
    expect(Object.keys(view.properties).sort()).toEqual([...PAYOUT_VIEW_FIELDS].sort());
    expect(Object.keys(toView(makeOrder())).sort()).toEqual([...PAYOUT_VIEW_FIELDS].sort());
    expect((view.properties.status as { enum: string[] }).enum).toEqual([...PAYOUT_STATUSES]);
  });

  it('lists the routes, including the approvals list and the second person’s decisions', () => {
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/balance',
      '/batches/{batch_id}',
      '/batches/{batch_id}/approve',
      '/batches/{batch_id}/deny',
      '/batches/{batch_id}/items',
      '/batches/{batch_id}/report.csv',
      '/batches/{batch_id}/void',
      '/close/{date}',
      '/exceptions',
      '/lianlian/notify',
      '/payouts',
      '/payouts/export.csv',
      '/payouts/{no_order}',
      '/payouts/{no_order}/anomalies/ack',
      '/payouts/{no_order}/approve',
      '/payouts/{no_order}/deny',
      '/payouts/{no_order}/void',
    ]);
    const payouts = doc.paths['/payouts'] as Record<string, { responses: Record<string, unknown> }>;
    expect(Object.keys(payouts.post?.responses ?? {})).toEqual(expect.arrayContaining(['403', '422']));
    expect(Object.keys(payouts)).toEqual(expect.arrayContaining(['get', 'post']));
  });
});
