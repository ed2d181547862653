import { randomBytes } from 'node:crypto';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { ensurePayoutsTable, localDynamoClient } from '../local/dynamodb';
import { DynamoOrderStore } from '../src/adapters/dynamodb/order-store';
import { DynamoSearchReader } from '../src/adapters/dynamodb/search-reader';
import type { PayoutOrder } from '../src/core/model';
import { filterKeyOf, listPayouts, parseListQuery } from '../src/core/search';
import type { PayoutStatus } from '../src/core/status';
import { startBenchDynamo } from './dynamo';

/**
 * `rru_per_list_page` (issue 12): the read capacity of one page of 50 of GET /payouts (no filter, by
 * date), measured with ReturnConsumedCapacity against DynamoDB Local: the four by-day Queries (KEYS_ONLY)
 * plus the BatchGetItem of the page's 50 orders (eventually consistent, 0.5 RRU per order up to 4 KB).
 * Orders are realistic in size: a sealed payee, a few history entries.
 */

export interface ListPageResult {
  readonly orders: number;
  readonly pages: number;
  readonly pageSize: number;
  /** Mean RRU per page, and its parts. */
  readonly rruPerPage: number;
  readonly queryRruPerPage: number;
  readonly batchGetRruPerPage: number;
}

export const LIST_PAGE_SIZES = { orders: 400, pages: 6 } as const;
export const QUICK_LIST_PAGE_SIZES = { orders: 120, pages: 2 } as const;

const STATUSES: PayoutStatus[] = ['SUCCESS', 'SUCCESS', 'SUCCESS', 'PROCESSING', 'FAILURE'];

function benchOrder(i: number, createdAt: string): PayoutOrder {
  const status = STATUSES[i % STATUSES.length]!;
  return {
    no_order: `LP${String(i).padStart(6, '0')}${randomBytes(4).toString('hex')}`,
    status,
    version: 4,
    money_fen: 12_345,
    money_order: '123.45',
    flag_card: '0',
    info_order: 'salary november',
    dt_order: '20261130120000',
    // A sealed payee is about this long (envelope: wrapped data key, IV, tag, ciphertext; base64).
    payee_sealed: randomBytes(330).toString('base64'),
    card_no_masked: '622202******0123',
    acct_name_masked: '测**',
    request_digest: randomBytes(32).toString('hex'),
    oid_paybill: '2026113000012345',
    result_pay: status,
    settle_date: '20261130',
    ret_code: '0000',
    ret_msg: '交易成功',
    created_at: createdAt,
    updated_at: createdAt,
    applied_at: createdAt,
    apply_attempts: 1,
    check_count: 1,
    anomalies: 0,
    created_by: 'arn:aws-cn:sts::000000000000:assumed-role/PayoutJob/batch',
    history: [
      {
        at: createdAt,
        source: 'apply',
        from: 'PENDING',
        to: 'ACCEPTED',
        ret_code: '0000',
        note: 'apply accepted',
      },
      { at: createdAt, source: 'notify', from: 'ACCEPTED', to: 'PROCESSING', result_pay: 'PROCESSING' },
      { at: createdAt, source: 'notify', from: 'PROCESSING', to: status, result_pay: status },
    ],
  };
}

export async function listPageBench(
  endpoint: string,
  sizes: { orders: number; pages: number },
  progress: (line: string) => void,
): Promise<ListPageResult> {
  const client = localDynamoClient(endpoint);
  const tableName = `bench-list-${randomBytes(4).toString('hex')}`;
  try {
    await ensurePayoutsTable(client, tableName);
    const store = new DynamoOrderStore({ client, tableName });
    // Two China days, so a page can cross a day boundary as it does in use.
    const start = Date.parse('2026-11-28T16:00:00.000Z');
    const step = Math.floor((2 * 86_400_000) / sizes.orders);
    const orders = Array.from({ length: sizes.orders }, (_, i) =>
      benchOrder(i, new Date(start + i * step).toISOString()),
    );
    for (let i = 0; i < orders.length; i += 25)
      await Promise.all(orders.slice(i, i + 25).map((o) => store.create(o)));
    progress(`list_page: ${sizes.orders} orders written`);

    let query = 0;
    let batchGet = 0;
    const reader = new DynamoSearchReader({
      client,
      tableName,
      onConsumedCapacity: (operation, capacity: ConsumedCapacity[]) => {
        const units = capacity.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        if (operation === 'searchBatchGet') batchGet += units;
        else query += units;
      },
    });
    const params: Record<string, string> = { from: '2026-11-29', to: '2026-11-30', limit: '50' };
    const now = new Date('2026-11-30T12:00:00.000Z');
    let cursor: string | null = null;
    let pages = 0;
    for (; pages < sizes.pages; pages++) {
      const withCursor: Record<string, string> = cursor ? { ...params, cursor } : params;
      const page = await listPayouts(reader, parseListQuery(withCursor, now), filterKeyOf(withCursor));
      if (page.items.length !== 50)
        throw new Error(`list_page: page ${pages + 1} had ${page.items.length} items`);
      cursor = page.next_cursor;
      if (!cursor) {
        pages++;
        break;
      }
    }
    const result: ListPageResult = {
      orders: sizes.orders,
      pages,
      pageSize: 50,
      rruPerPage: round((query + batchGet) / pages),
      queryRruPerPage: round(query / pages),
      batchGetRruPerPage: round(batchGet / pages),
    };
    progress(
      `list_page: ${result.rruPerPage} RRU per page of 50 (Query ${result.queryRruPerPage}, BatchGetItem ${result.batchGetRruPerPage})`,
    );
    return result;
  } finally {
    client.destroy();
  }
}

/** The bench on a DynamoDB Local of its own (started and stopped here). */
export async function runListPageBench(
  sizes: { orders: number; pages: number },
  progress: (line: string) => void,
): Promise<ListPageResult> {
  const dynamo = await startBenchDynamo();
  try {
    return await listPageBench(dynamo.endpoint, sizes, progress);
  } finally {
    await dynamo.stop();
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
