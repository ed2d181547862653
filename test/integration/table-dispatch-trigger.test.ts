import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../local/dynamodb';
import { lineLog } from '../../local/events';
import { DynamoBatchStore } from '../../src/adapters/dynamodb/batch-store';
import { DynamoStreamPoller, type StreamCheckpoints } from '../../src/adapters/dynamodb/stream-poller';
import { TableDispatchTrigger } from '../../src/adapters/dynamodb/table-dispatch-trigger';
import { publishStreamRecords } from '../../src/adapters/eventbridge/stream-publish';
import type { BatchRecord } from '../../src/core/batch-model';
import { useLocalTables } from '../support/local-tables';

/**
 * Reconciliation's re-trigger on AWS (TableDispatchTrigger): a request written on the batch record, which
 * the stream's publisher turns into one dispatch message. Against DynamoDB Local and its real stream.
 */

const tables = useLocalTables();
const AT = '2026-11-30T02:00:00.000Z';

function batch(batchId: string): BatchRecord {
  return {
    batch_id: batchId,
    status: 'DISPATCHING',
    version: 3,
    item_count: 2,
    total_fen: 300,
    total_amount: '3.00',
    content_digest: 'digest',
    created_by: 'alice',
    approved_by: 'bob',
    created_at: AT,
    updated_at: AT,
    next_check_at: AT,
    history: [{ at: AT, from: 'AWAITING_APPROVAL', to: 'DISPATCHING', principal: 'bob' }],
  } as BatchRecord;
}

async function rawBatch(tableName: string, batchId: string): Promise<Record<string, unknown> | undefined> {
  const out = await tables.client().send(
    new GetItemCommand({
      TableName: tableName,
      Key: { no_order: { S: `BATCH#${batchId}` } },
      ConsistentRead: true,
    }),
  );
  return out.Item ? unmarshall(out.Item) : undefined;
}

function memoryCheckpoints(): StreamCheckpoints {
  let saved: Record<string, string> = {};
  return {
    load: async () => saved,
    save: async (positions) => {
      saved = { ...positions };
    },
  };
}

describe('TableDispatchTrigger on DynamoDB Local', () => {
  it('writes a request on the batch record without touching its version, and never creates a record', async () => {
    const tableName = await tables.freshTable('dispatch-request');
    const batches = new DynamoBatchStore({ client: tables.client(), tableName });
    await batches.putBatch(batch('B-1'));
    let n = 0;
    const trigger = new TableDispatchTrigger({
      client: tables.client(),
      tableName,
      now: () => new Date(AT),
      nonce: () => `n${++n}`,
    });

    await trigger.batchReady('B-1');
    const first = await rawBatch(tableName, 'B-1');
    expect(first).toMatchObject({ dispatch_request: `${AT}#n1`, version: 3, status: 'DISPATCHING' });
    // A second request in the same millisecond is still a new value (the publisher sends one per value).
    await trigger.batchReady('B-1');
    expect((await rawBatch(tableName, 'B-1'))?.dispatch_request).toBe(`${AT}#n2`);

    // A versioned write made from a read before the request still succeeds, and keeps the request.
    const later = '2026-11-30T02:05:00.000Z';
    const updated = await batches.updateBatch(batch('B-1'), {
      status: 'DISPATCHING',
      set: { next_check_at: later },
      at: later,
    });
    expect(updated.version).toBe(4);
    expect(await rawBatch(tableName, 'B-1')).toMatchObject({ dispatch_request: `${AT}#n2`, version: 4 });

    await trigger.batchReady('NO-SUCH-BATCH');
    expect(await rawBatch(tableName, 'NO-SUCH-BATCH')).toBeUndefined();
  });

  it('the stream publisher sends one dispatch message per request, none for the batch writes around it', async () => {
    const tableName = await tables.freshTable('dispatch-request-stream');
    const batches = new DynamoBatchStore({ client: tables.client(), tableName });
    const batchId = `B-${randomUUID().slice(0, 8)}`;
    await batches.putBatch(batch(batchId));
    await new TableDispatchTrigger({ client: tables.client(), tableName }).batchReady(batchId);
    const later = '2026-11-30T02:05:00.000Z';
    await batches.updateBatch(batch(batchId), {
      status: 'DISPATCHING',
      set: { next_check_at: later },
      at: later,
    });

    const sent: string[] = [];
    const streams = new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    const log = lineLog('[dispatch-request-test]', () => undefined);
    const poller = new DynamoStreamPoller({
      dynamo: tables.client(),
      streams,
      tableName,
      handle: (records) =>
        publishStreamRecords(records, { publish: async () => ({ failed: [] }) }, log, {
          batchReady: async (id) => {
            sent.push(id);
          },
        }),
      log,
      pollMs: 20,
      retryMs: 20,
      checkpoints: memoryCheckpoints(),
    });
    poller.start();
    try {
      await poller.caughtUp(5_000);
    } finally {
      await poller.stop();
      streams.destroy();
    }
    expect(sent).toEqual([batchId]);
  });
});
