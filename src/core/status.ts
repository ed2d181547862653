/** The exact `status` values of a payout (issue: status model). */
export const PAYOUT_STATUSES = [
  'PENDING', // recorded, apply not yet answered
  'ACCEPTED', // provider answered a signed 0000
  'UNKNOWN', // outcome uncertain: query, and keep querying
  'WAITING', // provider: waiting to be processed
  'PROCESSING', // provider: at the bank
  'SUCCESS', // paid (final, may still become CANCEL)
  'FAILURE', // failed, nothing paid (final)
  'CANCEL', // returned after success (final)
  'REJECTED', // provider refused the apply conclusively, nothing paid (final)
  'AWAITING_APPROVAL', // recorded, waits for a second person; nothing sent (issue 10)
  'DENIED', // an approver refused it; nothing sent (final)
  'VOIDED', // withdrawn by the merchant or the approval expired; nothing sent (final)
  'QUEUED', // a batch item: recorded, waiting for the dispatcher; nothing sent (issue 11)
  'AWAITING_FUNDS', // the provider refused the apply with 9104; nothing paid, resent when funds allow (issue 13)
] as const;

export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

const FINAL_STATUSES: ReadonlySet<PayoutStatus> = new Set([
  'SUCCESS',
  'FAILURE',
  'CANCEL',
  'REJECTED',
  'DENIED',
  'VOIDED',
]);

/**
 * Statuses in which nothing is at the provider, so the order can still be voided: never sent
 * (AWAITING_APPROVAL, QUEUED), or sent and conclusively refused for want of funds (AWAITING_FUNDS: every
 * apply so far was answered 9104, so nothing is being paid). A provider result for one of these is an
 * anomaly, never applied.
 */
export const NOT_SENT_STATUSES: ReadonlySet<PayoutStatus> = new Set([
  'AWAITING_APPROVAL',
  'QUEUED',
  'AWAITING_FUNDS',
]);

export function isFinal(status: PayoutStatus): boolean {
  return FINAL_STATUSES.has(status);
}

export function isPayoutStatus(value: unknown): value is PayoutStatus {
  return typeof value === 'string' && (PAYOUT_STATUSES as readonly string[]).includes(value);
}

/**
 * Whether an order belongs in reconciliation's due index: every open order with a check time, and a
 * SUCCESS under the returns watch (it carries a check time), because a CANCEL can still follow it.
 * AWAITING_APPROVAL is in it too, due at its approval expiry: reconciliation expires it, never queries it.
 */
export function isDueIndexed(status: PayoutStatus, nextCheckAt: string | undefined): boolean {
  if (nextCheckAt === undefined) return false;
  return !isFinal(status) || status === 'SUCCESS';
}
