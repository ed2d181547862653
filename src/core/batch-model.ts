import type { PayoutOrder } from './model';
import type { PayoutStatus } from './status';
import type { ViewSource } from './view';

/**
 * Batches (issue 11): the shared vocabulary of the batch module (acceptance, approval, views) and the
 * dispatcher. Every item of a batch is an ordinary payout order carrying `batch_id` and `batch_seq`; the
 * batch itself is one record in the payouts table under `BATCH#<batch_id>` (table.ts).
 */
export const BATCH_STATUSES = [
  'AWAITING_APPROVAL', // recorded, its items QUEUED; waits for a second person
  'DISPATCHING', // committed (limits reserved): the dispatcher is sending its QUEUED items
  'DISPATCHED', // no item is QUEUED any more: every one was sent (or voided)
  'COMPLETED', // every item is final
  'DENIED', // an approver refused it; its items DENIED, nothing sent
  'VOIDED', // withdrawn (or its approval expired); every item not yet sent VOIDED
] as const;

export type BatchStatus = (typeof BATCH_STATUSES)[number];

export const MAX_BATCH_ITEMS = 5000;

export interface BatchHistoryEntry {
  readonly at: string;
  readonly from: BatchStatus | null;
  readonly to: BatchStatus;
  readonly principal?: string;
  readonly note?: string;
}

/** The stored batch record. Amounts in integer fen plus the 2-decimal string. */
export interface BatchRecord {
  readonly batch_id: string;
  readonly status: BatchStatus;
  /** Incremented by every write; every write is conditional on the status and version it came from. */
  readonly version: number;
  readonly item_count: number;
  readonly total_fen: number;
  readonly total_amount: string;
  /**
   * SHA-256 over the batch's non-secret content (row order included); a repeat PUT with the same digest
   * (and the same payees, compared after opening the seals) is the same batch.
   */
  readonly content_digest: string;
  readonly created_by?: string;
  readonly approved_by?: string;
  readonly denied_by?: string;
  readonly voided_by?: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly approved_at?: string;
  readonly dispatched_at?: string;
  readonly completed_at?: string;
  /** AWAITING_APPROVAL only: when it is voided if nobody approved it. */
  readonly approval_expires_at?: string;
  /**
   * When reconciliation's schedule looks at this batch next (the due index, like orders): approval
   * expiry, re-enqueueing items left QUEUED by a lost dispatch message, noticing completion.
   */
  readonly next_check_at?: string;
  /** The China day whose limit counters the whole batch was reserved against (when limits apply). */
  readonly limit_day?: string;
  /**
   * COMPLETED only (written by the dispatcher's completion): items per payout status and their amounts
   * (2-decimal strings), so the `Batch Completed` event is computed from the stream image alone.
   */
  readonly counts?: Readonly<Partial<Record<PayoutStatus, number>>>;
  readonly amounts?: Readonly<Partial<Record<PayoutStatus, string>>>;
  /**
   * Set by reconciliation's re-trigger on AWS (src/adapters/dynamodb/table-dispatch-trigger.ts): each new
   * value is a request to run the dispatcher for this batch, which the table stream's publisher turns
   * into the SQS message. Bookkeeping, not a state: it leaves `version` alone, so it never makes a
   * dispatcher's conditional write fail.
   */
  readonly dispatch_request?: string;
  readonly history: readonly BatchHistoryEntry[];
}

/**
 * One item as the by-batch index returns it: the order's own attributes that the index projects (no
 * history, never the sealed payee), the provider's and the deciders' only when set. That is what a payout
 * view is made from (ViewSource), plus the amount in fen, the purpose, the anomaly count and the row.
 */
export type BatchItemRow = ViewSource &
  Pick<PayoutOrder, 'money_fen'> &
  Partial<Pick<PayoutOrder, 'info_order' | 'anomalies'>> & { readonly batch_seq: number };

export interface BatchItemPage {
  readonly items: readonly BatchItemRow[];
  /** Opaque; absent on the last page. */
  readonly cursor?: string;
}

export interface BatchVersion {
  readonly batch_id: string;
  readonly status: BatchStatus;
  readonly version: number;
}

export interface BatchChange {
  readonly status: BatchStatus;
  readonly set: Partial<
    Pick<
      BatchRecord,
      | 'approved_by'
      | 'denied_by'
      | 'voided_by'
      | 'approved_at'
      | 'dispatched_at'
      | 'completed_at'
      | 'next_check_at'
      | 'limit_day'
      | 'counts'
      | 'amounts'
    >
  >;
  readonly history?: BatchHistoryEntry;
  readonly at: string;
  /** Take the batch off the due index (it needs no more looks). */
  readonly leaveDueIndex?: boolean;
}

/**
 * Where batches are kept (DynamoDB: src/adapters/dynamodb/batch-store.ts; tests: a memory version).
 * Items are written through the OrderStore's create semantics (conditional on a new no_order).
 */
export interface BatchStore {
  getBatch(batchId: string): Promise<BatchRecord | undefined>;
  /** Conditional on the status and version it came from; throws TransitionConflictError otherwise. */
  updateBatch(expected: BatchVersion, change: BatchChange): Promise<BatchRecord>;
  /**
   * A batch's items in row order from the by-batch index (eventually consistent: a claim or any other
   * write must still be conditional on the order's own status). `status` filters; `afterSeq` starts after
   * a row.
   */
  listItems(
    batchId: string,
    query: { limit: number; cursor?: string; status?: PayoutStatus; afterSeq?: number },
  ): Promise<BatchItemPage>;
}

/**
 * Tells the dispatcher that a batch's QUEUED items may now be sent (the batch is DISPATCHING). On AWS an
 * SQS message; locally the in-process dispatcher. At-least-once: a duplicate is harmless (claims are
 * conditional), a lost one is recovered by the batch's due-index look.
 */
export interface DispatchTrigger {
  batchReady(batchId: string): Promise<void>;
}

/** What the batch API returns for a batch (GET /batches/{batch_id} and the acceptance). */
export interface BatchView {
  readonly batch_id: string;
  readonly status: BatchStatus;
  readonly item_count: number;
  readonly total_amount: string;
  /** Items per payout status (only statuses that occur). */
  readonly counts: Partial<Record<PayoutStatus, number>>;
  /** Yuan per payout status (two decimals). */
  readonly amounts: Partial<Record<PayoutStatus, string>>;
  readonly created_by: string | null;
  readonly approved_by: string | null;
  readonly denied_by: string | null;
  readonly voided_by: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly approved_at: string | null;
  readonly dispatched_at: string | null;
  readonly completed_at: string | null;
  readonly approval_expires_at: string | null;
}
