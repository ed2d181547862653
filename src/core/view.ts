import type { HistoryEntry, PayoutOrder } from './model';
import type { PayoutStatus } from './status';

/** What the merchant API returns. Never the card number or payee name in full. */
export interface PayoutView {
  readonly no_order: string;
  readonly status: PayoutStatus;
  readonly money_order: string;
  readonly flag_card: '0' | '1';
  readonly card_no_masked: string;
  readonly acct_name_masked: string;
  readonly oid_paybill: string | null;
  readonly result_pay: string | null;
  readonly settle_date: string | null;
  readonly ret_code: string | null;
  readonly ret_msg: string | null;
  readonly memo: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly history: readonly HistoryEntry[];
  /** Principals (issue 10): who created, approved, denied or voided it; null when nobody did. */
  readonly created_by: string | null;
  readonly approved_by: string | null;
  readonly denied_by: string | null;
  readonly voided_by: string | null;
  /** Batch items (issue 11): the batch it belongs to; null for a single payout. */
  readonly batch_id: string | null;
  /** Anomalies recorded (contradictions never applied) and how many of them a person acknowledged (issue 12). */
  readonly anomalies: number;
  readonly anomalies_acknowledged: number;
}

export const PAYOUT_VIEW_FIELDS = [
  'no_order',
  'status',
  'money_order',
  'flag_card',
  'card_no_masked',
  'acct_name_masked',
  'oid_paybill',
  'result_pay',
  'settle_date',
  'ret_code',
  'ret_msg',
  'memo',
  'created_at',
  'updated_at',
  'history',
  'created_by',
  'approved_by',
  'denied_by',
  'voided_by',
  'batch_id',
  'anomalies',
  'anomalies_acknowledged',
] as const satisfies readonly (keyof PayoutView)[];

/** What every payout view is made from: a stored order, a list row, a by-batch index row. */
export type ViewSource = Pick<
  PayoutOrder,
  'no_order' | 'status' | 'money_order' | 'card_no_masked' | 'acct_name_masked' | 'created_at' | 'updated_at'
> &
  Partial<
    Pick<
      PayoutOrder,
      | 'flag_card'
      | 'oid_paybill'
      | 'result_pay'
      | 'settle_date'
      | 'ret_code'
      | 'ret_msg'
      | 'memo'
      | 'created_by'
      | 'approved_by'
      | 'denied_by'
      | 'voided_by'
    >
  >;

/**
 * The fields every view shows, in the API's order: the one mapping from what is stored to what the API
 * says (absent provider fields and principals are null). The payout view, the list view and the batch
 * item view add their own fields to it.
 */
export function viewFields<S extends ViewSource>(row: S) {
  return {
    no_order: row.no_order,
    status: row.status,
    money_order: row.money_order,
    flag_card: row.flag_card as S['flag_card'],
    card_no_masked: row.card_no_masked,
    acct_name_masked: row.acct_name_masked,
    oid_paybill: row.oid_paybill ?? null,
    result_pay: row.result_pay ?? null,
    settle_date: row.settle_date ?? null,
    ret_code: row.ret_code ?? null,
    ret_msg: row.ret_msg ?? null,
    memo: row.memo ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    created_by: row.created_by ?? null,
    approved_by: row.approved_by ?? null,
    denied_by: row.denied_by ?? null,
    voided_by: row.voided_by ?? null,
  };
}

export function toView(order: PayoutOrder): PayoutView {
  return {
    ...viewFields(order),
    history: order.history,
    batch_id: order.batch_id ?? null,
    anomalies: order.anomalies ?? 0,
    anomalies_acknowledged: order.anomalies_acknowledged ?? 0,
  };
}
