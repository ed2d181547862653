import { createHash } from 'node:crypto';
import { chinaDay, chinaDayStart, DAY_MS } from './days';
import { ValidationError } from './errors';
import type { PayoutOrder } from './model';
import { isPayoutStatus, type PayoutStatus } from './status';
import { type PayoutView, viewFields } from './view';

/**
 * `GET /payouts?status=&from=&to=&batch_id=&limit=&cursor=` (issue 12): newest first, from indexes only.
 *
 * - `batch_id`: the by-batch index (INCLUDE projection: the rows are read from the index, no BatchGet).
 * - `status` AWAITING_APPROVAL / AWAITING_FUNDS: the awaiting-approval index (queues AWAITING / FUNDS).
 * - otherwise: the by-day index (KEYS_ONLY, 4 shards per China day), each shard queried newest first
 *   within the created_at bounds, merged newest first, then the page's orders fetched with BatchGetItem.
 *   Any other `status` is filtered after reading: a sparse status may cost up to MAX_EXAMINED order reads
 *   (0.5 RRU each) and MAX_DAYS_PER_REQUEST day partitions per request, after which a SHORTER page is
 *   answered with a cursor rather than reading on.
 *
 * Every rule here is plain code over the SearchReader port (src/adapters/dynamodb/search-reader.ts).
 */

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
/** Absent from/to: the last 31 China days (today and the 30 before it), up to now. */
export const DEFAULT_DAYS = 31;
/** The longest range a request may name (a year and a day): bounds how many partitions a search visits. */
export const MAX_RANGE_DAYS = 366;
/** Per request: orders read (and filtered) at most, then a shorter page with a cursor. */
export const MAX_EXAMINED = 1000;
/** Per request: by-day partitions (China days) visited at most, then a shorter page with a cursor. */
export const MAX_DAYS_PER_REQUEST = 31;
/** Orders read per round when filtering by a status the index does not carry (one BatchGetItem). */
const FILTER_CHUNK = 100;

/**
 * What a list row carries: the BatchGet asks for these; the by-batch projection has them all but
 * anomalies_acknowledged, check_count and applied_at (search reads rows with anomalies from the table).
 */
export const LIST_ROW_FIELDS = [
  'no_order',
  'status',
  'money_order',
  'flag_card',
  'card_no_masked',
  'acct_name_masked',
  'oid_paybill',
  'result_pay',
  'settle_date',
  'ret_code',
  'ret_msg',
  'memo',
  'created_at',
  'updated_at',
  'created_by',
  'approved_by',
  'denied_by',
  'voided_by',
  'anomalies',
  'anomalies_acknowledged',
  'batch_id',
  'batch_seq',
  'check_count',
  'applied_at',
] as const satisfies readonly (keyof PayoutOrder)[];

type Required_ =
  | 'no_order'
  | 'status'
  | 'money_order'
  | 'flag_card'
  | 'card_no_masked'
  | 'acct_name_masked'
  | 'created_at'
  | 'updated_at';

/** A payout as a list reads it: never the sealed payee; `history` only when asked for (exceptions). */
export type ListRow = Pick<PayoutOrder, Required_> &
  Partial<Pick<PayoutOrder, Exclude<(typeof LIST_ROW_FIELDS)[number], Required_> | 'history'>>;

/** A list view: the payout view without `history` (GET /payouts/{no_order} keeps it), plus its batch. */
export type ListView = Omit<PayoutView, 'history'> & { readonly batch_id: string | null };

export function toListView(row: ListRow): ListView {
  return {
    ...viewFields(row),
    anomalies: row.anomalies ?? 0,
    anomalies_acknowledged: row.anomalies_acknowledged ?? 0,
    batch_id: row.batch_id ?? null,
  };
}

/** A key of a KEYS_ONLY index: the order and the index's sort key value. */
export interface IndexKey {
  readonly no_order: string;
  /** The index's sort key: created_at (by-day, awaiting), anomaly_at, next_check_at. */
  readonly at: string;
}

export interface KeyPage {
  /** In the order asked for. */
  readonly items: readonly IndexKey[];
  /** Whether the partition has nothing after the last item (within the bounds). */
  readonly exhausted: boolean;
}

export interface Range {
  /** Inclusive ISO-8601 UTC bounds on created_at. */
  readonly from: string;
  readonly to: string;
}

export type Queue = 'AWAITING' | 'FUNDS';

/** The index reads a search needs; the DynamoDB adapter reads the payouts table's GSIs. */
export interface SearchReader {
  /** One by-day partition (`<day>#<shard>`), newest first, created_at within `range`, after `after`. */
  dayShard(partition: string, range: Range, after: IndexKey | undefined, limit: number): Promise<KeyPage>;
  /** A waiting queue of the awaiting-approval index, by created_at, within `range` when given. */
  queue(
    queue: Queue,
    order: 'newest' | 'oldest',
    range: Range | undefined,
    after: IndexKey | undefined,
    limit: number,
  ): Promise<KeyPage>;
  /** How many entries a waiting queue holds (Select COUNT on the index: keys only, cheap). */
  countQueue(queue: Queue | 'ANOMALIES'): Promise<number>;
  /** Orders with unacknowledged anomalies, oldest anomaly first. */
  anomalies(after: IndexKey | undefined, limit: number): Promise<KeyPage>;
  /** One shard of the due index (every open order, any check time), by next_check_at. */
  open(shard: number, after: IndexKey | undefined, limit: number): Promise<KeyPage>;
  /** A batch's items from the by-batch index, by batch_seq descending, after `afterSeq`. */
  batch(
    batchId: string,
    afterSeq: number | undefined,
    limit: number,
  ): Promise<{ readonly rows: readonly ListRow[]; readonly exhausted: boolean }>;
  /**
   * The orders named (BatchGetItem, eventually consistent), LIST_ROW_FIELDS only (plus `history` when
   * asked); missing ones are left out, in any order.
   */
  getMany(noOrders: readonly string[], options?: { history?: boolean }): Promise<readonly ListRow[]>;
}

/** How many by-day partitions each China day has (PAYOUTS_TABLE.byDayIndex.shards). */
export const DAY_SHARDS = 4;

export interface ListQuery {
  readonly status?: PayoutStatus;
  readonly range: Range;
  /** Whether from/to were given (a waiting queue or a batch is then bounded by them too). */
  readonly ranged: boolean;
  readonly batchId?: string;
  readonly limit: number;
  readonly cursor?: Cursor;
}

export interface ListPage {
  readonly items: readonly ListView[];
  readonly next_cursor: string | null;
}

const LIST_PARAMETERS = ['status', 'from', 'to', 'batch_id', 'limit', 'cursor'] as const;
/** The export takes the same filters, without paging. */
export const EXPORT_PARAMETERS = ['status', 'from', 'to', 'batch_id'] as const;

const CHINA_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** An instant must say its offset: a bare local time would be read in whatever zone the server is in. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const BATCH_ID = /^[A-Za-z0-9_-]{1,64}$/;

type Field = { field: string; message: string };

/** A China date (that whole China day) or an ISO-8601 instant, as an inclusive bound; or a problem. */
export function parseBound(value: string, end: 'from' | 'to'): Date | string {
  if (CHINA_DATE.test(value)) {
    const start = chinaDayStart(value);
    // 2026-02-30 parses (and rolls over): a date that does not print back the same is not a date.
    if (Number.isNaN(start.getTime()) || chinaDay(start) !== value) return 'is not a valid date';
    return end === 'from' ? start : new Date(start.getTime() + DAY_MS - 1);
  }
  if (!INSTANT.test(value)) {
    return 'must be a China date (yyyy-mm-dd) or an ISO-8601 instant with its offset';
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return 'is not a valid instant';
  return new Date(ms);
}

/**
 * Validates the query string of GET /payouts (or, with `parameters = EXPORT_PARAMETERS`, of the export).
 * Every problem names its field; unknown parameters are refused by name too, so a typo never silently
 * widens a search.
 */
export function parseListQuery(
  params: Readonly<Record<string, string | undefined>>,
  now: Date,
  parameters: readonly string[] = LIST_PARAMETERS,
): ListQuery {
  const problems: Field[] = [];
  for (const name of Object.keys(params)) {
    if (!parameters.includes(name)) problems.push({ field: name, message: 'is not a supported parameter' });
  }
  let status: PayoutStatus | undefined;
  if (params.status !== undefined) {
    if (isPayoutStatus(params.status)) status = params.status;
    else problems.push({ field: 'status', message: 'is not a payout status' });
  }
  let batchId: string | undefined;
  if (params.batch_id !== undefined) {
    if (BATCH_ID.test(params.batch_id)) batchId = params.batch_id;
    else problems.push({ field: 'batch_id', message: 'must be 1 to 64 of A-Z a-z 0-9 _ -' });
  }
  let limit = DEFAULT_LIMIT;
  if (params.limit !== undefined) {
    const n = /^[0-9]{1,4}$/.test(params.limit) ? Number(params.limit) : Number.NaN;
    if (Number.isInteger(n) && n >= 1 && n <= MAX_LIMIT) limit = n;
    else problems.push({ field: 'limit', message: `must be a whole number from 1 to ${MAX_LIMIT}` });
  }
  const from = params.from === undefined ? undefined : parseBound(params.from, 'from');
  const to = params.to === undefined ? undefined : parseBound(params.to, 'to');
  if (typeof from === 'string') problems.push({ field: 'from', message: from });
  if (typeof to === 'string') problems.push({ field: 'to', message: to });
  let range: Range | undefined;
  if (typeof from !== 'string' && typeof to !== 'string') {
    const end = to ?? now;
    // Absent `from`: the 31 China days ending with `to`'s day (today by default).
    const start = from ?? new Date(chinaDayStart(chinaDay(end)).getTime() - (DEFAULT_DAYS - 1) * DAY_MS);
    if (start.getTime() > end.getTime()) {
      problems.push({ field: 'from', message: 'must not be after to' });
    } else if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * DAY_MS) {
      problems.push({ field: 'from', message: `the range must be at most ${MAX_RANGE_DAYS} days` });
    } else {
      range = { from: start.toISOString(), to: end.toISOString() };
    }
  }
  const filterKey = filterKeyOf(params);
  let cursor: Cursor | undefined;
  if (params.cursor !== undefined) {
    const decoded = decodeCursor(params.cursor, filterKey);
    if (decoded) cursor = decoded;
    else problems.push({ field: 'cursor', message: 'is not a cursor of this search' });
  }
  if (problems.length > 0 || !range) {
    throw new ValidationError(problems, problems.map((p) => `${p.field} ${p.message}`).join('; '));
  }
  return {
    ...(status ? { status } : {}),
    // A later page keeps the range the first page resolved (a default `to` = now must not move).
    range: cursor?.r ?? range,
    ranged: params.from !== undefined || params.to !== undefined,
    ...(batchId ? { batchId } : {}),
    limit,
    ...(cursor ? { cursor } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Cursor: opaque base64url JSON, bound to the filters it was made for
// ---------------------------------------------------------------------------------------------------

/** Per shard: null = from the start of the day, 'x' = nothing left, or the last key handed out. */
export type ShardState = null | 'x' | IndexKey;

export type Cursor = { readonly f: string; readonly r: Range } & (
  | { readonly k: 'day'; readonly d: string; readonly s: readonly ShardState[] }
  | { readonly k: 'queue'; readonly a: IndexKey }
  | { readonly k: 'batch'; readonly q: number }
);

/** The explicit filters (not limit, not cursor): a cursor is only valid with the filters it was made for. */
export function filterKeyOf(params: Readonly<Record<string, string | undefined>>): string {
  const text = EXPORT_PARAMETERS.map((name) => `${name}=${params[name] ?? ''}`).join('&');
  return createHash('sha256').update(text).digest('base64url').slice(0, 12);
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify({ v: 1, ...cursor }), 'utf8').toString('base64url');
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function isKey(value: unknown): value is IndexKey {
  const { no_order, at } = (value ?? {}) as Record<string, unknown>;
  return typeof no_order === 'string' && no_order.length > 0 && typeof at === 'string';
}

/** The cursor, or undefined when it is not one this search made (tampered, truncated, other filters). */
export function decodeCursor(text: string, filterKey: string): Cursor | undefined {
  let parsed: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    parsed = value as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { v, f, r, k } = parsed;
  if (v !== 1 || f !== filterKey) return undefined;
  const range = r as Record<string, unknown> | undefined;
  if (typeof range?.from !== 'string' || typeof range.to !== 'string') return undefined;
  if (!ISO.test(range.from) || !ISO.test(range.to)) return undefined;
  const base = { f, r: { from: range.from, to: range.to } };
  if (k === 'day') {
    const { d, s } = parsed;
    if (typeof d !== 'string' || !CHINA_DATE.test(d)) return undefined;
    if (!Array.isArray(s) || s.length !== DAY_SHARDS) return undefined;
    if (!s.every((state) => state === null || state === 'x' || isKey(state))) return undefined;
    return {
      ...base,
      k,
      d,
      s: s.map((state: ShardState) =>
        state === null || state === 'x' ? state : { no_order: state.no_order, at: state.at },
      ),
    };
  }
  if (k === 'queue' && isKey(parsed.a)) {
    return { ...base, k, a: { no_order: parsed.a.no_order, at: parsed.a.at } };
  }
  if (k === 'batch' && Number.isInteger(parsed.q)) return { ...base, k, q: parsed.q as number };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The merge
// ---------------------------------------------------------------------------------------------------

/** Newest first; equal times by no_order descending, so the merge is deterministic. */
export function newerFirst(a: IndexKey, b: IndexKey): number {
  if (a.at !== b.at) return a.at > b.at ? -1 : 1;
  return a.no_order > b.no_order ? -1 : a.no_order < b.no_order ? 1 : 0;
}

/**
 * K-way merge of per-shard pages (each newest first), up to `limit` keys. It stops as soon as a shard
 * that is NOT exhausted has handed out everything it read: that shard's next key could be newer than any
 * other head, so nothing after that point is known to be in order. Each shard's consumed part is a prefix,
 * so a per-shard position is an exact resume point.
 */
export function mergeNewestFirst(
  pages: readonly KeyPage[],
  limit: number,
): { shard: number; key: IndexKey }[] {
  const taken = pages.map(() => 0);
  const out: { shard: number; key: IndexKey }[] = [];
  while (out.length < limit) {
    let pick = -1;
    for (let s = 0; s < pages.length; s++) {
      const page = pages[s]!;
      const head = page.items[taken[s]!];
      if (!head) {
        if (!page.exhausted) return out;
        continue;
      }
      if (pick < 0 || newerFirst(head, pages[pick]!.items[taken[pick]!]!) < 0) pick = s;
    }
    if (pick < 0) return out;
    out.push({ shard: pick, key: pages[pick]!.items[taken[pick]!]! });
    taken[pick]!++;
  }
  return out;
}

/** The China day before `day`. */
export function previousDay(day: string): string {
  return chinaDay(new Date(chinaDayStart(day).getTime() - 1));
}

// ---------------------------------------------------------------------------------------------------
// The search
// ---------------------------------------------------------------------------------------------------

export interface SearchLimits {
  readonly maxExamined: number;
  readonly maxDays: number;
}

const DEFAULT_SEARCH_LIMITS: SearchLimits = { maxExamined: MAX_EXAMINED, maxDays: MAX_DAYS_PER_REQUEST };

/** One page of GET /payouts. */
export async function listPayouts(
  reader: SearchReader,
  query: ListQuery,
  filterKey: string,
  limits: SearchLimits = DEFAULT_SEARCH_LIMITS,
): Promise<ListPage> {
  if (query.batchId !== undefined) return listBatch(reader, query, filterKey, limits);
  if (query.status === 'AWAITING_APPROVAL' || query.status === 'AWAITING_FUNDS') {
    return listQueue(reader, query, filterKey, limits);
  }
  return listByDay(reader, query, filterKey, limits);
}

function matches(row: ListRow, query: ListQuery): boolean {
  if (query.status !== undefined && row.status !== query.status) return false;
  return row.created_at >= query.range.from && row.created_at <= query.range.to;
}

async function listByDay(
  reader: SearchReader,
  query: ListQuery,
  filterKey: string,
  limits: SearchLimits,
): Promise<ListPage> {
  const { range, limit } = query;
  const firstDay = chinaDay(new Date(range.from));
  let day = query.cursor?.k === 'day' ? query.cursor.d : chinaDay(new Date(range.to));
  let states: ShardState[] =
    query.cursor?.k === 'day' ? [...query.cursor.s] : Array.from({ length: DAY_SHARDS }, () => null);
  const items: ListView[] = [];
  let examined = 0;
  // Day partitions entered by this request; a cursor left on an exhausted day has not entered it again.
  let days = states.every((state) => state === 'x') ? 0 : 1;
  const cursorHere = (): string => encodeCursor({ f: filterKey, r: range, k: 'day', d: day, s: states });

  while (items.length < limit) {
    if (states.every((state) => state === 'x')) {
      if (day <= firstDay) return { items, next_cursor: null };
      if (days >= limits.maxDays) return { items, next_cursor: cursorHere() };
      day = previousDay(day);
      states = states.map(() => null);
      days++;
      continue;
    }
    if (examined >= limits.maxExamined) return { items, next_cursor: cursorHere() };
    // Unfiltered, every order read is a row of the page; filtered, read a whole BatchGet's worth per round.
    const want = Math.min(
      query.status === undefined ? limit - items.length : FILTER_CHUNK,
      limits.maxExamined - examined,
    );
    const pages = await Promise.all(
      states.map((state, s) =>
        state === 'x'
          ? Promise.resolve<KeyPage>({ items: [], exhausted: true })
          : reader.dayShard(`${day}#${s}`, range, state ?? undefined, want),
      ),
    );
    const merged = mergeNewestFirst(pages, want);
    const progressed = pages.some((p, s) => p.exhausted && states[s] !== 'x') || merged.length > 0;
    // A shard that says it has more yet handed out nothing cannot happen with DynamoDB (a Query with a
    // Limit returns at least one key or the end); should it ever, answer what we have instead of looping.
    if (!progressed) return { items, next_cursor: cursorHere() };
    const rows = new Map(
      (await reader.getMany(merged.map((m) => m.key.no_order))).map((r) => [r.no_order, r]),
    );
    const consumed = pages.map(() => 0);
    for (const { shard, key } of merged) {
      if (items.length >= limit) break;
      examined++;
      consumed[shard]!++;
      states[shard] = key;
      const row = rows.get(key.no_order);
      // Missing (the index is ahead of the table read, or eventually consistent): left out of the page.
      if (row && matches(row, query)) items.push(toListView(row));
    }
    states = states.map((state, s) =>
      state !== 'x' && pages[s]!.exhausted && consumed[s] === pages[s]!.items.length ? 'x' : state,
    );
  }
  // A full page: null only when nothing at all is left (an empty last page is avoided when known).
  const done = states.every((state) => state === 'x') && day <= firstDay;
  return { items, next_cursor: done ? null : cursorHere() };
}

async function listQueue(
  reader: SearchReader,
  query: ListQuery,
  filterKey: string,
  limits: SearchLimits,
): Promise<ListPage> {
  const queue: Queue = query.status === 'AWAITING_FUNDS' ? 'FUNDS' : 'AWAITING';
  const { limit, range } = query;
  let after = query.cursor?.k === 'queue' ? query.cursor.a : undefined;
  const items: ListView[] = [];
  let examined = 0;
  while (items.length < limit && examined < limits.maxExamined) {
    const want = Math.min(limit - items.length, limits.maxExamined - examined);
    // A waiting queue is small and human-paced: bounded by from/to only when they were given.
    const page = await reader.queue(queue, 'newest', query.ranged ? range : undefined, after, want);
    const rows = new Map(
      (await reader.getMany(page.items.map((k) => k.no_order))).map((r) => [r.no_order, r]),
    );
    for (const key of page.items) {
      examined++;
      after = key;
      const row = rows.get(key.no_order);
      // The index is eventually consistent: an order decided meanwhile is left out.
      if (row && row.status === query.status) items.push(toListView(row));
    }
    if (page.exhausted) return { items, next_cursor: null };
  }
  return {
    items,
    next_cursor: after ? encodeCursor({ f: filterKey, r: range, k: 'queue', a: after }) : null,
  };
}

async function listBatch(
  reader: SearchReader,
  query: ListQuery,
  filterKey: string,
  limits: SearchLimits,
): Promise<ListPage> {
  const { limit, range } = query;
  let afterSeq = query.cursor?.k === 'batch' ? query.cursor.q : undefined;
  const items: ListView[] = [];
  let examined = 0;
  const filtered = query.status !== undefined || query.ranged;
  while (items.length < limit && examined < limits.maxExamined) {
    const want = Math.min(filtered ? FILTER_CHUNK : limit - items.length, limits.maxExamined - examined);
    const page = await reader.batch(query.batchId!, afterSeq, want);
    let consumedAll = true;
    // Rows come from the index projection, which has no anomalies_acknowledged: the (rare) rows with
    // anomalies are read from the table so their acknowledgement count is exact.
    const withAnomalies = page.rows.filter((r) => (r.anomalies ?? 0) > 0).map((r) => r.no_order);
    const exact = new Map((await reader.getMany(withAnomalies)).map((r) => [r.no_order, r]));
    for (const row of page.rows) {
      if (items.length >= limit) {
        consumedAll = false;
        break;
      }
      examined++;
      afterSeq = row.batch_seq;
      const full = exact.get(row.no_order) ?? row;
      if (query.status !== undefined && full.status !== query.status) continue;
      if (query.ranged && (full.created_at < range.from || full.created_at > range.to)) continue;
      items.push(toListView(full));
    }
    if (page.exhausted && consumedAll) return { items, next_cursor: null };
  }
  return {
    items,
    next_cursor:
      afterSeq === undefined ? null : encodeCursor({ f: filterKey, r: range, k: 'batch', q: afterSeq }),
  };
}
