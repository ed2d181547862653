import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALL_PAYOUT_DETAIL_TYPES,
  eventsFromChange,
  PAYOUT_DETAIL_TYPES,
  PAYOUT_EVENT_SOURCE,
  type PayoutEventDetail,
} from '../../../src/core/events';
import type { HistoryEntry, PayoutOrder } from '../../../src/core/model';
import { createPayout, receiveNotification } from '../../../src/core/payouts';
import { isFinal, PAYOUT_STATUSES, type PayoutStatus } from '../../../src/core/status';
import { signFields } from '../../../src/lianlian/sign';
import { makeDeps, TEST_OID_PARTNER } from '../../support/fakes';
import { makeOrder } from '../../support/order-fixtures';

const AT = '2026-11-27T04:30:00.000Z';

/** The change `from` → `to` as the store writes it: version + 1, a history entry, the result fields. */
function transition(
  from: PayoutOrder,
  to: PayoutStatus,
  extra: Partial<PayoutOrder> = {},
): { old: PayoutOrder; next: PayoutOrder } {
  const entry: HistoryEntry = { at: AT, source: 'notify', from: from.status, to };
  return {
    old: from,
    next: {
      ...from,
      status: to,
      version: from.version + 1,
      updated_at: AT,
      history: [...from.history, entry],
      ...extra,
    },
  };
}

const base = makeOrder({ no_order: 'LLP2026112700001', status: 'PROCESSING', version: 4 });

describe('eventsFromChange: which changes produce events', () => {
  const table: [PayoutStatus, PayoutStatus, string | null][] = [
    // into a final status: one event
    ['ACCEPTED', 'SUCCESS', PAYOUT_DETAIL_TYPES.SUCCESS],
    ['PROCESSING', 'SUCCESS', PAYOUT_DETAIL_TYPES.SUCCESS],
    ['PENDING', 'SUCCESS', PAYOUT_DETAIL_TYPES.SUCCESS],
    ['WAITING', 'FAILURE', PAYOUT_DETAIL_TYPES.FAILURE],
    ['UNKNOWN', 'FAILURE', PAYOUT_DETAIL_TYPES.FAILURE],
    ['SUCCESS', 'CANCEL', PAYOUT_DETAIL_TYPES.CANCEL],
    ['PROCESSING', 'CANCEL', PAYOUT_DETAIL_TYPES.CANCEL],
    ['PENDING', 'REJECTED', PAYOUT_DETAIL_TYPES.REJECTED],
    ['UNKNOWN', 'REJECTED', PAYOUT_DETAIL_TYPES.REJECTED],
    // non-final transitions: nothing
    ['PENDING', 'ACCEPTED', null],
    ['PENDING', 'UNKNOWN', null],
    ['ACCEPTED', 'WAITING', null],
    ['WAITING', 'PROCESSING', null],
    ['UNKNOWN', 'PROCESSING', null],
  ];

  it.each(table)('%s → %s gives %s', (from, to, detailType) => {
    const { old, next } = transition({ ...base, status: from }, to);
    const events = eventsFromChange(old, next);
    if (detailType === null) {
      expect(events).toEqual([]);
      return;
    }
    expect(events).toHaveLength(1);
    expect(events[0]?.source).toBe(PAYOUT_EVENT_SOURCE);
    expect(events[0]?.detailType).toBe(detailType);
    expect(events[0]?.detail).toMatchObject({
      id: `${base.no_order}:${base.version + 1}`,
      status: to,
      previous_status: from,
    });
  });

  it('gives nothing for creation', () => {
    expect(eventsFromChange(undefined, makeOrder())).toEqual([]);
    // Even an order that somehow starts final is no transition.
    expect(eventsFromChange(undefined, makeOrder({ status: 'SUCCESS' }))).toEqual([]);
  });

  it('gives nothing for reconciliation bookkeeping or a write that leaves a final status as it was', () => {
    const open = { ...base, status: 'WAITING' as const };
    const bookkeeping = {
      ...open,
      version: open.version + 1,
      check_count: open.check_count + 1,
      next_check_at: '2026-11-27T05:00:00.000Z',
      updated_at: AT,
    };
    expect(eventsFromChange(open, bookkeeping)).toEqual([]);
    const final = { ...base, status: 'SUCCESS' as const };
    expect(eventsFromChange(final, { ...final, version: final.version + 1, updated_at: AT })).toEqual([]);
  });

  it('gives one Payout Anomaly per anomaly recorded, carrying what contradicted the order', () => {
    const old = {
      ...base,
      status: 'SUCCESS' as const,
      ret_code: '0000',
      result_pay: 'SUCCESS',
      anomalies: 0,
    };
    const entry: HistoryEntry = {
      at: AT,
      source: 'notify',
      from: 'SUCCESS',
      to: 'SUCCESS',
      result_pay: 'FAILURE',
      anomaly: 'FAILURE after SUCCESS',
    };
    const next = { ...old, version: old.version + 1, anomalies: 1, updated_at: AT, history: [entry] };
    const events = eventsFromChange(old, next);
    expect(events).toHaveLength(1);
    expect(events[0]?.detailType).toBe(PAYOUT_DETAIL_TYPES.anomaly);
    expect(events[0]?.detail).toEqual({
      id: `${base.no_order}:${next.version}`,
      no_order: base.no_order,
      status: 'SUCCESS',
      previous_status: 'SUCCESS',
      money_order: base.money_order,
      result_pay: 'FAILURE',
      anomaly: 'FAILURE after SUCCESS',
      occurred_at: AT,
    });
  });

  it('does not repeat an anomaly that an earlier write recorded', () => {
    const recorded = {
      ...base,
      anomalies: 1,
      history: [
        { at: AT, source: 'reconcile', from: 'PROCESSING', to: 'PROCESSING', anomaly: 'x' } as HistoryEntry,
      ],
    };
    const { old, next } = transition(recorded, 'PROCESSING');
    expect(eventsFromChange(old, next)).toEqual([]);
  });
});

describe('eventsFromChange: the detail', () => {
  it('has exactly the documented fields, with the provider result and the write time', () => {
    const { old, next } = transition(base, 'FAILURE', {
      ret_code: '0000',
      result_pay: 'FAILURE',
      oid_paybill: '2026112700000042',
      settle_date: '20261127',
      memo: '户名与卡号不符',
    });
    const [event] = eventsFromChange(old, next);
    const expected: PayoutEventDetail = {
      id: 'LLP2026112700001:5',
      no_order: 'LLP2026112700001',
      status: 'FAILURE',
      previous_status: 'PROCESSING',
      money_order: '10.00',
      ret_code: '0000',
      result_pay: 'FAILURE',
      oid_paybill: '2026112700000042',
      settle_date: '20261127',
      memo: '户名与卡号不符',
      occurred_at: AT,
    };
    expect(event?.detail).toEqual(expected);
  });

  it('is the same every time for the same change (redeliveries deduplicate on id)', () => {
    const { old, next } = transition(base, 'SUCCESS');
    expect(eventsFromChange(old, next)).toEqual(
      eventsFromChange(structuredClone(old), structuredClone(next)),
    );
  });

  it('names only the documented detail types', () => {
    expect(ALL_PAYOUT_DETAIL_TYPES).toEqual([
      'Payout Succeeded',
      'Payout Failed',
      'Payout Returned',
      'Payout Rejected',
      'Payout Anomaly',
      'Payout Awaiting Approval',
      'Payout Approved',
      'Payout Denied',
      'Payout Voided',
      'Payout Awaiting Funds',
    ]);
  });
});

describe('eventsFromChange: controls (issue 10)', () => {
  const MAKER = 'arn:aws:iam::111122223333:user/maker';
  const CHECKER = 'arn:aws:iam::111122223333:user/checker';
  const waiting = makeOrder({
    no_order: 'LLP2026112700009',
    status: 'AWAITING_APPROVAL',
    version: 1,
    created_by: MAKER,
    money_fen: 200_000,
    money_order: '2000.00',
  });

  it('creation INTO AWAITING_APPROVAL is news (an approver has work); a plain creation still is not', () => {
    expect(eventsFromChange(undefined, waiting)).toEqual([
      {
        source: PAYOUT_EVENT_SOURCE,
        detailType: 'Payout Awaiting Approval',
        detail: {
          id: 'LLP2026112700009:1',
          no_order: 'LLP2026112700009',
          status: 'AWAITING_APPROVAL',
          previous_status: 'AWAITING_APPROVAL',
          money_order: '2000.00',
          occurred_at: waiting.updated_at,
          principal: MAKER,
        },
      },
    ]);
    expect(eventsFromChange(undefined, makeOrder())).toEqual([]);
  });

  it('approved, denied, voided: one event each, with the principal (and the reason)', () => {
    const approve = transition(waiting, 'PENDING', { approved_by: CHECKER });
    expect(eventsFromChange(approve.old, approve.next)).toEqual([
      expect.objectContaining({
        detailType: 'Payout Approved',
        detail: expect.objectContaining({
          status: 'PENDING',
          previous_status: 'AWAITING_APPROVAL',
          principal: CHECKER,
        }),
      }),
    ]);
    const deny = transition(waiting, 'DENIED', { denied_by: CHECKER });
    const denyNext = {
      ...deny.next,
      history: [
        {
          ...deny.next.history[0]!,
          source: 'approval' as const,
          note: 'not in the plan',
          principal: CHECKER,
        },
      ],
    };
    expect(eventsFromChange(deny.old, denyNext)).toEqual([
      expect.objectContaining({
        detailType: 'Payout Denied',
        detail: expect.objectContaining({ status: 'DENIED', principal: CHECKER, reason: 'not in the plan' }),
      }),
    ]);
    const expire = transition(waiting, 'VOIDED', { voided_by: 'system:expiry' });
    expect(eventsFromChange(expire.old, expire.next)).toEqual([
      expect.objectContaining({
        detailType: 'Payout Voided',
        detail: expect.objectContaining({ status: 'VOIDED', principal: 'system:expiry' }),
      }),
    ]);
  });

  it('the approval is not re-announced by later changes of the order', () => {
    const approved = { ...waiting, status: 'PENDING' as const, version: 2, approved_by: CHECKER };
    const accepted = transition(approved, 'ACCEPTED');
    expect(eventsFromChange(accepted.old, accepted.next)).toEqual([]);
  });
});

describe('eventsFromChange: properties', () => {
  const status = fc.constantFrom(...PAYOUT_STATUSES);
  const digits = fc.stringMatching(/^[0-9]{16,19}$/);
  const name = fc.constantFrom('张三', '李小龙', '欧阳娜娜', 'Alice Zhang');

  it('never carries card data or names, not even masked, and yields events only for finals and anomalies', () => {
    fc.assert(
      fc.property(
        status,
        status,
        digits,
        name,
        fc.nat({ max: 2 }),
        fc.boolean(),
        (from, to, card, payee, extraAnomalies, withAnomalyEntry) => {
          const old = makeOrder({
            status: from,
            version: 3,
            payee_sealed: `sealed:${card}:${payee}`,
            card_no_masked: `${card.slice(0, 6)}******${card.slice(-4)}`,
            acct_name_masked: `${payee.slice(0, 1)}*`,
          });
          const entry: HistoryEntry = {
            at: AT,
            source: 'reconcile',
            from,
            to,
            ...(withAnomalyEntry ? { anomaly: 'something contradicted' } : {}),
          };
          const next: PayoutOrder = {
            ...old,
            status: to,
            version: 4,
            updated_at: AT,
            anomalies: old.anomalies + extraAnomalies,
            history: [...old.history, entry],
          };
          const events = eventsFromChange(old, next);
          const text = JSON.stringify(events);
          for (const secret of [card, payee, old.card_no_masked, old.acct_name_masked]) {
            expect(text).not.toContain(secret);
          }
          expect(text).not.toMatch(/card_no|acct_name|payee/);
          const finals = from !== to && isFinal(to) ? 1 : 0;
          const approved = from === 'AWAITING_APPROVAL' && to === 'PENDING' ? 1 : 0;
          const awaitingFunds = from !== 'AWAITING_FUNDS' && to === 'AWAITING_FUNDS' ? 1 : 0;
          expect(events).toHaveLength(finals + approved + awaitingFunds + extraAnomalies);
          expect(new Set(events.map((e) => e.detail.id)).size).toBe(events.length);
        },
      ),
    );
  });
});

describe('eventsFromChange over the images a contradicting notification writes (defect 8)', () => {
  it('a signed notification with another amount gives one Payout Anomaly; its retries give none', async () => {
    const provider = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const deps = makeDeps();
    const body = {
      no_order: 'LLP2026112700099',
      money_order: '10.00',
      card_no: '6222000000001234',
      acct_name: '测试用户',
      flag_card: '0',
      info_order: 'supplier payout',
    };
    await createPayout(deps, body);
    const raw = JSON.stringify(
      signFields(
        {
          oid_partner: TEST_OID_PARTNER,
          no_order: body.no_order,
          dt_order: '20261127120000',
          money_order: '100.00',
          result_pay: 'SUCCESS',
          oid_paybill: '2026112700000001',
          settle_date: '20261127',
        },
        { signType: 'RSA', privateKey: provider.privateKey },
      ),
    );

    const before = (await deps.store.get(body.no_order))!;
    const answer = await receiveNotification(deps, { publicKey: provider.publicKey }, raw);
    expect(answer.ack).toBe(false);
    const after = (await deps.store.get(body.no_order))!;
    const events = eventsFromChange(before, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      detailType: PAYOUT_DETAIL_TYPES.anomaly,
      detail: {
        no_order: body.no_order,
        status: 'ACCEPTED',
        anomaly: 'provider reported a different amount',
        result_pay: 'SUCCESS',
      },
    });

    // The provider's retry: refused again, nothing written, so the stream carries nothing to publish.
    expect((await receiveNotification(deps, { publicKey: provider.publicKey }, raw)).ack).toBe(false);
    const again = (await deps.store.get(body.no_order))!;
    expect(again).toEqual(after);
  });
});
