import type { BatchRecord, BatchStatus } from './batch-model';
import { withoutUndefined } from './defined';
import { PAYOUT_EVENT_SOURCE, type PayoutEvent } from './events';

/**
 * Batch events (issue 11), published from the batch record's stream changes exactly like payout events
 * (at least once; `detail.id` = `batch:<batch_id>:<version>` is stable across redeliveries), and
 * `Batch Completed` when the dispatcher ends a batch. Never payee data.
 */
export const BATCH_DETAIL_TYPES = {
  accepted: 'Batch Accepted',
  approved: 'Batch Approved',
  DENIED: 'Batch Denied',
  VOIDED: 'Batch Voided',
} as const;

export type BatchDetailType = (typeof BATCH_DETAIL_TYPES)[keyof typeof BATCH_DETAIL_TYPES];

export interface BatchEventDetail {
  readonly id: string;
  readonly batch_id: string;
  readonly status: BatchStatus;
  /** Null for Batch Accepted (nothing came before it). */
  readonly previous_status: BatchStatus | null;
  readonly item_count: number;
  /** Yuan, two decimals (a string, never a float). */
  readonly total_amount: string;
  /** Who did it: the creator (accepted), the approver, the denier, the voider (`system:expiry`). */
  readonly principal?: string;
  /** Denied / Voided: the reason given, if any. */
  readonly reason?: string;
  readonly occurred_at: string;
  /** Never set on a batch event; declared so code reading payout events can test it on any event. */
  readonly no_order?: undefined;
}

/** The events one stored change of a batch record produces (pure: a redelivery gives the same ones). */
export function batchEventsFromChange(
  oldImage: BatchRecord | undefined,
  newImage: BatchRecord,
): PayoutEvent[] {
  const detail = (principal: string | undefined, reason?: string): BatchEventDetail =>
    withoutUndefined({ ...baseDetail(oldImage, newImage), principal, reason });
  const event = (
    detailType: (typeof BATCH_DETAIL_TYPES)[keyof typeof BATCH_DETAIL_TYPES],
    d: BatchEventDetail,
  ) => ({ source: PAYOUT_EVENT_SOURCE, detailType, detail: d }) as PayoutEvent;
  if (!oldImage) return [event(BATCH_DETAIL_TYPES.accepted, detail(newImage.created_by))];
  if (oldImage.status === newImage.status) return [];
  // The dispatcher's end of a batch (DISPATCHED → COMPLETED), with counts and amounts per status.
  if (newImage.status === 'COMPLETED') return batchCompletedEvents(oldImage, newImage);
  const entry = newImage.history.slice(oldImage.history.length).find((h) => h.to === newImage.status);
  if (oldImage.status === 'AWAITING_APPROVAL' && newImage.status === 'DISPATCHING') {
    return [event(BATCH_DETAIL_TYPES.approved, detail(newImage.approved_by))];
  }
  if (newImage.status === 'DENIED')
    return [event(BATCH_DETAIL_TYPES.DENIED, detail(newImage.denied_by, entry?.note))];
  if (newImage.status === 'VOIDED')
    return [event(BATCH_DETAIL_TYPES.VOIDED, detail(newImage.voided_by, entry?.note))];
  return [];
}

/** What every batch event says about the change: its stable id, the batch, the status it went from and to. */
function baseDetail(oldImage: BatchRecord | undefined, newImage: BatchRecord) {
  return {
    id: `batch:${newImage.batch_id}:${newImage.version}`,
    batch_id: newImage.batch_id,
    status: newImage.status,
    previous_status: oldImage?.status ?? null,
    item_count: newImage.item_count,
    total_amount: newImage.total_amount,
    occurred_at: newImage.updated_at,
  };
}

export const BATCH_COMPLETED_DETAIL_TYPE = 'Batch Completed';

/**
 * `Batch Completed` (issue 11): the change into COMPLETED, computed from the new image alone, whose
 * `counts` and `amounts` the dispatcher wrote with the completion (settleBatch).
 */
export function batchCompletedEvents(
  oldImage: BatchRecord | undefined,
  newImage: BatchRecord,
): PayoutEvent[] {
  if (newImage.status !== 'COMPLETED' || oldImage?.status === 'COMPLETED') return [];
  const detail = withoutUndefined({
    ...baseDetail(oldImage, newImage),
    counts: newImage.counts ?? {},
    amounts: newImage.amounts ?? {},
    occurred_at: newImage.completed_at ?? newImage.updated_at,
  });
  // Batch events share the payout events' source, bus and sink; their detail has its own shape.
  return [
    {
      source: PAYOUT_EVENT_SOURCE,
      detailType: BATCH_COMPLETED_DETAIL_TYPE,
      detail,
    } as unknown as PayoutEvent,
  ];
}
