import 'aws-sdk-client-mock-vitest/extend';
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPublishRuntime, publishHandler } from '../../../../functions/publish/handler';
import { MemoryMetrics } from '../../../../functions/shared/observability';
import { EventBridgePublisher, toPutEventsEntry } from '../../../../src/adapters/eventbridge/publisher';
import { METRICS } from '../../../../src/config/contract';
import { ConfigError } from '../../../../src/config/env';
import {
  PAYOUT_DETAIL_TYPES,
  PAYOUT_EVENT_SOURCE,
  type PayoutDetailType,
  type PayoutEvent,
} from '../../../../src/core/events';
import type { PayoutOrder } from '../../../../src/core/model';
import type { PayoutStatus } from '../../../../src/core/status';
import { makeOrder } from '../../../support/order-fixtures';

const BUS = 'payouts-test-bus';
const AT = '2026-11-27T04:30:00.000Z';
const QUEUE = 'https://sqs.cn-north-1.amazonaws.com.cn/000000000000/dispatch.fifo';
const eventBridge = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);

beforeEach(() => {
  eventBridge.reset();
  sqs.reset();
});
afterEach(() => {
  eventBridge.reset();
  sqs.reset();
});

function event(n: number, detailType: PayoutDetailType = PAYOUT_DETAIL_TYPES.SUCCESS): PayoutEvent {
  return {
    source: PAYOUT_EVENT_SOURCE,
    detailType,
    detail: {
      id: `N${n}:2`,
      no_order: `N${n}`,
      status: 'SUCCESS',
      previous_status: 'PROCESSING',
      money_order: '10.00',
      occurred_at: AT,
    },
  };
}

const ok = (count: number) => ({
  FailedEntryCount: 0,
  Entries: Array.from({ length: count }, (_, i) => ({ EventId: `e-${i}` })),
});

describe('EventBridgePublisher', () => {
  it('sends exactly the documented entry', async () => {
    eventBridge.on(PutEventsCommand).resolves(ok(1));
    const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: BUS });
    const result = await publisher.publish([event(1)]);
    expect(result.failed).toEqual([]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: BUS,
          Source: 'lianlian-payout',
          DetailType: 'Payout Succeeded',
          Detail: JSON.stringify({
            id: 'N1:2',
            no_order: 'N1',
            status: 'SUCCESS',
            previous_status: 'PROCESSING',
            money_order: '10.00',
            occurred_at: AT,
          }),
          Time: new Date(AT),
        },
      ],
    });
  });

  it('batches at most ten entries per PutEvents call, in order', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: BUS });
    const events = Array.from({ length: 23 }, (_, i) => event(i));
    expect((await publisher.publish(events)).failed).toEqual([]);
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    const sent = calls
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .map((e) => JSON.parse(e.Detail ?? '{}').id);
    expect(sent).toEqual(events.map((e) => e.detail.id));
  });

  it('reports the entries EventBridge refused (FailedEntryCount) and does not send later batches', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
          ...Array.from({ length: 8 }, (_, i) => ({ EventId: `b${i}` })),
        ],
      })
      .resolves(ok(10));
    const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: BUS });
    const result = await publisher.publish(Array.from({ length: 15 }, (_, i) => event(i)));
    // Entry 1 failed; 10–14 were never sent (they are retried with their records anyway).
    expect(result.failed).toEqual([1, 10, 11, 12, 13, 14]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('treats a failed call as every entry failed', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('ThrottlingException'));
    const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: BUS });
    expect((await publisher.publish([event(1), event(2)])).failed).toEqual([0, 1]);
  });

  it('trusts FailedEntryCount even when no entry says which one failed', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { EventId: 'b' }] });
    const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: BUS });
    expect((await publisher.publish([event(1), event(2)])).failed).toEqual([0, 1]);
  });

  it('maps an event to an entry without touching its detail', () => {
    const e = event(7, PAYOUT_DETAIL_TYPES.anomaly);
    expect(JSON.parse(toPutEventsEntry(e, BUS).Detail ?? '')).toEqual(e.detail);
  });
});

// ---------------------------------------------------------------------------------------------------
// The publish function: DynamoDB stream event → PutEvents → batch item failures
// ---------------------------------------------------------------------------------------------------

const CARD = '6222020000000000123';
const NAME = '测试收款人';

function record(seq: string, oldImage: PayoutOrder | undefined, newImage: PayoutOrder): DynamoDBRecord {
  const image = (o: PayoutOrder) =>
    marshall({ ...o, open_shard: 'OPEN#1' }, { removeUndefinedValues: true }) as unknown as NonNullable<
      DynamoDBRecord['dynamodb']
    >['NewImage'];
  return {
    eventID: `ev-${seq}`,
    eventName: oldImage ? 'MODIFY' : 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: seq,
      Keys: { no_order: { S: newImage.no_order } },
      ...(oldImage ? { OldImage: image(oldImage) } : {}),
      NewImage: image(newImage),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

function change(no: string, from: PayoutStatus, to: PayoutStatus, version = 3) {
  const old = makeOrder({
    no_order: no,
    status: from,
    version,
    payee_sealed: `sealed-${CARD}-${NAME}`,
    card_no_masked: '622202*********0123',
    acct_name_masked: '测*',
  });
  const next: PayoutOrder = {
    ...old,
    status: to,
    version: version + 1,
    updated_at: AT,
    ...(to === 'SUCCESS'
      ? { result_pay: 'SUCCESS', oid_paybill: '2026112700000009', settle_date: '20261127' }
      : {}),
    history: [...old.history, { at: AT, source: 'notify', from, to }],
  };
  return { old, next };
}

const context = {} as Context;
const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

function handlerWith(metrics = new MemoryMetrics()) {
  const runtime = buildPublishRuntime(
    { EVENT_BUS_NAME: BUS, DISPATCH_QUEUE_URL: QUEUE },
    { client: new EventBridgeClient({}), sqs: new SQSClient({}), logger: silent, metrics },
  );
  return { handler: publishHandler(() => runtime), metrics };
}

describe('publish handler', () => {
  it('publishes one event per final transition and nothing for the rest, with exact entries', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    const success = change('A1', 'PROCESSING', 'SUCCESS');
    const waiting = change('A2', 'ACCEPTED', 'WAITING');
    const created = makeOrder({ no_order: 'A3' });
    const stream: DynamoDBStreamEvent = {
      Records: [
        record('100', undefined, created),
        record('101', waiting.old, waiting.next),
        record('102', success.old, success.next),
      ],
    };
    const { handler, metrics } = handlerWith();

    const result = await handler(stream, context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: BUS,
          Source: 'lianlian-payout',
          DetailType: 'Payout Succeeded',
          Time: new Date(AT),
          Detail: JSON.stringify({
            id: 'A1:4',
            no_order: 'A1',
            status: 'SUCCESS',
            previous_status: 'PROCESSING',
            money_order: '10.00',
            result_pay: 'SUCCESS',
            oid_paybill: '2026112700000009',
            settle_date: '20261127',
            occurred_at: AT,
          }),
        },
      ],
    });
    expect(metrics.get(METRICS.eventsPublished)).toBe(1);
    const sent = JSON.stringify(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input));
    for (const secret of [CARD, NAME, '622202', '测*', 'sealed', 'open_shard'])
      expect(sent).not.toContain(secret);
  });

  it('reports the first record with a refused entry, so the stream retries from there', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'ok' }, { ErrorCode: 'InternalFailure' }, { EventId: 'ok2' }],
    });
    const a = change('B1', 'PROCESSING', 'SUCCESS');
    const b = change('B2', 'WAITING', 'FAILURE');
    const c = change('B3', 'SUCCESS', 'CANCEL');
    const { handler, metrics } = handlerWith();

    const result = await handler(
      {
        Records: [record('200', a.old, a.next), record('201', b.old, b.next), record('202', c.old, c.next)],
      },
      context,
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '201' }] });
    expect(metrics.get(METRICS.eventRecordsRetried)).toBe(2);
  });

  it('fails the batch from its first record with events when PutEvents itself fails', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('ServiceUnavailable'));
    const waiting = change('C0', 'ACCEPTED', 'WAITING');
    const a = change('C1', 'PROCESSING', 'REJECTED');
    const { handler } = handlerWith();
    const result = await handler(
      { Records: [record('300', waiting.old, waiting.next), record('301', a.old, a.next)] },
      context,
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '301' }] });
  });

  it('skips (and counts) a record whose image is not a payout order, instead of blocking the stream', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    const good = change('D1', 'PROCESSING', 'SUCCESS');
    const broken: DynamoDBRecord = {
      eventName: 'MODIFY',
      dynamodb: {
        SequenceNumber: '400',
        NewImage: { no_order: { S: 'D0' } },
        OldImage: { no_order: { S: 'D0' } },
      },
    };
    const { handler, metrics } = handlerWith();
    const result = await handler({ Records: [broken, record('401', good.old, good.next)] }, context);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(metrics.get(METRICS.eventRecordsMalformed)).toBe(1);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('needs EVENT_BUS_NAME and DISPATCH_QUEUE_URL, and says so by name', () => {
    const build = (env: Record<string, string>) => () =>
      buildPublishRuntime(env, { logger: silent, metrics: new MemoryMetrics() });
    expect(build({ DISPATCH_QUEUE_URL: QUEUE })).toThrow(ConfigError);
    expect(build({ DISPATCH_QUEUE_URL: QUEUE })).toThrow(/EVENT_BUS_NAME/);
    expect(build({ EVENT_BUS_NAME: BUS })).toThrow(ConfigError);
    expect(build({ EVENT_BUS_NAME: BUS })).toThrow(/DISPATCH_QUEUE_URL/);
  });
});

/** A stream record of a non-order item (FUNDS#low, BATCH#…), images as plain objects. */
function itemRecord(
  seq: string,
  key: string,
  oldImage: Record<string, unknown> | undefined,
  newImage: Record<string, unknown>,
): DynamoDBRecord {
  const image = (o: Record<string, unknown>) =>
    marshall({ no_order: key, ...o }, { removeUndefinedValues: true }) as unknown as NonNullable<
      DynamoDBRecord['dynamodb']
    >['NewImage'];
  return {
    eventID: `ev-${seq}`,
    eventName: oldImage ? 'MODIFY' : 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: seq,
      Keys: { no_order: { S: key } },
      ...(oldImage ? { OldImage: image(oldImage) } : {}),
      NewImage: image(newImage),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const FUNDS_OK = { low: false, changed_at: '2026-11-27T01:00:00.000Z', balance_fen: 90_000, waiting_fen: 0 };
const FUNDS_LOW = { low: true, changed_at: AT, balance_fen: 100, waiting_fen: 400, low_balance_fen: 50_000 };

function batchImage(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    batch_id: 'B-1',
    status: 'DISPATCHING',
    version: 4,
    item_count: 3,
    total_fen: 600,
    total_amount: '6.00',
    content_digest: 'd',
    created_at: AT,
    updated_at: AT,
    history: [{ at: AT, from: 'AWAITING_APPROVAL', to: 'DISPATCHING' }],
    ...extra,
  };
}

describe('publish handler: the low-balance state and dispatch requests', () => {
  it('turns a move of FUNDS#low to low into exactly one Funds Low entry, and nothing for the rest', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    const { handler } = handlerWith();
    const result = await handler(
      {
        Records: [
          itemRecord('300', 'FUNDS#low', FUNDS_OK, FUNDS_LOW),
          // Still low (a redelivery of an unchanged state), and back above: no event.
          itemRecord('301', 'FUNDS#low', FUNDS_LOW, { ...FUNDS_LOW, changed_at: '2026-11-27T05:00:00.000Z' }),
          itemRecord('302', 'FUNDS#low', FUNDS_LOW, FUNDS_OK),
        ],
      },
      context,
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: BUS,
          Source: PAYOUT_EVENT_SOURCE,
          DetailType: 'Funds Low',
          Detail: JSON.stringify({
            id: `funds-low:${AT}`,
            amt_balance: '1.00',
            waiting_amount: '4.00',
            low_balance_amount: '500.00',
            occurred_at: AT,
          }),
          Time: new Date(AT),
        },
      ],
    });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 0);
  });

  it('sends one dispatch message per new dispatch request of a batch, and none for other batch writes', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const { handler } = handlerWith();
    const result = await handler(
      {
        Records: [
          // A versioned write that does not touch the request (a settlement): nothing to send.
          itemRecord('400', 'BATCH#B-1', batchImage(), batchImage({ version: 5 })),
          itemRecord(
            '401',
            'BATCH#B-1',
            batchImage({ version: 5 }),
            batchImage({ version: 5, dispatch_request: `${AT}#a1` }),
          ),
          // The same request seen again on a later write of the record: already sent.
          itemRecord(
            '402',
            'BATCH#B-1',
            batchImage({ version: 5, dispatch_request: `${AT}#a1` }),
            batchImage({ version: 6, dispatch_request: `${AT}#a1` }),
          ),
        ],
      },
      context,
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: JSON.stringify({ batch_id: 'B-1' }),
      MessageGroupId: 'batches',
    });
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });

  it('counts a dispatch request SQS refused and holds back no payout event for it', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('ServiceUnavailable'));
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    const paid = change('D1', 'PROCESSING', 'SUCCESS');
    const { handler, metrics } = handlerWith();
    const result = await handler(
      {
        Records: [
          itemRecord('500', 'BATCH#B-1', batchImage(), batchImage({ version: 5 })),
          itemRecord(
            '501',
            'BATCH#B-1',
            batchImage({ version: 5 }),
            batchImage({ version: 5, dispatch_request: `${AT}#b2` }),
          ),
          record('502', paid.old, paid.next),
        ],
      },
      context,
    );
    // Not retried from the stream: the payout event after it is delivered, and the batch's next due look
    // writes a new request.
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(metrics.get(METRICS.dispatchRequestsFailed)).toBe(1);
    expect(metrics.get(METRICS.eventRecordsRetried) ?? 0).toBe(0);
  });
});
