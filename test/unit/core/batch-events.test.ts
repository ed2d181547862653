import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { publishStreamRecords } from '../../../src/adapters/eventbridge/stream-publish';
import { batchEventsFromChange } from '../../../src/core/batch-events';
import type { BatchRecord } from '../../../src/core/batch-model';
import type { PayoutEvent } from '../../../src/core/events';
import { CapturingLog } from '../../support/fakes';

const accepted: BatchRecord = {
  batch_id: 'B1',
  status: 'AWAITING_APPROVAL',
  version: 1,
  item_count: 3,
  total_fen: 600,
  total_amount: '6.00',
  content_digest: 'd',
  created_by: 'alice',
  created_at: '2026-11-27T04:00:00.000Z',
  updated_at: '2026-11-27T04:00:00.000Z',
  history: [{ at: '2026-11-27T04:00:00.000Z', from: null, to: 'AWAITING_APPROVAL', principal: 'alice' }],
};

function next(record: BatchRecord, patch: Partial<BatchRecord>, note?: string): BatchRecord {
  const status = patch.status ?? record.status;
  return {
    ...record,
    ...patch,
    version: record.version + 1,
    updated_at: '2026-11-27T05:00:00.000Z',
    history: [
      ...record.history,
      { at: '2026-11-27T05:00:00.000Z', from: record.status, to: status, ...(note ? { note } : {}) },
    ],
  };
}

describe('batch events', () => {
  it('Accepted on creation, Approved, Denied and Voided with principal, counts and total', () => {
    expect(batchEventsFromChange(undefined, accepted)).toEqual([
      {
        source: 'lianlian-payout',
        detailType: 'Batch Accepted',
        detail: {
          id: 'batch:B1:1',
          batch_id: 'B1',
          status: 'AWAITING_APPROVAL',
          previous_status: null,
          item_count: 3,
          total_amount: '6.00',
          principal: 'alice',
          occurred_at: '2026-11-27T04:00:00.000Z',
        },
      },
    ]);
    const approved = next(accepted, { status: 'DISPATCHING', approved_by: 'bob' });
    expect(batchEventsFromChange(accepted, approved)[0]).toMatchObject({
      detailType: 'Batch Approved',
      detail: { id: 'batch:B1:2', principal: 'bob', previous_status: 'AWAITING_APPROVAL' },
    });
    const denied = next(accepted, { status: 'DENIED', denied_by: 'bob' }, 'wrong month');
    expect(batchEventsFromChange(accepted, denied)[0]).toMatchObject({
      detailType: 'Batch Denied',
      detail: { principal: 'bob', reason: 'wrong month' },
    });
    const voided = next(approved, { status: 'VOIDED', voided_by: 'system:expiry' });
    expect(batchEventsFromChange(approved, voided)[0]).toMatchObject({
      detailType: 'Batch Voided',
      detail: { principal: 'system:expiry' },
    });
    // Bookkeeping (leaving the due index) is no event.
    expect(batchEventsFromChange(voided, { ...voided, version: voided.version + 1 })).toEqual([]);
  });

  it('the stream publisher turns BATCH# records into batch events, not malformed payouts', async () => {
    const image = (r: BatchRecord) =>
      marshall({ ...r, no_order: `BATCH#${r.batch_id}`, open_shard: 'OPEN#1' });
    const published: PayoutEvent[] = [];
    const log = new CapturingLog();
    const outcome = await publishStreamRecords(
      [
        { eventName: 'INSERT', dynamodb: { NewImage: image(accepted) } },
        {
          eventName: 'MODIFY',
          dynamodb: {
            OldImage: image(accepted),
            NewImage: image(next(accepted, { status: 'DENIED', denied_by: 'bob' })),
          },
        },
      ],
      {
        publish: async (events) => {
          published.push(...events);
          return { failed: [] };
        },
      },
      log,
    );
    expect(outcome).toEqual({ published: 2, malformed: 0 });
    expect(published.map((e) => e.detailType)).toEqual(['Batch Accepted', 'Batch Denied']);
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
  });
});
