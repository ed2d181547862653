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

export function toView(order: PayoutOrder): PayoutView {
  return {
    no_order: order.no_order,
    status: order.status,
    money_order: order.money_order,
    flag_card: order.flag_card,
    card_no_masked: order.card_no_masked,
    acct_name_masked: order.acct_name_masked,
    oid_paybill: order.oid_paybill ?? null,
    result_pay: order.result_pay ?? null,
    settle_date: order.settle_date ?? null,
    ret_code: order.ret_code ?? null,
    ret_msg: order.ret_msg ?? null,
    memo: order.memo ?? null,
    created_at: order.created_at,
    updated_at: order.updated_at,
    history: order.history,
    created_by: order.created_by ?? null,
    approved_by: order.approved_by ?? null,
    denied_by: order.denied_by ?? null,
    voided_by: order.voided_by ?? null,
    batch_id: order.batch_id ?? null,
    anomalies: order.anomalies ?? 0,
    anomalies_acknowledged: order.anomalies_acknowledged ?? 0,
  };
}
