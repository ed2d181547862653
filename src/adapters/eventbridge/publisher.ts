import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { PayoutEvent, PayoutEventSink } from '../../core/events';
import type { Log } from '../../core/ports';

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_MAX_ENTRIES = 10;

export interface EventBridgePublisherOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
  readonly log?: Log;
}

export function toPutEventsEntry(event: PayoutEvent, eventBusName: string): PutEventsRequestEntry {
  return {
    EventBusName: eventBusName,
    Source: event.source,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    // The time of the change, not of this (possibly repeated) delivery.
    Time: new Date(event.detail.occurred_at),
  };
}

/**
 * Payout events to EventBridge, ten per PutEvents call. PutEvents can succeed as a call yet refuse some
 * entries (FailedEntryCount): those are reported as failed, never assumed delivered.
 */
export class EventBridgePublisher implements PayoutEventSink {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly log: Log | undefined;

  constructor(options: EventBridgePublisherOptions) {
    if (!options.eventBusName) throw new TypeError('eventBusName is required');
    this.client = options.client;
    this.eventBusName = options.eventBusName;
    this.log = options.log;
  }

  async publish(events: readonly PayoutEvent[]): Promise<{ failed: readonly number[] }> {
    const failed: number[] = [];
    for (let start = 0; start < events.length; start += PUT_EVENTS_MAX_ENTRIES) {
      const batch = events.slice(start, start + PUT_EVENTS_MAX_ENTRIES);
      const batchFailed = await this.putBatch(batch);
      for (const i of batchFailed) failed.push(start + i);
      if (batchFailed.length > 0) {
        // The caller retries from the first failed record, which re-publishes everything after it
        // anyway: sending the rest now would only add duplicates.
        for (let i = start + batch.length; i < events.length; i++) failed.push(i);
        break;
      }
    }
    return { failed };
  }

  private async putBatch(batch: readonly PayoutEvent[]): Promise<number[]> {
    let out: PutEventsCommandOutput;
    try {
      out = await this.client.send(
        new PutEventsCommand({ Entries: batch.map((e) => toPutEventsEntry(e, this.eventBusName)) }),
      );
    } catch (error) {
      this.log?.warn('PutEvents failed', {
        error: error instanceof Error ? error.name : 'unknown',
        entries: batch.length,
      });
      return batch.map((_, i) => i);
    }
    if (!out.FailedEntryCount) return [];
    const failed: number[] = [];
    batch.forEach((event, i) => {
      const entry = out.Entries?.[i];
      // No result for an entry is no proof of delivery.
      if (!entry || entry.ErrorCode || !entry.EventId) {
        failed.push(i);
        this.log?.warn('event not accepted by EventBridge', {
          id: event.detail.id,
          detailType: event.detailType,
          errorCode: entry?.ErrorCode,
        });
      }
    });
    // FailedEntryCount > 0 with no entry marked: trust the count, treat the whole batch as failed.
    return failed.length > 0 ? failed : batch.map((_, i) => i);
  }
}
