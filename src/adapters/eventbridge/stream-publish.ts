import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { batchEventsFromChange } from '../../core/batch-events';
import type { BatchRecord } from '../../core/batch-model';
import { eventsFromChange, type PayoutEvent, type PayoutEventSink } from '../../core/events';
import type { PayoutOrder } from '../../core/model';
import type { Log } from '../../core/ports';
import { isPayoutStatus } from '../../core/status';
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
  /**
   * Index of the first record with an undelivered event. Everything before it is done; it and everything
   * after it must be retried (a stream is ordered, and a checkpoint can only sit before this record).
   */
  readonly firstFailed?: number;
}

export async function publishStreamRecords(
  records: readonly StreamRecordLike[],
  sink: PayoutEventSink,
  log: Log,
): Promise<PublishOutcome> {
  const events: PayoutEvent[] = [];
  const owner: number[] = [];
  let malformed = 0;
  records.forEach((record, index) => {
    // Batch records (issue 11) share the table: their changes become batch events.
    const batch = batchChangeOf(record);
    if (batch !== undefined) {
      if (batch === 'malformed') {
        malformed++;
        log.error('stream record skipped: its image is not a batch record', { eventID: record.eventID });
        return;
      }
      for (const event of batchEventsFromChange(batch.oldImage, batch.newImage)) {
        events.push(event);
        owner.push(index);
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
    for (const event of eventsFromChange(change.oldImage, change.newImage)) {
      events.push(event);
      owner.push(index);
    }
  });
  if (events.length === 0) return { published: 0, malformed };

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
  if (failed.length === 0) return { published: events.length, malformed };
  const firstFailed = Math.min(...failed.map((i) => owner[i] ?? 0));
  return { published: events.length - failed.length, malformed, firstFailed };
}

/** undefined: not a batch record (or a REMOVE); else its images. */
function batchChangeOf(
  record: StreamRecordLike,
): { oldImage: BatchRecord | undefined; newImage: BatchRecord } | 'malformed' | undefined {
  if (record.eventName === 'REMOVE') return undefined;
  const key = (record.dynamodb?.NewImage?.[PAYOUTS_TABLE.partitionKey] as { S?: unknown } | undefined)?.S;
  if (typeof key !== 'string' || !key.startsWith(PAYOUTS_TABLE.batchPrefix)) return undefined;
  const read = (image: Record<string, unknown> | undefined): BatchRecord | undefined => {
    if (!image) return undefined;
    try {
      const plain = unmarshall(image as Record<string, AttributeValue>);
      const ok =
        typeof plain.batch_id === 'string' &&
        typeof plain.status === 'string' &&
        typeof plain.version === 'number' &&
        Array.isArray(plain.history);
      return ok ? (plain as BatchRecord) : undefined;
    } catch {
      return undefined;
    }
  };
  const newImage = read(record.dynamodb?.NewImage);
  if (!newImage) return 'malformed';
  const rawOld = record.dynamodb?.OldImage;
  const oldImage = read(rawOld);
  if (rawOld && !oldImage) return 'malformed';
  return { oldImage, newImage };
}

type Change = { oldImage: PayoutOrder | undefined; newImage: PayoutOrder } | undefined | 'malformed';

function changeOf(record: StreamRecordLike): Change {
  // Orders are never deleted; a REMOVE (a manual clean-up) is no payout event.
  if (record.eventName === 'REMOVE') return undefined;
  // Spending-limit counters share the table (issue 10); their changes are no payout's.
  if (isCounterImage(record.dynamodb?.NewImage)) return undefined;
  const newImage = toOrder(record.dynamodb?.NewImage);
  if (!newImage) return 'malformed';
  const rawOld = record.dynamodb?.OldImage;
  const oldImage = rawOld ? toOrder(rawOld) : undefined;
  if (rawOld && !oldImage) return 'malformed';
  return { oldImage, newImage };
}

function isCounterImage(image: Record<string, unknown> | undefined): boolean {
  const key = (image?.[PAYOUTS_TABLE.partitionKey] as { S?: unknown } | undefined)?.S;
  // Counters, batch records and the funds items (BALANCE#<day>, FUNDS#…) are no payout's changes.
  return typeof key === 'string' && (isCounterKey(key) || !isOrderKey(key));
}

function toOrder(image: Record<string, unknown> | undefined): PayoutOrder | undefined {
  if (!image) return undefined;
  let plain: Record<string, unknown>;
  try {
    plain = unmarshall(image as Record<string, AttributeValue>);
  } catch {
    return undefined;
  }
  const ok =
    typeof plain.no_order === 'string' &&
    isPayoutStatus(plain.status) &&
    typeof plain.version === 'number' &&
    typeof plain.money_order === 'string' &&
    typeof plain.updated_at === 'string' &&
    Array.isArray(plain.history);
  return ok ? (plain as unknown as PayoutOrder) : undefined;
}
