import type { PayoutStatus } from './status';

/**
 * What caused a change. `reconcile` is a query made by the scheduled reconciliation; `approval` is a
 * person's decision through the API (approve, deny, void); `expiry` is an approval that timed out.
 */
export type ChangeSource =
  | 'apply'
  | 'query'
  | 'notify'
  | 'reconcile'
  | 'approval'
  | 'expiry'
  /** The batch dispatcher claimed a QUEUED item to send it (issue 11). */
  | 'dispatch'
  /** Waiting for funds: a resend once the balance allows, or the wait running out (issue 13). */
  | 'funds'
  /** A person working the exceptions queue: an anomaly acknowledged (issue 12); the status never changes. */
  | 'operator';

/** The principal recorded for an approval that expired (no person decided). */
export const EXPIRY_PRINCIPAL = 'system:expiry';

export interface HistoryEntry {
  /** ISO-8601 UTC time of the change. */
  readonly at: string;
  readonly source: ChangeSource;
  readonly from: PayoutStatus;
  readonly to: PayoutStatus;
  readonly ret_code?: string;
  readonly result_pay?: string;
  /** Why, in a few words: "apply accepted", "8901 after grace period", … Never card data. */
  readonly note?: string;
  /** Set on entries that record a contradiction that was not applied. */
  readonly anomaly?: string;
  /** Who caused the change, when a person (or `system:expiry`) did: approve, deny, void, expiry. */
  readonly principal?: string;
}

/** The payee's secrets: only ever stored sealed (field-level envelope encryption). */
export interface PayeeSecret {
  readonly card_no: string;
  readonly acct_name: string;
}

/** Optional apply fields the merchant may send, passed to the provider as they are. */
export const OPTIONAL_APPLY_FIELDS = [
  'bank_code',
  'province_code',
  'city_code',
  'brabank_name',
  'prcptcd',
  'platform',
] as const;
export type OptionalApplyField = (typeof OPTIONAL_APPLY_FIELDS)[number];

/** The stored payout order. Amounts are integer fen plus the provider's 2-decimal string. */
export interface PayoutOrder {
  readonly no_order: string;
  readonly status: PayoutStatus;
  /** Incremented by every write; every write is conditional on the status and version it came from. */
  readonly version: number;
  readonly money_fen: number;
  readonly money_order: string;
  readonly flag_card: '0' | '1';
  readonly info_order: string;
  /** The order time sent to the provider (UTC+8, yyyyMMddHHmmss); a resend uses the same one. */
  readonly dt_order: string;
  readonly bank_code?: string;
  readonly province_code?: string;
  readonly city_code?: string;
  readonly brabank_name?: string;
  readonly prcptcd?: string;
  readonly platform?: string;
  /** Sealed PayeeSecret (see FieldCipher). */
  readonly payee_sealed: string;
  readonly card_no_masked: string;
  readonly acct_name_masked: string;
  /** SHA-256 over the non-secret request fields; secrets are compared after opening the seal. */
  readonly request_digest: string;
  readonly oid_paybill?: string;
  readonly result_pay?: string;
  readonly settle_date?: string;
  readonly ret_code?: string;
  readonly ret_msg?: string;
  readonly memo?: string;
  readonly created_at: string;
  readonly updated_at: string;
  /** When the apply was (last) sent; the 8901 grace period counts from here. */
  readonly applied_at: string;
  readonly apply_attempts: number;
  /** When reconciliation should look at this order next (open orders; a SUCCESS under the returns watch). */
  readonly next_check_at?: string;
  readonly check_count: number;
  readonly anomalies: number;
  readonly history: readonly HistoryEntry[];
  /** The principal who created it (absent on orders from before issue 10). */
  readonly created_by?: string;
  readonly approved_by?: string;
  readonly denied_by?: string;
  readonly voided_by?: string;
  /** AWAITING_APPROVAL only: when it is voided if nobody approved it (also its next_check_at). */
  readonly approval_expires_at?: string;
  /**
   * Spending-limit reservation. `limit_day` (China day, yyyy-mm-dd) names the daily counter the amount
   * was added to, `payee_key` the per-payee counter (only when payee limits applied), and `limit_held`
   * says the reservation still stands; it is released once, when the order ends with nothing paid.
   */
  readonly limit_day?: string;
  readonly payee_key?: string;
  readonly limit_held?: boolean;
  /** Batch items only (issue 11): the batch and the item's row in it (1-based, the dispatch order). */
  readonly batch_id?: string;
  readonly batch_seq?: number;
  /**
   * How many applies the provider refused conclusively with a recorded answer (issue 13). A refusal is
   * only conclusive when EVERY earlier apply was refused too (apply_attempts - 1 === refused_applies):
   * otherwise an earlier apply may still be paying. Absent = 0.
   */
  readonly refused_applies?: number;
  /** AWAITING_FUNDS: when the first 9104 was recorded; the wait (FUNDS_WAIT_SECONDS) counts from here. */
  readonly funds_since?: string;
  /**
   * China day (yyyy-mm-dd) on which the order reached a final status, set only when that is not the day
   * it was created: the daily close finds "late results of earlier days" through a sparse index on it.
   */
  readonly late_day?: string;
  /**
   * How many of `anomalies` a person has acknowledged (issue 12): the value of `anomalies` when the last
   * acknowledgement was recorded. Unacknowledged = anomalies - (anomalies_acknowledged ?? 0). Absent = 0.
   */
  readonly anomalies_acknowledged?: number;
}

/**
 * The fields a change may set — the one list: the type below derives from it, and the stores check every
 * write against it at run time (a stray key smuggled in through a cast would otherwise silently overwrite
 * identity or state). Identity and request fields never change after creation.
 */
export const PATCH_KEYS = [
  'oid_paybill',
  'result_pay',
  'settle_date',
  'ret_code',
  'ret_msg',
  'memo',
  'applied_at',
  'apply_attempts',
  'next_check_at',
  'check_count',
  'anomalies',
  // Approval (issue 10): a fresh dt_order at approval, who decided, the spending-limit reservation.
  'dt_order',
  'approved_by',
  'denied_by',
  'voided_by',
  'limit_day',
  'payee_key',
  'limit_held',
  // Funds (issue 13) and the daily close.
  'refused_applies',
  'funds_since',
  'late_day',
  // Operations (issue 12): an anomaly acknowledgement.
  'anomalies_acknowledged',
] as const satisfies readonly (keyof PayoutOrder)[];

export type OrderPatch = Partial<Pick<PayoutOrder, (typeof PATCH_KEYS)[number]>>;

export interface OrderChange {
  /** The status after the change (equal to the current one for bookkeeping or anomaly records). */
  readonly status: PayoutStatus;
  readonly set: OrderPatch;
  /** Appended to the history; omitted for pure bookkeeping (reconciliation back-off). */
  readonly history?: HistoryEntry;
  /** The new updated_at. */
  readonly at: string;
  /**
   * Take the order off reconciliation's due index (remove its check time). Leaving is always said, never
   * inferred from a change that names no check time: an anomaly or a details-only write on a watched
   * SUCCESS keeps every index attribute the order had. (FAILURE, CANCEL and REJECTED are never indexed,
   * whatever the change says; see isDueIndexed.) Must not be combined with `set.next_check_at`.
   */
  readonly leaveDueIndex?: boolean;
}
