import 'aws-sdk-client-mock-vitest/extend';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeFundsEvents } from '../../../src/adapters/eventbridge/funds-events';
import { FUNDS_LOW_DETAIL_TYPE, PAYOUT_EVENT_SOURCE } from '../../../src/core/events';
import type { FundsLowDetail } from '../../../src/core/funds';

/** The Funds Low event as it goes to EventBridge (issue 13): one PutEvents entry, yuan strings. */

const eventBridge = mockClient(EventBridgeClient);
beforeEach(() => {
  eventBridge.reset();
});

const detail: FundsLowDetail = {
  id: 'funds-low:2026-11-27T04:00:00.000Z',
  amt_balance: '100.00',
  waiting_amount: '300.00',
  low_balance_amount: '500.00',
  occurred_at: '2026-11-27T04:00:00.000Z',
};

describe('EventBridgeFundsEvents', () => {
  it('puts one Funds Low entry on the bus, timed at the crossing', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await new EventBridgeFundsEvents(new EventBridgeClient({}), 'payout-bus').fundsLow(detail);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'payout-bus',
          Source: PAYOUT_EVENT_SOURCE,
          DetailType: FUNDS_LOW_DETAIL_TYPE,
          Detail: JSON.stringify(detail),
          Time: new Date(detail.occurred_at),
        },
      ],
    });
  });

  it('a refused entry is an error (the funds check then gives the crossing back)', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    await expect(
      new EventBridgeFundsEvents(new EventBridgeClient({}), 'payout-bus').fundsLow(detail),
    ).rejects.toThrow(/refused/);
  });
});
