import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { publishStreamRecords } from '../../../../src/adapters/eventbridge/stream-publish';
import type { PayoutEvent, PayoutEventSink } from '../../../../src/core/events';
import { CapturingLog } from '../../../support/fakes';
import { makeOrder } from '../../../support/order-fixtures';

class RecordingSink implements PayoutEventSink {
  readonly delivered: PayoutEvent[] = [];
  async publish(events: readonly PayoutEvent[]) {
    this.delivered.push(...events);
    return { failed: [] };
  }
}

describe('publishStreamRecords and the spending-limit counters sharing the table', () => {
  it('skips counter records silently (no event, not malformed, no error log) and still publishes orders', async () => {
    const sink = new RecordingSink();
    const log = new CapturingLog();
    const counter = (key: string, amount: number) =>
      marshall({ no_order: key, amount_fen: amount, count: 1, expires_at: 1_800_000_000 });
    const waiting = makeOrder({ status: 'AWAITING_APPROVAL', created_by: 'maker' });
    const outcome = await publishStreamRecords(
      [
        { eventID: '1', eventName: 'INSERT', dynamodb: { NewImage: counter('LIMIT#2026-11-27', 100) } },
        {
          eventID: '2',
          eventName: 'MODIFY',
          dynamodb: {
            OldImage: counter('LIMIT#2026-11-27#P#abc', 100),
            NewImage: counter('LIMIT#2026-11-27#P#abc', 200),
          },
        },
        { eventID: '3', eventName: 'INSERT', dynamodb: { NewImage: marshall(waiting) } },
      ],
      sink,
      log,
    );
    expect(outcome).toEqual({ published: 1, malformed: 0 });
    expect(sink.delivered.map((e) => e.detailType)).toEqual(['Payout Awaiting Approval']);
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
  });
});

describe('publishStreamRecords and the funds items sharing the table (issue 13)', () => {
  it('skips BALANCE#<day> and FUNDS#check silently, and turns a move of FUNDS#low to low into Funds Low', async () => {
    const sink = new RecordingSink();
    const log = new CapturingLog();
    const at = '2026-11-27T04:00:00.000Z';
    const outcome = await publishStreamRecords(
      [
        {
          eventID: '1',
          eventName: 'INSERT',
          dynamodb: { NewImage: marshall({ no_order: 'BALANCE#2026-11-27', first_fen: 100, last_fen: 100 }) },
        },
        {
          eventID: '2',
          eventName: 'MODIFY',
          dynamodb: {
            OldImage: marshall({
              no_order: 'FUNDS#low',
              low: false,
              changed_at: at,
              balance_fen: 900,
              waiting_fen: 0,
            }),
            NewImage: marshall({
              no_order: 'FUNDS#low',
              low: true,
              changed_at: at,
              balance_fen: 100,
              waiting_fen: 400,
            }),
          },
        },
        { eventID: '3', eventName: 'INSERT', dynamodb: { NewImage: marshall({ no_order: 'FUNDS#check' }) } },
      ],
      sink,
      log,
    );
    expect(outcome).toEqual({ published: 1, malformed: 0 });
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
    expect(sink.delivered.map((e) => [e.detailType, e.detail.id])).toEqual([
      ['Funds Low', `funds-low:${at}`],
    ]);
  });

  it('needs only `low` of the state it moved from: a crossing is not lost to an old image without figures', async () => {
    // The crossing is decided by the new image; the old one only says whether it was low already. An old
    // image without the figures (an item reset by hand, or written before they were stored) must not turn
    // the one write that wins a crossing into a skipped record.
    const sink = new RecordingSink();
    const log = new CapturingLog();
    const at = '2026-11-27T04:00:00.000Z';
    const outcome = await publishStreamRecords(
      [
        {
          eventID: '8',
          eventName: 'MODIFY',
          dynamodb: {
            OldImage: marshall({ no_order: 'FUNDS#low', low: false }),
            NewImage: marshall({
              no_order: 'FUNDS#low',
              low: true,
              changed_at: at,
              balance_fen: 100,
              waiting_fen: 400,
            }),
          },
        },
      ],
      sink,
      log,
    );
    expect(outcome).toEqual({ published: 1, malformed: 0 });
    expect(sink.delivered.map((e) => [e.detailType, e.detail.id])).toEqual([
      ['Funds Low', `funds-low:${at}`],
    ]);
  });

  it('counts a FUNDS#low image without its figures as malformed: no event made up from it', async () => {
    const sink = new RecordingSink();
    const log = new CapturingLog();
    const outcome = await publishStreamRecords(
      [
        {
          eventID: '9',
          eventName: 'MODIFY',
          dynamodb: {
            OldImage: marshall({ no_order: 'FUNDS#low', low: false }),
            NewImage: marshall({ no_order: 'FUNDS#low', low: true }),
          },
        },
      ],
      sink,
      log,
    );
    expect(outcome).toEqual({ published: 0, malformed: 1 });
    expect(sink.delivered).toEqual([]);
    expect(log.records.filter((r) => r.level === 'error')).toHaveLength(1);
  });
});

describe('publishStreamRecords when both events and dispatch requests fail', () => {
  const AT = '2026-11-27T04:30:00.000Z';
  const batch = (extra: Record<string, unknown> = {}) =>
    marshall({
      no_order: 'BATCH#B-1',
      batch_id: 'B-1',
      status: 'DISPATCHING',
      version: 5,
      item_count: 2,
      total_amount: '4.00',
      created_at: AT,
      updated_at: AT,
      history: [],
      ...extra,
    });
  const requestRecord = (id: string) => ({
    eventID: id,
    eventName: 'MODIFY',
    dynamodb: { OldImage: batch(), NewImage: batch({ dispatch_request: `${AT}#${id}` }) },
  });
  const orderRecord = (id: string, noOrder: string) => ({
    eventID: id,
    eventName: 'INSERT',
    dynamodb: {
      NewImage: marshall(makeOrder({ no_order: noOrder, status: 'AWAITING_APPROVAL', created_by: 'maker' })),
    },
  });
  /** Refuses every event whose no_order is in `refused`; counts the dispatch sends. */
  const parts = (refused: readonly string[], sendFails: boolean) => {
    const sent: string[] = [];
    const sink: PayoutEventSink = {
      publish: async (events) => ({
        failed: events.flatMap((e, i) => (refused.includes(String(e.detail.no_order)) ? [i] : [])),
      }),
    };
    const trigger = {
      batchReady: async (batchId: string) => {
        sent.push(batchId);
        if (sendFails) throw new Error('ServiceUnavailable');
      },
    };
    return { sink, trigger, sent };
  };

  it('a refused send retries nothing: the records after it are not held back, and it is counted', async () => {
    const { sink, trigger, sent } = parts([], true);
    const log = new CapturingLog();
    const outcome = await publishStreamRecords(
      [orderRecord('0', 'PO-1'), requestRecord('1'), orderRecord('2', 'PO-2')],
      sink,
      log,
      trigger,
    );
    expect(outcome).toEqual({ published: 2, malformed: 0, dispatchRequestsFailed: 1 });
    expect(sent).toEqual(['B-1']);
    expect(log.records.filter((r) => r.level === 'error').map((r) => r.attributes?.batch_id)).toEqual([
      'B-1',
    ]);
  });

  it('a refused event still retries from its record, and the requests are still sent', async () => {
    const { sink, trigger, sent } = parts(['PO-2'], false);
    const outcome = await publishStreamRecords(
      [orderRecord('0', 'PO-1'), requestRecord('1'), orderRecord('2', 'PO-2')],
      sink,
      new CapturingLog(),
      trigger,
    );
    expect(outcome).toEqual({ published: 1, malformed: 0, firstFailed: 2 });
    expect(sent).toEqual(['B-1']);
  });
});
