import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensurePayoutsTable, LOCAL_AWS, localDynamoClient } from '../../local/dynamodb';
import { fileCheckpoints, lineLog } from '../../local/events';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { DynamoStreamPoller } from '../../src/adapters/dynamodb/stream-poller';
import { publishStreamRecords } from '../../src/adapters/eventbridge/stream-publish';
import type { PayoutEvent, PayoutEventSink } from '../../src/core/events';
import type { PayoutStatus } from '../../src/core/status';
import { makeOrder, testNoOrder } from '../support/order-fixtures';

/**
 * The stream poller against DynamoDB Local's real stream: it must never move past a record whose events
 * were not delivered, and must resume where it left off after a restart.
 */

let client: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tableName: string;
let store: DynamoOrderStore;
let dir: string;

beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  client = localDynamoClient(endpoint);
  streams = new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint });
  tableName = `events-poller-${randomUUID()}`;
  await ensurePayoutsTable(client, tableName);
  store = new DynamoOrderStore({ client, tableName });
  dir = mkdtempSync(join(tmpdir(), 'poller-'));
});

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
  streams.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A sink that refuses chosen events once each (a partial PutEvents failure) and records the rest. */
class ScriptedSink implements PayoutEventSink {
  readonly delivered: PayoutEvent[] = [];
  constructor(readonly refuseOnce = new Set<string>()) {}
  async publish(events: readonly PayoutEvent[]) {
    const failed: number[] = [];
    events.forEach((event, i) => {
      if (this.refuseOnce.delete(event.detail.id)) failed.push(i);
      else this.delivered.push(event);
    });
    return { failed };
  }
  ids(): string[] {
    return this.delivered.map((e) => e.detail.id);
  }
}

/** Creates an order and moves it to a final status: one INSERT and one MODIFY in the stream. */
async function finalOrder(to: PayoutStatus): Promise<string> {
  const order = makeOrder({ no_order: testNoOrder('P'), status: 'ACCEPTED' });
  await store.create(order);
  const at = new Date().toISOString();
  await store.update(order, {
    status: to,
    set: {},
    history: { at, source: 'notify', from: 'ACCEPTED', to },
    at,
  });
  return `${order.no_order}:2`;
}

function poller(sink: PayoutEventSink, checkpointPath: string) {
  const log = lineLog('[poller-test]', () => undefined);
  return new DynamoStreamPoller({
    dynamo: client,
    streams,
    tableName,
    handle: (records) => publishStreamRecords(records, sink, log),
    log,
    pollMs: 20,
    retryMs: 20,
    checkpoints: fileCheckpoints(checkpointPath),
  });
}

describe('DynamoStreamPoller on DynamoDB Local', () => {
  const checkpoint = () => join(dir, 'checkpoint.json');

  it('retries from the first record whose event was refused; nothing before it is sent again', async () => {
    const a = await finalOrder('SUCCESS');
    const b = await finalOrder('FAILURE');
    const c = await finalOrder('REJECTED');
    const sink = new ScriptedSink(new Set([b]));
    const p = poller(sink, checkpoint());
    p.start();
    try {
      await p.caughtUp(5_000);
    } finally {
      await p.stop();
    }
    const ids = sink.ids();
    // a once; b after its retry; c delivered in the first attempt and again when the retry re-read it
    // (at least once: consumers deduplicate on id).
    expect(ids.filter((id) => id === a)).toHaveLength(1);
    expect(ids.filter((id) => id === b)).toHaveLength(1);
    expect(ids.filter((id) => id === c).length).toBeGreaterThanOrEqual(1);
    expect(ids.indexOf(a)).toBeLessThan(ids.indexOf(b));
    expect(ids.lastIndexOf(c)).toBeGreaterThan(ids.indexOf(b));
  });

  it('resumes after a restart from its checkpoint: no replay of what was delivered, nothing skipped', async () => {
    // Written while no poller runs (the crash window between a state write and its publish).
    const d = await finalOrder('SUCCESS');
    const sink = new ScriptedSink();
    const p = poller(sink, checkpoint());
    p.start();
    try {
      await p.caughtUp(5_000);
    } finally {
      await p.stop();
    }
    expect(sink.ids()).toEqual([d]);
  });

  it('keeps a record undelivered for as long as the sink fails, then delivers it', async () => {
    const e = await finalOrder('CANCEL');
    let failures = 0;
    const sink = new ScriptedSink();
    const flaky: PayoutEventSink = {
      publish: async (events) => {
        if (failures < 4) {
          failures++;
          throw new Error('bus unavailable');
        }
        return sink.publish(events);
      },
    };
    const p = poller(flaky, checkpoint());
    p.start();
    try {
      await p.caughtUp(5_000);
    } finally {
      await p.stop();
    }
    expect(failures).toBe(4);
    expect(sink.ids()).toEqual([e]);
  });
});
