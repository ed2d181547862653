import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoBatchStore } from '../../src/adapters/dynamodb/batch-store';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { voidPayout } from '../../src/core/approvals';
import { BatchValidationError } from '../../src/core/batch-input';
import {
  acceptBatch,
  approveBatch,
  type BatchDeps,
  denyBatch,
  getBatchView,
  listBatchItems,
  voidBatch,
} from '../../src/core/batches';
import { type ControlPolicy, NO_CONTROLS } from '../../src/core/controls';
import { ConflictError, ForbiddenError, InvalidStateError, LimitExceededError } from '../../src/core/errors';
import { createPayout } from '../../src/core/payouts';
import { makeDeps } from '../support/fakes';
import { useLocalTables } from '../support/local-tables';
import { RecordingDispatchTrigger } from '../support/memory-batch-store';

/**
 * Batch acceptance against DynamoDB Local with the real stores: all or nothing (a bad row, a taken
 * number, a race with a single POST), repeats, approval by a second person, deny, void, the by-batch
 * index views and the due index entry of the batch record.
 */

const CARD = '6222020000000000123';
const HEADER = 'no_order,money_order,card_no,acct_name,flag_card,info_order';

let client: DynamoDBClient;
const local = useLocalTables();

beforeAll(() => {
  client = local.client();
});

async function setup(controls: Partial<ControlPolicy> = {}) {
  const tableName = await local.freshTable('batches');
  const store = new DynamoOrderStore({ client, tableName });
  const trigger = new RecordingDispatchTrigger();
  const deps: BatchDeps = {
    ...makeDeps({ store, config: { controls: { ...NO_CONTROLS, ...controls } } }),
    batches: new DynamoBatchStore({ client, tableName }),
    dispatch: trigger,
  };
  return { deps, trigger, tableName };
}

function numbers(prefix: string, n: number): string[] {
  const tag = randomUUID().replaceAll('-', '').slice(0, 8);
  return Array.from({ length: n }, (_, i) => `${prefix}${tag}${i + 1}`);
}

function csv(nos: readonly string[], amount = (i: number) => `${i + 1}.00`): string {
  return [HEADER, ...nos.map((no, i) => `${no},${amount(i)},${CARD},"张三",0,"row ${i + 1}"`)].join('\r\n');
}

async function stored(tableName: string, key: string) {
  const out = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { no_order: { S: key } }, ConsistentRead: true }),
  );
  return out.Item ? unmarshall(out.Item) : undefined;
}

describe('batch acceptance on DynamoDB', () => {
  it('accepts 30 rows: items QUEUED in the by-batch index, the record in the due index, views page', async () => {
    const { deps, trigger, tableName } = await setup();
    const nos = numbers('A', 30);
    const result = await acceptBatch(deps, 'ok-1', { kind: 'csv', text: csv(nos) }, 'alice');
    expect(result).toMatchObject({
      created: true,
      view: { status: 'DISPATCHING', item_count: 30, total_amount: '465.00', counts: { QUEUED: 30 } },
    });
    expect(trigger.ready).toEqual(['ok-1']);
    const record = await stored(tableName, 'BATCH#ok-1');
    expect(record).toMatchObject({ status: 'DISPATCHING', open_shard: expect.stringMatching(/^OPEN#/) });
    const due = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: PAYOUTS_TABLE.openIndex.name,
        KeyConditionExpression: 'open_shard = :s',
        ExpressionAttributeValues: { ':s': { S: record?.open_shard as string } },
      }),
    );
    expect(due.Items?.some((i) => i.no_order?.S === 'BATCH#ok-1')).toBe(true);
    const first = await listBatchItems(deps, 'ok-1', { limit: '20' });
    expect(first.items).toHaveLength(20);
    expect(first.items[0]).toMatchObject({
      no_order: nos[0],
      batch_seq: 1,
      status: 'QUEUED',
      money_order: '1.00',
    });
    const rest = await listBatchItems(deps, 'ok-1', { limit: '20', cursor: first.next_cursor! });
    expect(rest.items.map((i) => i.batch_seq)).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
    expect(rest.next_cursor).toBeNull();
    // The status filter pages exactly, whatever the filter skipped.
    await voidPayout(deps, nos[4]!, 'bob');
    await voidPayout(deps, nos[24]!, 'bob');
    const v1 = await listBatchItems(deps, 'ok-1', { status: 'VOIDED', limit: '1' });
    expect(v1.items.map((i) => i.batch_seq)).toEqual([5]);
    const v2 = await listBatchItems(deps, 'ok-1', { status: 'VOIDED', limit: '1', cursor: v1.next_cursor! });
    expect(v2.items.map((i) => [i.batch_seq, i.status, i.voided_by])).toEqual([[25, 'VOIDED', 'bob']]);
    const v3 = await listBatchItems(deps, 'ok-1', { status: 'VOIDED', limit: '1', cursor: v2.next_cursor! });
    expect(v3).toEqual({ items: [], next_cursor: null });
    expect((await getBatchView(deps, 'ok-1')).counts).toEqual({ VOIDED: 2, QUEUED: 28 });
  });

  it('records nothing when a row is bad or a number is taken by a single payout', async () => {
    const { deps, tableName } = await setup();
    const nos = numbers('B', 5);
    await createPayout(deps, {
      no_order: nos[3],
      money_order: '1.00',
      card_no: CARD,
      acct_name: '张三',
      flag_card: '0',
      info_order: 'single',
    });
    await expect(acceptBatch(deps, 'bad-1', { kind: 'csv', text: csv(nos) }, 'alice')).rejects.toMatchObject({
      fields: [{ row: 4, field: 'no_order', message: 'is already used by another payout' }],
    });
    for (const no of [nos[0]!, nos[4]!]) expect(await stored(tableName, no)).toBeUndefined();
    expect(await stored(tableName, 'BATCH#bad-1')).toBeUndefined();
  });

  it('a single POST racing one of the numbers: the batch writes nothing that stays, the POST wins', async () => {
    const { deps, tableName } = await setup();
    const nos = numbers('C', 200);
    const single = {
      no_order: nos[150]!,
      money_order: '1.00',
      card_no: CARD,
      acct_name: '张三',
      flag_card: '0',
      info_order: 'single',
    };
    // Started together. Whichever wins the number, the batch is never half recorded: either it is whole
    // (and the POST found a batch item with other fields: 409), or it recorded nothing (400 naming the row).
    const [batch, post] = await Promise.allSettled([
      acceptBatch(deps, 'race-1', { kind: 'csv', text: csv(nos) }, 'alice'),
      createPayout(deps, single),
    ]);
    if (batch.status === 'fulfilled') {
      // The batch took the number first: the POST found a batch item with other fields.
      expect(post.status === 'rejected' && post.reason instanceof ConflictError).toBe(true);
      expect((await getBatchView(deps, 'race-1')).item_count).toBe(200);
    } else {
      expect(batch.reason).toBeInstanceOf(BatchValidationError);
      expect((batch.reason as BatchValidationError).fields).toEqual([
        { row: 151, field: 'no_order', message: 'is already used by another payout' },
      ]);
      expect(post.status).toBe('fulfilled');
      expect(await stored(tableName, 'BATCH#race-1')).toBeUndefined();
      const left = await Promise.all(nos.map((no) => stored(tableName, no)));
      expect(left.filter(Boolean).map((o) => o?.no_order)).toEqual([nos[150]]);
    }
  });

  it('identical repeat → the view; same id with other content → 409', async () => {
    const { deps } = await setup();
    const nos = numbers('D', 3);
    await acceptBatch(deps, 'rep-1', { kind: 'csv', text: csv(nos) }, 'alice');
    const again = await acceptBatch(deps, 'rep-1', { kind: 'csv', text: csv(nos) }, 'alice');
    expect(again).toMatchObject({ created: false, view: { item_count: 3 } });
    await expect(
      acceptBatch(deps, 'rep-1', { kind: 'csv', text: csv(nos, () => '9.00') }, 'alice'),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it('over the daily limit: 422, nothing recorded, the counter unchanged', async () => {
    const { deps, tableName } = await setup({ dailyLimitFen: 1_000 });
    const nos = numbers('E', 5);
    await expect(acceptBatch(deps, 'lim-1', { kind: 'csv', text: csv(nos) }, 'alice')).rejects.toMatchObject({
      limit: 'daily_amount',
      fields: [{ remaining: '10.00' }],
    });
    expect(await stored(tableName, nos[0]!)).toBeUndefined();
    const ok = numbers('F', 4);
    await acceptBatch(deps, 'lim-2', { kind: 'csv', text: csv(ok) }, 'alice');
    expect(await stored(tableName, 'LIMIT#2026-11-27')).toMatchObject({ amount_fen: 1_000, count: 4 });
    expect(await stored(tableName, ok[0]!)).toMatchObject({ limit_held: true, limit_day: '2026-11-27' });
  });
});

describe('batch approval on DynamoDB', () => {
  const controls = { approvalMinBatchFen: 500, dailyLimitFen: 100_000, payeeDailyLimitFen: 100_000 };

  it('self-approval 403; a second person approves and reserves day + payee counters once', async () => {
    const { deps, trigger, tableName } = await setup(controls);
    const nos = numbers('G', 3);
    const accepted = await acceptBatch(deps, 'ap-1', { kind: 'csv', text: csv(nos) }, 'alice');
    expect(accepted.view.status).toBe('AWAITING_APPROVAL');
    await expect(approveBatch(deps, 'ap-1', 'alice')).rejects.toBeInstanceOf(ForbiddenError);
    const approved = await approveBatch(deps, 'ap-1', 'bob');
    expect(approved).toMatchObject({ status: 'DISPATCHING', approved_by: 'bob' });
    expect(trigger.ready).toEqual(['ap-1']);
    expect(await stored(tableName, 'LIMIT#2026-11-27')).toMatchObject({ amount_fen: 600, count: 3 });
    const item = await stored(tableName, nos[0]!);
    expect(item).toMatchObject({ status: 'QUEUED', limit_held: true, payee_key: expect.any(String) });
    expect(await stored(tableName, `LIMIT#2026-11-27#P#${item?.payee_key}`)).toMatchObject({
      amount_fen: 600,
      count: 3,
    });
  });

  it('concurrent approvals: exactly one wins, the counters move once, the others get invalid_state', async () => {
    const { deps, trigger, tableName } = await setup(controls);
    const nos = numbers('K', 4);
    await acceptBatch(deps, 'ap-race', { kind: 'csv', text: csv(nos) }, 'alice');
    const results = await Promise.allSettled(
      ['bob', 'carol', 'dave', 'erin', 'frank'].map((who) => approveBatch(deps, 'ap-race', who)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InvalidStateError);
    }
    expect(trigger.ready).toEqual(['ap-race']);
    expect(await stored(tableName, 'LIMIT#2026-11-27')).toMatchObject({ amount_fen: 1_000, count: 4 });
    const item = await stored(tableName, nos[0]!);
    expect(await stored(tableName, `LIMIT#2026-11-27#P#${item?.payee_key}`)).toMatchObject({
      amount_fen: 1_000,
      count: 4,
    });
  });

  it('approval over the payee limit: 422, stays AWAITING_APPROVAL, no counter left moved', async () => {
    const { deps, tableName } = await setup({ ...controls, payeeDailyLimitFen: 500 });
    const nos = numbers('H', 3);
    await acceptBatch(deps, 'ap-2', { kind: 'csv', text: csv(nos) }, 'alice');
    await expect(approveBatch(deps, 'ap-2', 'bob')).rejects.toBeInstanceOf(LimitExceededError);
    expect((await deps.batches.getBatch('ap-2'))?.status).toBe('AWAITING_APPROVAL');
    expect(await stored(tableName, 'LIMIT#2026-11-27')).toBeUndefined();
  });

  it('deny → every item DENIED; void of a DISPATCHING batch releases each item', async () => {
    const { deps, tableName } = await setup(controls);
    const nos = numbers('I', 3);
    await acceptBatch(deps, 'dn-1', { kind: 'csv', text: csv(nos) }, 'alice');
    const denied = await denyBatch(deps, 'dn-1', 'bob', 'not this month');
    expect(denied).toMatchObject({ status: 'DENIED', counts: { DENIED: 3 } });
    const more = numbers('J', 3);
    await acceptBatch(deps, 'vd-1', { kind: 'csv', text: csv(more) }, 'alice');
    await approveBatch(deps, 'vd-1', 'bob');
    const voided = await voidBatch(deps, 'vd-1', 'alice');
    expect(voided).toMatchObject({ status: 'VOIDED', counts: { VOIDED: 3 } });
    expect(await stored(tableName, 'LIMIT#2026-11-27')).toMatchObject({ amount_fen: 0, count: 0 });
    expect(await stored(tableName, 'BATCH#vd-1')).not.toHaveProperty('open_shard');
  });
});
