import { ValidationError } from './errors';
import type { PayoutOrder } from './model';
import { applyInput, type PayoutDeps } from './payouts';
import {
  DAY_SHARDS,
  type IndexKey,
  type KeyPage,
  type ListRow,
  type ListView,
  type Queue,
  type SearchReader,
  toListView,
} from './search';
import type { PayoutStatus } from './status';
import { type PayoutView, toView } from './view';

/**
 * What needs a person (issue 12), all from indexes:
 * - `unknown`: UNKNOWN for more than an hour (since the change that made it UNKNOWN);
 * - `stuck`: open at the provider (PENDING, ACCEPTED, WAITING, PROCESSING) for longer than the stuck age
 *   (STUCK_AFTER_SECONDS, the same age reconciliation logs as stuck; default 24 h) or queried many times;
 *   both come from the due index, which holds every open order: its keys are read (up to MAX_OPEN) and the
 *   orders fetched, so the work is bounded and `complete` says whether the whole backlog was seen;
 * - `anomalies`: orders with anomalies nobody has acknowledged (the sparse open-anomalies index);
 * - `awaiting_approval`, `awaiting_funds`: the two waiting queues of the awaiting-approval index.
 * Each first page is oldest first: what has waited longest comes first.
 */

export const UNKNOWN_AFTER_MS = 60 * 60 * 1000;
/** Queried this many times without a final result also makes an open order stuck. */
export const STUCK_CHECKS = 48;
/** Open orders examined at most per request (their reads cost 0.5 RRU each). */
export const MAX_OPEN = 1000;
export const DEFAULT_EXCEPTIONS_LIMIT = 20;
export const MAX_EXCEPTIONS_LIMIT = 100;
/** Notes are stored in the history and shown in the console: bounded like the deny reason. */
const MAX_NOTE_LENGTH = 500;

const OPEN_AT_PROVIDER: ReadonlySet<PayoutStatus> = new Set(['PENDING', 'ACCEPTED', 'WAITING', 'PROCESSING']);

export interface ExceptionGroup {
  readonly count: number;
  /** false when the count is a lower bound (the open backlog was larger than one request reads). */
  readonly complete: boolean;
  readonly items: readonly ListView[];
}

export interface Exceptions {
  readonly unknown: ExceptionGroup;
  readonly stuck: ExceptionGroup;
  readonly anomalies: ExceptionGroup;
  readonly awaiting_approval: ExceptionGroup;
  readonly awaiting_funds: ExceptionGroup;
  readonly generated_at: string;
}

export interface ExceptionOptions {
  readonly now: Date;
  readonly stuckAfterMs: number;
  readonly limit?: number;
  readonly unknownAfterMs?: number;
  readonly stuckChecks?: number;
  readonly maxOpen?: number;
}

/** `limit` of GET /exceptions (the size of each first page). */
export function parseExceptionsLimit(params: Readonly<Record<string, string | undefined>>): number {
  const problems = Object.keys(params)
    .filter((name) => name !== 'limit')
    .map((field) => ({ field, message: 'is not a supported parameter' }));
  let limit = DEFAULT_EXCEPTIONS_LIMIT;
  if (params.limit !== undefined) {
    const n = /^[0-9]{1,3}$/.test(params.limit) ? Number(params.limit) : Number.NaN;
    if (n >= 1 && n <= MAX_EXCEPTIONS_LIMIT) limit = n;
    else
      problems.push({ field: 'limit', message: `must be a whole number from 1 to ${MAX_EXCEPTIONS_LIMIT}` });
  }
  if (problems.length > 0) {
    throw new ValidationError(problems, problems.map((p) => `${p.field} ${p.message}`).join('; '));
  }
  return limit;
}

/** When the order entered its current status: the last history entry that changed into it. */
export function inStatusSince(row: Pick<ListRow, 'status' | 'history' | 'created_at'>): string {
  const entries = row.history ?? [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (entry.to === row.status && entry.from !== row.status) return entry.at;
  }
  return row.created_at;
}

/** Which group an open order belongs to, if any. */
export function classifyOpen(
  row: ListRow,
  options: Required<Pick<ExceptionOptions, 'now' | 'stuckAfterMs' | 'unknownAfterMs' | 'stuckChecks'>>,
): 'unknown' | 'stuck' | undefined {
  const now = options.now.getTime();
  if (row.status === 'UNKNOWN') {
    return now - Date.parse(inStatusSince(row)) > options.unknownAfterMs ? 'unknown' : undefined;
  }
  if (!OPEN_AT_PROVIDER.has(row.status)) return undefined;
  const old = now - Date.parse(row.created_at) > options.stuckAfterMs;
  return old || (row.check_count ?? 0) >= options.stuckChecks ? 'stuck' : undefined;
}

const oldestFirst = (a: ListRow, b: ListRow) =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.no_order < b.no_order ? -1 : 1;

export async function listExceptions(reader: SearchReader, options: ExceptionOptions): Promise<Exceptions> {
  const limit = options.limit ?? DEFAULT_EXCEPTIONS_LIMIT;
  const rules = {
    now: options.now,
    stuckAfterMs: options.stuckAfterMs,
    unknownAfterMs: options.unknownAfterMs ?? UNKNOWN_AFTER_MS,
    stuckChecks: options.stuckChecks ?? STUCK_CHECKS,
  };
  const [open, anomalies, awaitingApproval, awaitingFunds] = await Promise.all([
    openOrders(reader, options.maxOpen ?? MAX_OPEN),
    anomalyGroup(reader, limit),
    queueGroup(reader, 'AWAITING', 'AWAITING_APPROVAL', limit),
    queueGroup(reader, 'FUNDS', 'AWAITING_FUNDS', limit),
  ]);
  const unknown: ListRow[] = [];
  const stuck: ListRow[] = [];
  for (const row of open.rows) {
    const group = classifyOpen(row, rules);
    if (group === 'unknown') unknown.push(row);
    else if (group === 'stuck') stuck.push(row);
  }
  const group = (rows: ListRow[]): ExceptionGroup => ({
    count: rows.length,
    complete: open.complete,
    items: rows.sort(oldestFirst).slice(0, limit).map(toListView),
  });
  return {
    unknown: group(unknown),
    stuck: group(stuck),
    anomalies,
    awaiting_approval: awaitingApproval,
    awaiting_funds: awaitingFunds,
    generated_at: options.now.toISOString(),
  };
}

/** Every open order (the due index's 4 shards), up to `max`, read with its history. */
async function openOrders(
  reader: SearchReader,
  max: number,
): Promise<{ rows: ListRow[]; complete: boolean }> {
  const perShard = Math.ceil(max / DAY_SHARDS);
  const pages = await Promise.all(
    Array.from({ length: DAY_SHARDS }, (_, s) => reader.open(s, undefined, perShard)),
  );
  const keys = pages.flatMap((p) => p.items.map((k) => k.no_order));
  const rows = await reader.getMany(keys, { history: true });
  return { rows: [...rows], complete: pages.every((p) => p.exhausted) };
}

async function anomalyGroup(reader: SearchReader, limit: number): Promise<ExceptionGroup> {
  const [count, page] = await Promise.all([
    reader.countQueue('ANOMALIES'),
    reader.anomalies(undefined, limit),
  ]);
  const rows = await rowsInOrder(reader, page);
  // The index is eventually consistent: one acknowledged meanwhile is left out.
  const open = rows.filter((r) => (r.anomalies ?? 0) > (r.anomalies_acknowledged ?? 0));
  return { count, complete: true, items: open.map(toListView) };
}

async function queueGroup(
  reader: SearchReader,
  queue: Queue,
  status: PayoutStatus,
  limit: number,
): Promise<ExceptionGroup> {
  const [count, page] = await Promise.all([
    reader.countQueue(queue),
    reader.queue(queue, 'oldest', undefined, undefined, limit),
  ]);
  const rows = await rowsInOrder(reader, page);
  return { count, complete: true, items: rows.filter((r) => r.status === status).map(toListView) };
}

/** The page's orders, in the page's order. */
async function rowsInOrder(reader: SearchReader, page: KeyPage): Promise<ListRow[]> {
  const rows = new Map(
    (await reader.getMany(page.items.map((k: IndexKey) => k.no_order))).map((r) => [r.no_order, r]),
  );
  return page.items.map((k) => rows.get(k.no_order)).filter((r): r is ListRow => r !== undefined);
}

// ---------------------------------------------------------------------------------------------------
// POST /payouts/{no_order}/anomalies/ack
// ---------------------------------------------------------------------------------------------------

export function parseAckBody(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError([{ field: 'note', message: 'is required' }], 'the body must be a JSON object');
  }
  const note = (body as Record<string, unknown>).note;
  if (typeof note !== 'string')
    throw new ValidationError([{ field: 'note', message: 'is required' }], 'note is required');
  const text = note.trim();
  if (text.length === 0)
    throw new ValidationError([{ field: 'note', message: 'is required' }], 'note is required');
  if (text.length > MAX_NOTE_LENGTH) {
    throw new ValidationError(
      [{ field: 'note', message: `must be at most ${MAX_NOTE_LENGTH} characters` }],
      `note must be at most ${MAX_NOTE_LENGTH} characters`,
    );
  }
  return text;
}

/**
 * A person acknowledges every anomaly recorded on the payout so far, through the transition function
 * (status unchanged; the history entry names the principal and carries the note). The same conditional
 * write removes the order from the anomalies queue. 404 when there is no such payout, 409 invalid_state
 * when nothing is left to acknowledge.
 */
export async function acknowledgeAnomalies(
  deps: PayoutDeps,
  noOrder: string,
  principal: string,
  note: string,
): Promise<PayoutView> {
  if (typeof principal !== 'string' || principal.length === 0) throw new Error('no principal for the action');
  const order: PayoutOrder = await applyInput(
    deps,
    undefined,
    { type: 'ack_anomalies', principal, note },
    noOrder,
  );
  deps.log.info('payout anomalies acknowledged', {
    no_order: noOrder,
    principal,
    anomalies: order.anomalies,
  });
  return toView(order);
}
