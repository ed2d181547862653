import type { BatchRecord } from './batch-model';
import { withoutUndefined } from './defined';
import { PAYOUT_EVENT_SOURCE, type PayoutEvent } from './events';

/**
 * `Batch Completed` (issue 11): published from the batch record's stream change into COMPLETED, like
 * every other event (at least once; `detail.id` = `batch:<batch_id>:<version>`, stable across
 * redeliveries). Pure: computed from the new image alone, whose `counts` and `amounts` the dispatcher
 * wrote with the completion (settleBatch). Never payee data. The batch module's batchEventsFromChange
 * returns these beside its own.
 */
export const BATCH_COMPLETED_DETAIL_TYPE = 'Batch Completed';

export function batchCompletedEvents(
  oldImage: BatchRecord | undefined,
  newImage: BatchRecord,
): PayoutEvent[] {
  if (newImage.status !== 'COMPLETED' || oldImage?.status === 'COMPLETED') return [];
  const detail = withoutUndefined({
    id: `batch:${newImage.batch_id}:${newImage.version}`,
    batch_id: newImage.batch_id,
    status: newImage.status,
    previous_status: oldImage?.status ?? null,
    item_count: newImage.item_count,
    total_amount: newImage.total_amount,
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
