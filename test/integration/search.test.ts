import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensurePayoutsTable, localDynamoClient } from '../../local/dynamodb';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { DynamoSearchReader } from '../../src/adapters/dynamodb/search-reader';
import { dayShardFor } from '../../src/adapters/dynamodb/table';
import { chinaDay } from '../../src/core/days';
import { acknowledgeAnomalies, listExceptions } from '../../src/core/exceptions';
import { exportPayouts } from '../../src/core/export';
import type { PayoutOrder } from '../../src/core/model';
import { applyInput } from '../../src/core/payouts';
import type { ReportStore } from '../../src/core/report-store';
import {
  filterKeyOf,
  type ListPage,
  type ListQuery,
  type ListView,
  listPayouts,
  parseListQuery,
  type SearchLimits,
} from '../../src/core/search';
import type { PayoutStatus } from '../../src/core/status';
import { makeDeps } from '../support/fakes';
import { makeOrder } from '../support/order-fixtures';

/**
 * The search against DynamoDB Local: a few hundred orders over four China days (2026-11-26…29) and every
 * by-day shard, some in a batch, some waiting for approval. Each order has its own created_at, so
 * "newest first" is one exact order to compare against.
 */
let client: DynamoDBClient;
let tableName: string;
let reader: DynamoSearchReader;
let store: DynamoOrderStore;
const orders: PayoutOrder[] = [];
const BATCH = `B${randomUUID().slice(0, 8)}`;
const STATUSES: PayoutStatus[] = ['SUCCESS', 'SUCCESS', 'PROCESSING', 'FAILURE', 'SUCCESS', 'UNKNOWN'];
/** 2026-11-25T16:00Z is the start of China day 2026-11-26. */
const START = Date.parse('2026-11-25T16:00:00.000Z');
const COUNT = 320;

function instant(i: number): string {
  // Spread over 4 China days (4 × 86,400 s), 1,080 s apart, plus i ms so no two orders share a time.
  return new Date(START + i * 1_080_000 + i).toISOString();
}

beforeAll(async () => {
  client = localDynamoClient(inject('dynamoEndpoint'));
  tableName = `search-${randomUUID()}`;
  await ensurePayoutsTable(client, tableName);
  store = new DynamoOrderStore({ client, tableName });
  reader = new DynamoSearchReader({ client, tableName });
  for (let i = 0; i < COUNT; i++) {
    const at = instant(i);
    const inBatch = i % 10 === 3;
    const awaiting = i % 25 === 7;
    const status: PayoutStatus = awaiting ? 'AWAITING_APPROVAL' : STATUSES[i % STATUSES.length]!;
    orders.push(
      makeOrder({
        no_order: `S${String(i).padStart(4, '0')}${randomUUID().slice(0, 6)}`,
        status,
        created_at: at,
        updated_at: at,
        applied_at: at,
        ...(status === 'SUCCESS' || status === 'FAILURE' ? { next_check_at: undefined } : {}),
        ...(inBatch ? { batch_id: BATCH, batch_seq: i } : {}),
      }),
    );
  }
  for (let i = 0; i < orders.length; i += 40) {
    await Promise.all(orders.slice(i, i + 40).map((o) => store.create(o)));
  }
}, 120_000);

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
});

const newestFirst = (a: PayoutOrder, b: PayoutOrder) => (a.created_at > b.created_at ? -1 : 1);

async function pageThrough(
  params: Record<string, string>,
  limits?: SearchLimits,
  now = new Date('2026-11-30T00:00:00.000Z'),
): Promise<{ pages: ListPage[]; items: ListView[] }> {
  const pages: ListPage[] = [];
  let cursor: string | null = null;
  do {
    const withCursor: Record<string, string> = cursor ? { ...params, cursor } : params;
    const query: ListQuery = parseListQuery(withCursor, now);
    const page = await listPayouts(reader, query, filterKeyOf(withCursor), limits);
    pages.push(page);
    cursor = page.next_cursor;
    if (pages.length > 100) throw new Error('too many pages');
  } while (cursor);
  return { pages, items: pages.flatMap((p) => p.items) };
}

describe('GET /payouts over the indexes (DynamoDB Local)', () => {
  it('covers all four by-day shards of every day', () => {
    const partitions = new Set(orders.map((o) => dayShardFor(chinaDay(new Date(o.created_at)), o.no_order)));
    expect(partitions.size).toBe(16);
  });

  it('pages newest first across days and shards, without duplicates or gaps', async () => {
    const { pages, items } = await pageThrough({ from: '2026-11-26', to: '2026-11-29', limit: '37' });
    const expected = [...orders].sort(newestFirst).map((o) => o.no_order);
    expect(items.map((v) => v.no_order)).toEqual(expected);
    expect(pages.slice(0, -1).every((p) => p.items.length === 37)).toBe(true);
    expect(pages.at(-1)?.next_cursor).toBeNull();
    // List views leave the history out and carry the batch.
    expect(items[0]).not.toHaveProperty('history');
    expect(items.find((v) => v.batch_id === BATCH)).toBeDefined();
  });

  it('filters by a status the index does not carry, in shorter pages when the work per request is capped', async () => {
    const { pages, items } = await pageThrough(
      { status: 'FAILURE', from: '2026-11-26', to: '2026-11-29', limit: '20' },
      { maxExamined: 60, maxDays: 31 },
    );
    const expected = orders.filter((o) => o.status === 'FAILURE').sort(newestFirst);
    expect(items.map((v) => v.no_order)).toEqual(expected.map((o) => o.no_order));
    expect(items.every((v) => v.status === 'FAILURE')).toBe(true);
    // 60 reads find about 10 FAILUREs: every page stops short of 20 and still carries a cursor.
    expect(pages.slice(0, -1).every((p) => p.items.length < 20 && p.next_cursor !== null)).toBe(true);
  });

  it('takes from/to as instants, inclusive', async () => {
    const from = orders[40]!.created_at;
    const to = orders[99]!.created_at;
    const { items } = await pageThrough({ from, to, limit: '200' });
    expect(items.map((v) => v.no_order)).toEqual(
      orders
        .slice(40, 100)
        .sort(newestFirst)
        .map((o) => o.no_order),
    );
  });

  it('takes one China date as that whole China day (UTC+8)', async () => {
    const { items } = await pageThrough({ from: '2026-11-27', to: '2026-11-27' });
    const expected = orders.filter((o) => chinaDay(new Date(o.created_at)) === '2026-11-27');
    expect(items.map((v) => v.no_order).sort()).toEqual(expected.map((o) => o.no_order).sort());
    expect(items.length).toBe(80);
  });

  it('stops at maxDays per request and resumes on the next day', async () => {
    const { pages, items } = await pageThrough(
      { status: 'CANCEL', from: '2026-11-26', to: '2026-11-29' },
      { maxExamined: 1000, maxDays: 2 },
    );
    expect(items).toEqual([]);
    expect(pages.length).toBe(2);
  });

  it('reads a batch from the by-batch index, newest row first, with a status filter', async () => {
    const batch = orders.filter((o) => o.batch_id === BATCH);
    const all = await pageThrough({ batch_id: BATCH, limit: '7' });
    expect(all.items.map((v) => v.no_order)).toEqual(
      [...batch].sort((a, b) => b.batch_seq! - a.batch_seq!).map((o) => o.no_order),
    );
    const success = await pageThrough({ batch_id: BATCH, status: 'SUCCESS' });
    expect(success.items.map((v) => v.no_order).sort()).toEqual(
      batch
        .filter((o) => o.status === 'SUCCESS')
        .map((o) => o.no_order)
        .sort(),
    );
  });

  it('serves AWAITING_APPROVAL from the awaiting-approval index, newest first', async () => {
    const { items } = await pageThrough({ status: 'AWAITING_APPROVAL', limit: '5' });
    const expected = orders.filter((o) => o.status === 'AWAITING_APPROVAL').sort(newestFirst);
    expect(items.map((v) => v.no_order)).toEqual(expected.map((o) => o.no_order));
  });

  it('refuses a cursor made for other filters', () => {
    const first = { from: '2026-11-26', to: '2026-11-29', limit: '5' };
    const cursor = Buffer.from(
      JSON.stringify({ v: 1, f: filterKeyOf(first), r: { from: 'x', to: 'y' }, k: 'queue', a: {} }),
    ).toString('base64url');
    expect(() => parseListQuery({ ...first, status: 'SUCCESS', cursor }, new Date())).toThrow(/cursor/);
  });

  it('exports every match inline, or through the report store when larger than the inline cap', async () => {
    const params = { from: '2026-11-26', to: '2026-11-29' };
    const query = parseListQuery(params, new Date('2026-11-30T00:00:00.000Z'));
    const inline = await exportPayouts({ reader, now: () => new Date() }, query, filterKeyOf(params));
    expect(inline.kind).toBe('inline');
    expect(inline.rows).toBe(COUNT);
    const puts: { key: string; body: string }[] = [];
    const reports: ReportStore = {
      put: async (key, body) => {
        puts.push({ key, body });
        return { version: '1' };
      },
      get: async () => undefined,
      link: async (key, ttl) => `https://reports.example/${key}?ttl=${ttl}`,
    };
    const large = await exportPayouts(
      { reader, reports, now: () => new Date('2026-11-30T01:00:00.000Z'), inlineMaxBytes: 1024 },
      query,
      filterKeyOf(params),
    );
    expect(large).toMatchObject({ kind: 'link', rows: COUNT, expires_at: '2026-11-30T01:15:00.000Z' });
    expect(puts).toHaveLength(1);
    expect(puts[0]!.key).toMatch(/^exports\/2026-11-30\/.+\.csv$/);
    expect(puts[0]!.body.trim().split('\r\n')).toHaveLength(COUNT + 1);
    if (large.kind === 'link') expect(large.url).toContain(puts[0]!.key);
  });
});

describe('exceptions and the anomalies queue (DynamoDB Local)', () => {
  it('an anomaly joins the queue in the write that records it; the acknowledgement removes it', async () => {
    const own = `exc-${randomUUID()}`;
    await ensurePayoutsTable(client, own);
    try {
      const ownStore = new DynamoOrderStore({ client, tableName: own });
      const ownReader = new DynamoSearchReader({ client, tableName: own });
      const now = new Date('2026-11-30T04:00:00.000Z');
      const deps = makeDeps({ store: ownStore, now });
      const sent = makeOrder({ status: 'PROCESSING', created_at: '2026-11-28T04:00:00.000Z' });
      const unknown = makeOrder({
        status: 'UNKNOWN',
        history: [{ at: '2026-11-30T02:00:00.000Z', source: 'apply', from: 'PENDING', to: 'UNKNOWN' }],
      });
      const fresh = makeOrder({
        status: 'UNKNOWN',
        created_at: '2026-11-30T03:50:00.000Z',
        history: [{ at: '2026-11-30T03:50:00.000Z', source: 'apply', from: 'PENDING', to: 'UNKNOWN' }],
      });
      for (const o of [sent, unknown, fresh]) await ownStore.create(o);
      // A provider result with another amount: recorded as an anomaly by the transition function.
      await applyInput(
        deps,
        undefined,
        { type: 'result', source: 'notify', resultPay: 'SUCCESS', moneyFen: sent.money_fen + 1 },
        sent.no_order,
      );
      const before = await listExceptions(ownReader, { now, stuckAfterMs: 86_400_000 });
      expect(before.anomalies.count).toBe(1);
      expect(before.anomalies.items.map((v) => v.no_order)).toEqual([sent.no_order]);
      expect(before.unknown.items.map((v) => v.no_order)).toEqual([unknown.no_order]);
      expect(before.stuck.items.map((v) => v.no_order)).toEqual([sent.no_order]);
      expect(before.stuck.complete).toBe(true);

      const view = await acknowledgeAnomalies(
        deps,
        sent.no_order,
        'local:olga',
        'amount checked with the bank',
      );
      expect(view).toMatchObject({ status: 'PROCESSING', anomalies: 1, anomalies_acknowledged: 1 });
      expect(view.history.at(-1)).toMatchObject({
        source: 'operator',
        from: 'PROCESSING',
        to: 'PROCESSING',
        principal: 'local:olga',
        note: 'amount checked with the bank',
      });
      const after = await listExceptions(ownReader, { now, stuckAfterMs: 86_400_000 });
      expect(after.anomalies).toMatchObject({ count: 0, items: [] });
      await expect(acknowledgeAnomalies(deps, sent.no_order, 'local:olga', 'again')).rejects.toMatchObject({
        code: 'invalid_state',
      });
    } finally {
      await client.send(new DeleteTableCommand({ TableName: own })).catch(() => undefined);
    }
  });
});
