import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { batchEventsFromChange } from '../../core/batch-events';
import type { BatchRecord, DispatchTrigger } from '../../core/batch-model';
import { eventsFromChange, type PayoutEvent, type PayoutEventSink } from '../../core/events';
import { type FundsLowState, fundsLowEvents } from '../../core/funds';
import type { PayoutOrder } from '../../core/model';
import type { Log } from '../../core/ports';
import { isPayoutStatus } from '../../core/status';
import { FUNDS_LOW_KEY } from '../dynamodb/funds-store';
import { isCounterKey, isOrderKey, PAYOUTS_TABLE } from '../dynamodb/table';

/**
 * The publish step shared by the deployed function (Lambda's DynamoDBStreamEvent) and local mode (the
 * Streams API poller): table stream records in, payout events out. Both record types have the same
 * shape; only their AttributeValue type packages differ, hence the structural type below.
 */
export interface StreamRecordLike {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly SequenceNumber?: string;
    readonly OldImage?: Record<string, unknown>;
    readonly NewImage?: Record<string, unknown>;
  };
}

export interface PublishOutcome {
  /** Events delivered (including any that will be delivered again when a failed record is retried). */
  readonly published: number;
  /** Records whose images could not be read; skipped, because no retry can ever make them readable. */
  readonly malformed: number;
  /** Dispatch requests whose SQS send failed (absent when none did); not retried from the stream. */
  readonly dispatchRequestsFailed?: number;
  /**
   * Index of the first record with an undelivered event. Everything before it is done; it and everything
   * after it must be retried (a stream is ordered, and a checkpoint can only sit before this record).
   */
  readonly firstFailed?: number;
}

/**
 * Events (and, on AWS, dispatch requests) out of a page of stream records, in record order. `trigger`:
 * where a batch's `dispatch_request` change goes (the SQS dispatch queue in the deployed publish
 * function); local mode passes none, because its reconciliation triggers its in-process dispatcher
 * directly.
 */
export async function publishStreamRecords(
  records: readonly StreamRecordLike[],
  sink: PayoutEventSink,
  log: Log,
  trigger?: DispatchTrigger,
): Promise<PublishOutcome> {
  const events: PayoutEvent[] = [];
  const owner: number[] = [];
  const requests: { batchId: string }[] = [];
  let malformed = 0;
  const add = (index: number, produced: readonly PayoutEvent[]) => {
    for (const event of produced) {
      events.push(event);
      owner.push(index);
    }
  };
  records.forEach((record, index) => {
    // The low-balance state (issue 13): a move to low is the Funds Low event.
    const funds = fundsLowChangeOf(record);
    if (funds !== undefined) {
      if (funds === 'malformed') {
        malformed++;
        log.error('stream record skipped: its image is not the low-balance state', {
          eventID: record.eventID,
        });
        return;
      }
      add(index, fundsLowEvents(funds.oldImage, funds.newImage));
      return;
    }
    // Batch records (issue 11) share the table: their changes become batch events.
    const batch = batchChangeOf(record);
    if (batch !== undefined) {
      if (batch === 'malformed') {
        malformed++;
        log.error('stream record skipped: its image is not a batch record', { eventID: record.eventID });
        return;
      }
      add(index, batchEventsFromChange(batch.oldImage, batch.newImage));
      const requested = batch.newImage.dispatch_request;
      if (trigger && requested !== undefined && requested !== batch.oldImage?.dispatch_request) {
        requests.push({ batchId: batch.newImage.batch_id });
      }
      return;
    }
    const change = changeOf(record);
    if (change === 'malformed') {
      malformed++;
      log.error('stream record skipped: its image is not a payout order', {
        eventID: record.eventID,
        sequenceNumber: record.dynamodb?.SequenceNumber,
      });
      return;
    }
    if (!change) return;
    add(index, eventsFromChange(change.oldImage, change.newImage));
  });

  const failedRecords: number[] = [];
  let published = 0;
  if (events.length > 0) {
    let failed: readonly number[];
    try {
      failed = (await sink.publish(events)).failed;
    } catch (error) {
      log.warn('event sink failed; the records will be retried', {
        error: error instanceof Error ? error.name : 'unknown',
        events: events.length,
      });
      failed = events.map((_, i) => i);
    }
    published = events.length - failed.length;
    for (const i of failed) failedRecords.push(owner[i] ?? 0);
  }
  // One message per batch and page (the first record that asked): a duplicate run is harmless, but one
  // is enough. A send that fails (after the SDK's own retries) is not retried from its record: that would
  // hold back every payout event behind it on the stream for an SQS problem, and the batch's due look
  // writes a new request within QUEUED_CHECK_MS anyway. It is logged and counted (an alarm watches it).
  let requestsFailed = 0;
  const sentFor = new Set<string>();
  for (const { batchId } of requests) {
    if (sentFor.has(batchId)) continue;
    sentFor.add(batchId);
    try {
      await trigger?.batchReady(batchId);
    } catch (error) {
      requestsFailed++;
      log.error("dispatch request not sent; the batch's next due look asks again", {
        batch_id: batchId,
        error: error instanceof Error ? error.name : 'unknown',
      });
    }
  }
  const failures = requestsFailed > 0 ? { dispatchRequestsFailed: requestsFailed } : {};
  if (failedRecords.length === 0) return { published, malformed, ...failures };
  return { published, malformed, ...failures, firstFailed: Math.min(...failedRecords) };
}

type Images<T, Old = T> = { readonly oldImage: Old | undefined; readonly newImage: T } | 'malformed';

/** Reads one unmarshalled image; undefined for a shape it does not accept. */
type Reader<T> = (plain: Record<string, unknown>) => T | undefined;

/**
 * A record's images read by `read` (which answers undefined for a shape it does not accept), the old one
 * by `readOld` when it needs less: a new image that cannot be read, or an old one present but
 * unreadable, makes the record malformed.
 */
function imagesOf<T, Old = T>(
  record: StreamRecordLike,
  read: Reader<T>,
  // Without its own reader the old image is read like the new one (then Old is T).
  readOld: Reader<Old> = read as Reader<unknown> as Reader<Old>,
): Images<T, Old> {
  const parse = <R>(image: Record<string, unknown> | undefined, reader: Reader<R>): R | undefined => {
    if (!image) return undefined;
    try {
      return reader(unmarshall(image as Record<string, AttributeValue>));
    } catch {
      return undefined;
    }
  };
  const newImage = parse(record.dynamodb?.NewImage, read);
  if (newImage === undefined) return 'malformed';
  const rawOld = record.dynamodb?.OldImage;
  const oldImage = parse(rawOld, readOld);
  if (rawOld && oldImage === undefined) return 'malformed';
  return { oldImage, newImage };
}

function keyOf(record: StreamRecordLike): unknown {
  return (record.dynamodb?.NewImage?.[PAYOUTS_TABLE.partitionKey] as { S?: unknown } | undefined)?.S;
}

/**
 * undefined: not the `FUNDS#low` item (or a REMOVE); else its states. Of the state it moved from only
 * `low` is needed (was it low already?), so an old image without the figures does not cost a crossing.
 */
function fundsLowChangeOf(
  record: StreamRecordLike,
): Images<FundsLowState, Pick<FundsLowState, 'low'>> | undefined {
  if (record.eventName === 'REMOVE' || keyOf(record) !== FUNDS_LOW_KEY) return undefined;
  const readOld: Reader<Pick<FundsLowState, 'low'>> = (plain) =>
    typeof plain.low === 'boolean' ? { low: plain.low } : undefined;
  return imagesOf(
    record,
    (plain) => {
      const { low, changed_at, balance_fen, waiting_fen, low_balance_fen } = plain;
      const ok =
        typeof low === 'boolean' &&
        typeof changed_at === 'string' &&
        Number.isSafeInteger(balance_fen) &&
        Number.isSafeInteger(waiting_fen) &&
        (low_balance_fen === undefined || Number.isSafeInteger(low_balance_fen));
      if (!ok) return undefined;
      return {
        low,
        changedAt: changed_at,
        balanceFen: balance_fen as number,
        waitingFen: waiting_fen as number,
        ...(low_balance_fen === undefined ? {} : { lowBalanceFen: low_balance_fen as number }),
      };
    },
    readOld,
  );
}

/** undefined: not a batch record (or a REMOVE); else its images. */
function batchChangeOf(record: StreamRecordLike): Images<BatchRecord> | undefined {
  const key = keyOf(record);
  if (
    record.eventName === 'REMOVE' ||
    typeof key !== 'string' ||
    !key.startsWith(PAYOUTS_TABLE.batchPrefix)
  ) {
    return undefined;
  }
  return imagesOf(record, (plain) => {
    const ok =
      typeof plain.batch_id === 'string' &&
      typeof plain.status === 'string' &&
      typeof plain.version === 'number' &&
      Array.isArray(plain.history);
    return ok ? (plain as unknown as BatchRecord) : undefined;
  });
}

/** undefined: a REMOVE or an item that is no payout order; else the order's images. */
function changeOf(record: StreamRecordLike): Images<PayoutOrder> | undefined {
  // Orders are never deleted; a REMOVE (a manual clean-up) is no payout event.
  if (record.eventName === 'REMOVE') return undefined;
  // Counters, batch records and the funds items (BALANCE#<day>, FUNDS#…) are no payout's changes.
  const key = keyOf(record);
  if (typeof key === 'string' && (isCounterKey(key) || !isOrderKey(key))) return undefined;
  return imagesOf(record, (plain) => {
    const ok =
      typeof plain.no_order === 'string' &&
      isPayoutStatus(plain.status) &&
      typeof plain.version === 'number' &&
      typeof plain.money_order === 'string' &&
      typeof plain.updated_at === 'string' &&
      Array.isArray(plain.history);
    return ok ? (plain as unknown as PayoutOrder) : undefined;
  });
}
