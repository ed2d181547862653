import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FUNDS_LOW_DETAIL_TYPE, PAYOUT_EVENT_SOURCE } from '../../core/events';
import type { FundsEvents, FundsLowDetail } from '../../core/funds';

/**
 * The Funds Low event to EventBridge (issue 13), from the reconciliation function's funds check. A
 * refused entry is an error: the caller gives the crossing back so the next check publishes it again.
 */
export class EventBridgeFundsEvents implements FundsEvents {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async fundsLow(detail: FundsLowDetail): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: PAYOUT_EVENT_SOURCE,
            DetailType: FUNDS_LOW_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
            Time: new Date(detail.occurred_at),
          },
        ],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) throw new Error('EventBridge refused the Funds Low event');
  }
}
