import type { BatchDetailType, BatchEventDetail } from './batch-events';
import { withoutUndefined } from './defined';
import type { PayoutOrder } from './model';
import { isFinal, type PayoutStatus } from './status';

/**
 * The events downstream systems receive (EventBridge in AWS, a log sink locally). Shared with the
 * infrastructure, whose rules match on `source` and `detail-type`, so a rename cannot drift.
 *
 * Delivery is at least once: the same change can be published again after a retry. `detail.id` is
 * stable across redeliveries (`${no_order}:${version}`: one write, one version), so consumers
 * deduplicate on it.
 *
 * Events never carry card numbers or payee names, not even masked: a consumer that needs them asks the
 * payout API, which applies its own access control.
 */
export const PAYOUT_EVENT_SOURCE = 'lianlian-payout';

/** Detail type per final status, plus anomalies. */
export const PAYOUT_DETAIL_TYPES = {
  SUCCESS: 'Payout Succeeded',
  FAILURE: 'Payout Failed',
  CANCEL: 'Payout Returned',
  REJECTED: 'Payout Rejected',
  anomaly: 'Payout Anomaly',
  AWAITING_APPROVAL: 'Payout Awaiting Approval',
  approved: 'Payout Approved',
  DENIED: 'Payout Denied',
  VOIDED: 'Payout Voided',
  /** A first apply refused with 9104: the payout waits for funds (issue 13); nothing was paid. */
  AWAITING_FUNDS: 'Payout Awaiting Funds',
} as const;

/**
 * Not a payout's event: the merchant balance fell below LOW_BALANCE_AMOUNT or below what waits to be
 * paid (issue 13). Once per crossing: the funds check's conditional write on `FUNDS#low` is the crossing,
 * and the stream publisher turns it into this event (src/core/funds.ts fundsLowEvents), same source.
 */
export const FUNDS_LOW_DETAIL_TYPE = 'Funds Low';

/** The `Funds Low` event's detail: yuan strings, never floats. */
export interface FundsLowDetail {
  /** `funds-low:<at>`: one crossing, one id (the same for every redelivery of its stream record). */
  readonly id: string;
  readonly amt_balance: string;
  readonly waiting_amount: string;
  readonly low_balance_amount?: string;
  readonly occurred_at: string;
  /** Never set on a Funds Low event; declared so code reading payout events can test it on any event. */
  readonly no_order?: undefined;
}

export type PayoutDetailType = (typeof PAYOUT_DETAIL_TYPES)[keyof typeof PAYOUT_DETAIL_TYPES];

export const ALL_PAYOUT_DETAIL_TYPES: readonly PayoutDetailType[] = Object.values(PAYOUT_DETAIL_TYPES);

export interface PayoutEventDetail {
  /** `${no_order}:${version}` — the same for every redelivery of this change; deduplicate on it. */
  readonly id: string;
  readonly no_order: string;
  readonly status: PayoutStatus;
  readonly previous_status: PayoutStatus;
  /** Yuan with exactly two decimals, as sent to the provider (a string, never a float). */
  readonly money_order: string;
  /** The order's codes; for Payout Anomaly, the codes of the report that contradicted the order. */
  readonly ret_code?: string;
  readonly result_pay?: string;
  readonly oid_paybill?: string;
  readonly settle_date?: string;
  /** The provider's failure or return reason, e.g. 户名与卡号不符. */
  readonly memo?: string;
  /** Payout Anomaly only: what contradicted what. */
  readonly anomaly?: string;
  /** When the change was written (ISO-8601 UTC). */
  readonly occurred_at: string;
  /**
   * Controls events only (Awaiting Approval, Approved, Denied, Voided): who did it (`system:expiry` for
   * an approval that expired).
   */
  readonly principal?: string;
  /** Denied / Voided: the reason given, if any. */
  readonly reason?: string;
}

export interface PayoutEvent {
  readonly source: typeof PAYOUT_EVENT_SOURCE;
  /** Batch events (issue 11, src/core/batch-events.ts) travel the same way. */
  readonly detailType: PayoutDetailType | BatchDetailType | typeof FUNDS_LOW_DETAIL_TYPE;
  readonly detail: PayoutEventDetail | BatchEventDetail | FundsLowDetail;
}

/**
 * Where events go. `failed` lists the indexes (into `events`) that were not delivered; the caller
 * retries them. A sink may also throw, which means none was delivered.
 */
export interface PayoutEventSink {
  publish(events: readonly PayoutEvent[]): Promise<{ readonly failed: readonly number[] }>;
}

const FINAL_DETAIL_TYPE: Partial<Record<PayoutStatus, PayoutDetailType>> = {
  SUCCESS: PAYOUT_DETAIL_TYPES.SUCCESS,
  FAILURE: PAYOUT_DETAIL_TYPES.FAILURE,
  CANCEL: PAYOUT_DETAIL_TYPES.CANCEL,
  REJECTED: PAYOUT_DETAIL_TYPES.REJECTED,
  DENIED: PAYOUT_DETAIL_TYPES.DENIED,
  VOIDED: PAYOUT_DETAIL_TYPES.VOIDED,
};

/**
 * The events one stored change produces: one for a transition INTO a final status, one for each anomaly
 * recorded, and the controls events: creation INTO AWAITING_APPROVAL (an approver has work), approval
 * (AWAITING_APPROVAL → PENDING), denial and voiding, each naming the principal. Nothing for a plain
 * creation, other non-final transitions or bookkeeping (reconciliation back-off).
 * Pure: the same images always give the same events, so a redelivered stream record publishes the
 * very same events again.
 */
export function eventsFromChange(oldImage: PayoutOrder | undefined, newImage: PayoutOrder): PayoutEvent[] {
  if (!oldImage) {
    // A new PENDING order is not news for downstream systems; one waiting for approval is.
    if (newImage.status !== 'AWAITING_APPROVAL') return [];
    return [
      {
        source: PAYOUT_EVENT_SOURCE,
        detailType: PAYOUT_DETAIL_TYPES.AWAITING_APPROVAL,
        detail: withoutUndefined({
          id: `${newImage.no_order}:${newImage.version}`,
          no_order: newImage.no_order,
          status: newImage.status,
          // Nothing came before it; the field stays present so every detail has one shape.
          previous_status: newImage.status,
          money_order: newImage.money_order,
          occurred_at: newImage.updated_at,
          principal: newImage.created_by,
        }),
      },
    ];
  }
  const events: PayoutEvent[] = [];
  const base = (): Omit<PayoutEventDetail, 'id'> =>
    withoutUndefined({
      no_order: newImage.no_order,
      status: newImage.status,
      previous_status: oldImage.status,
      money_order: newImage.money_order,
      ret_code: newImage.ret_code,
      result_pay: newImage.result_pay,
      oid_paybill: newImage.oid_paybill,
      settle_date: newImage.settle_date,
      memo: newImage.memo,
      occurred_at: newImage.updated_at,
    });
  const nextId = () => {
    // One write is one version. The transition function never changes the status and records an anomaly
    // in the same write, but should it ever, the second event still needs an id of its own.
    const id = `${newImage.no_order}:${newImage.version}`;
    return events.length === 0 ? id : `${id}:${events.length + 1}`;
  };

  const finalType = FINAL_DETAIL_TYPE[newImage.status];
  if (finalType && oldImage.status !== newImage.status && isFinal(newImage.status)) {
    events.push({
      source: PAYOUT_EVENT_SOURCE,
      detailType: finalType,
      detail: withoutUndefined({ id: nextId(), ...base(), ...controlsDetail(oldImage, newImage) }),
    });
  }
  if (newImage.status === 'AWAITING_FUNDS' && oldImage.status !== 'AWAITING_FUNDS') {
    // Each entry into the wait (a resend refused with 9104 again re-enters it); staying in it is no news.
    events.push({
      source: PAYOUT_EVENT_SOURCE,
      detailType: PAYOUT_DETAIL_TYPES.AWAITING_FUNDS,
      detail: withoutUndefined({ id: nextId(), ...base() }),
    });
  }
  if (oldImage.status === 'AWAITING_APPROVAL' && newImage.status === 'PENDING') {
    events.push({
      source: PAYOUT_EVENT_SOURCE,
      detailType: PAYOUT_DETAIL_TYPES.approved,
      detail: withoutUndefined({ id: nextId(), ...base(), principal: newImage.approved_by }),
    });
  }

  const recorded = (newImage.anomalies ?? 0) - (oldImage.anomalies ?? 0);
  if (recorded > 0) {
    // The history entries appended by this write say what the anomaly was; the counter says how many.
    const appended = newImage.history.slice(oldImage.history.length).filter((h) => h.anomaly);
    for (let i = 0; i < recorded; i++) {
      const entry = appended[i];
      events.push({
        source: PAYOUT_EVENT_SOURCE,
        detailType: PAYOUT_DETAIL_TYPES.anomaly,
        detail: withoutUndefined({
          id: nextId(),
          ...base(),
          // What the provider reported that contradicted the order, rather than the order's own codes.
          ...(entry ? { ret_code: entry.ret_code, result_pay: entry.result_pay } : {}),
          anomaly: entry?.anomaly ?? 'anomaly recorded',
        }),
      });
    }
  }
  return events;
}

/** Denied / Voided: the principal and reason, from the history entry this write appended. */
function controlsDetail(
  oldImage: PayoutOrder,
  newImage: PayoutOrder,
): Pick<PayoutEventDetail, 'principal' | 'reason'> {
  if (newImage.status !== 'DENIED' && newImage.status !== 'VOIDED') return {};
  const entry = newImage.history.slice(oldImage.history.length).find((h) => h.to === newImage.status);
  return {
    principal: newImage.status === 'DENIED' ? newImage.denied_by : newImage.voided_by,
    reason: entry?.note,
  };
}
