import { formatFen } from '../lianlian/money';
import { chinaDay, chinaDayStart, DAY_MS } from './days';
import { ValidationError } from './errors';
import { PAYOUT_EVENT_SOURCE, type PayoutEvent, type PayoutEventSink } from './events';
import type { PayoutOrder } from './model';
import type { Clock, Log } from './ports';
import type { ReportStore } from './report-store';
import { isFinal, PAYOUT_STATUSES, type PayoutStatus } from './status';

/**
 * The daily close (issue 13): for a China day D (UTC+8) that is over, one statement of what our records
 * say happened on D — payouts created on D by status, returns and late results of earlier days' payouts
 * recorded on D, payouts still open, anomalies, and the balance movement our records do not explain —
 * written as JSON and CSV to the reports store and announced by a `Day Closed` event. docs/close.md
 * describes every figure and the balance formula.
 *
 * The statement holds masked data at most, and in fact none: no card number, no name, masked or not.
 */

/** What the close reads of an order (the DynamoDB reader projects exactly these). */
export type CloseOrder = Pick<
  PayoutOrder,
  'no_order' | 'status' | 'money_fen' | 'money_order' | 'created_at' | 'updated_at' | 'anomalies'
> &
  Partial<Pick<PayoutOrder, 'late_day' | 'history' | 'batch_id'>>;

/** The attributes CloseOrder is read with (a ProjectionExpression in the DynamoDB reader). */
export const CLOSE_ORDER_ATTRIBUTES = [
  'no_order',
  'status',
  'money_fen',
  'money_order',
  'created_at',
  'updated_at',
  'anomalies',
  'late_day',
  'history',
  'batch_id',
] as const satisfies readonly (keyof CloseOrder)[];

/**
 * The balance readings of one China day, as the funds module records them under `BALANCE#<day>`: the
 * first and the last balance query answered that day (integer fen, ISO times).
 */
export interface BalanceReadings {
  readonly first_fen: number;
  readonly first_at: string;
  readonly last_fen: number;
  readonly last_at: string;
}

/** Where the close reads from: the payouts table's indexes (src/adapters/dynamodb/close-reader.ts). */
export interface CloseReader {
  /** Every order created on China day `day` (the `by-day` index, all shards). */
  createdOn(day: string): Promise<CloseOrder[]>;
  /** Every order that reached a final status on `day` though created earlier (the `late-by-day` index). */
  lateOn(day: string): Promise<CloseOrder[]>;
  /** Every order in the `open-by-due` index (open ones, and SUCCESS under the returns watch). */
  openOrders(): Promise<CloseOrder[]>;
  /** The day's balance readings, or undefined when none was recorded. */
  balanceReadings(day: string): Promise<BalanceReadings | undefined>;
}

/**
 * The reports store as the close needs it: the port (src/core/report-store.ts) plus the current version
 * of a key, so a statement can name the version it supersedes. Both adapters implement it.
 */
export interface VersionedReportStore extends ReportStore {
  /** The current version's content and version id, or undefined when nothing was written under `key`. */
  current(key: string): Promise<{ body: string; version: string } | undefined>;
}

export interface CloseDeps {
  readonly reader: CloseReader;
  readonly reports: VersionedReportStore;
  /** The existing event publisher port (EventBridge on AWS, the local sink in local mode). */
  readonly events: PayoutEventSink;
  readonly clock: Clock;
  readonly log?: Log;
}

export const DAY_CLOSED_DETAIL_TYPE = 'Day Closed';

export interface Amounted {
  readonly count: number;
  /** Yuan with two decimals (a string, never a float). */
  readonly amount: string;
}

export interface ReturnRow {
  readonly no_order: string;
  readonly created_at: string;
  readonly money_order: string;
  /** When the CANCEL was recorded (on D). */
  readonly returned_at: string;
}

export interface LateRow {
  readonly no_order: string;
  /** The final status the order reached on D. */
  readonly status: PayoutStatus;
  readonly created_at: string;
  readonly money_order: string;
  readonly at: string;
}

export interface OpenRow {
  readonly no_order: string;
  readonly status: PayoutStatus;
  readonly created_at: string;
  /** Hours from creation to the end of D, one decimal. */
  readonly age_hours: number;
  readonly money_order: string;
}

export interface AnomalyRow {
  readonly no_order: string;
  readonly status: PayoutStatus;
  readonly money_order: string;
  readonly anomalies: number;
  /** The last anomaly recorded (the transition's words; never card data). */
  readonly last_anomaly?: string;
}

/** A balance figure: known (yuan and when it was read) or `unknown` — never 0 for "we do not know". */
export type BalancePoint =
  | {
      readonly amount: string;
      readonly at: string;
      readonly source: 'previous_day_last' | 'day_first' | 'day_last';
    }
  | 'unknown';

export interface DayStatement {
  readonly date: string;
  readonly timezone: 'UTC+8';
  /** D's bounds in UTC: [from, to). */
  readonly from: string;
  readonly to: string;
  readonly generated_at: string;
  /** The version of `close/<D>.json` this statement replaces, or null for the first close of D. */
  readonly supersedes: { readonly version: string; readonly generated_at?: string } | null;
  /** (a) Payouts created on D, by their status at close time. */
  readonly created: Amounted & { readonly by_status: Readonly<Partial<Record<PayoutStatus, Amounted>>> };
  /** (b) Returns (CANCEL) recorded on D for payouts created before D. */
  readonly returns: Amounted & { readonly items: readonly ReturnRow[] };
  /** (b) Other final results recorded on D for payouts created before D. */
  readonly late_results: Amounted & {
    readonly by_status: Readonly<Partial<Record<PayoutStatus, Amounted>>>;
    readonly items: readonly LateRow[];
  };
  /** (c) Payouts created on or before D and still open at close time, oldest first. */
  readonly open: Amounted & { readonly items: readonly OpenRow[] };
  /** (d) Orders of D and late ones with anomalies recorded. */
  readonly anomalies: { readonly count: number; readonly items: readonly AnomalyRow[] };
  /** (e) The balance and the movement our records do not explain (docs/close.md gives the formula). */
  readonly balance: {
    readonly start: BalancePoint;
    readonly end: BalancePoint;
    /** Σ amounts of payouts that reached SUCCESS on D (any creation day). */
    readonly paid_out: Amounted;
    /** Σ amounts of payouts that reached CANCEL on D (any creation day). */
    readonly returned: Amounted;
    /** returned − paid_out: the movement our records explain. Signed yuan. */
    readonly explained: string;
    /** end − start − explained: "unexplained (top-ups, fees)"; `unknown` when either balance is. */
    readonly unexplained: string;
    readonly formula: string;
  };
}

export const BALANCE_FORMULA =
  'unexplained = end - start - (returned - paid_out); paid_out = Σ money of payouts that reached SUCCESS on D, returned = Σ money of payouts that reached CANCEL on D';

export interface CloseResult {
  readonly statement: DayStatement;
  readonly keys: { readonly json: string; readonly csv: string };
  readonly versions: { readonly json: string; readonly csv: string };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar date yyyy-mm-dd that exists; anything else is a ValidationError naming `date`. */
export function parseCloseDate(value: unknown): string {
  if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw invalidDate('must be a date as yyyy-mm-dd');
  }
  // Date.parse accepts 2026-02-31 (rolls over); the round trip does not.
  if (new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
    throw invalidDate('must be a date that exists, as yyyy-mm-dd');
  }
  return value;
}

function invalidDate(message: string): ValidationError {
  return new ValidationError([{ field: 'date', message }], `date ${message}`);
}

/** The China day before `day`. */
export function previousDay(day: string): string {
  return chinaDay(new Date(chinaDayStart(day).getTime() - DAY_MS));
}

/** The China day that ended last before `now` (the scheduled close's day). */
export function yesterday(now: Date): string {
  return previousDay(chinaDay(now));
}

export function closeKeys(day: string): { json: string; csv: string } {
  return { json: `close/${day}.json`, csv: `close/${day}.csv` };
}

/**
 * Closes China day `day`: reads, builds the statement, writes JSON then CSV (each a new version; the
 * earlier ones stay), then announces it. Refuses a day that has not ended: its figures would still move.
 */
export async function closeDay(deps: CloseDeps, date: string): Promise<CloseResult> {
  const day = parseCloseDate(date);
  const now = deps.clock.now();
  const end = new Date(chinaDayStart(day).getTime() + DAY_MS);
  if (now.getTime() < end.getTime()) {
    throw invalidDate(`must be a China day (UTC+8) that has ended; ${day} ends at ${end.toISOString()}`);
  }
  const [created, late, open, previous, current] = await Promise.all([
    deps.reader.createdOn(day),
    deps.reader.lateOn(day),
    deps.reader.openOrders(),
    deps.reader.balanceReadings(previousDay(day)),
    deps.reader.balanceReadings(day),
  ]);
  const keys = closeKeys(day);
  const before = await deps.reports.current(keys.json);
  const statement = buildStatement({
    day,
    created,
    late,
    open,
    balance: { previous, current },
    generatedAt: now.toISOString(),
    supersedes: before ? { version: before.version, generated_at: generatedAtOf(before.body) } : null,
  });
  const json = await deps.reports.put(
    keys.json,
    `${JSON.stringify(statement, null, 2)}\n`,
    'application/json',
  );
  const csv = await deps.reports.put(keys.csv, statementCsv(statement), 'text/csv; charset=utf-8');
  const result: CloseResult = { statement, keys, versions: { json: json.version, csv: csv.version } };

  const { failed } = await deps.events.publish([dayClosedEvent(result)]);
  // The statement is written either way; a lost announcement fails the run so the schedule (or the
  // operator) runs it again, which writes the same figures as a new version and announces that.
  if (failed.length > 0) throw new Error(`the Day Closed event for ${day} was not delivered`);
  deps.log?.info('day closed', {
    date: day,
    created: statement.created.count,
    returns: statement.returns.count,
    open: statement.open.count,
    anomalies: statement.anomalies.count,
    version: json.version,
  });
  return result;
}

/** The `Day Closed` event: counts, amounts and where the statement is; nothing about any payee. */
export function dayClosedEvent(result: CloseResult): PayoutEvent {
  const { statement: s, keys, versions } = result;
  const detail = {
    // One close run, one version of the statement: consumers deduplicate redeliveries on it.
    id: `close:${s.date}:${versions.json}`,
    date: s.date,
    generated_at: s.generated_at,
    occurred_at: s.generated_at,
    counts: {
      created: s.created.count,
      returns: s.returns.count,
      late_results: s.late_results.count,
      open: s.open.count,
      anomalies: s.anomalies.count,
    },
    amounts: {
      created: s.created.amount,
      returns: s.returns.amount,
      paid_out: s.balance.paid_out.amount,
      unexplained: s.balance.unexplained,
    },
    report_keys: keys,
    versions,
    supersedes: s.supersedes?.version ?? null,
  };
  // The publisher port carries payout events; it forwards source, detail-type and detail as they are
  // (toPutEventsEntry uses only those and detail.occurred_at), so the close's own detail travels through it.
  return {
    source: PAYOUT_EVENT_SOURCE,
    detailType: DAY_CLOSED_DETAIL_TYPE,
    detail,
  } as unknown as PayoutEvent;
}

function generatedAtOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { generated_at?: unknown };
    return typeof parsed.generated_at === 'string' ? parsed.generated_at : undefined;
  } catch {
    return undefined;
  }
}

export interface StatementInput {
  readonly day: string;
  readonly created: readonly CloseOrder[];
  readonly late: readonly CloseOrder[];
  readonly open: readonly CloseOrder[];
  readonly balance: { readonly previous?: BalanceReadings; readonly current?: BalanceReadings };
  readonly generatedAt: string;
  readonly supersedes: DayStatement['supersedes'];
}

/** The statement, from what was read. Pure: the same orders always give the same figures. */
export function buildStatement(input: StatementInput): DayStatement {
  const { day } = input;
  const from = chinaDayStart(day);
  const to = new Date(from.getTime() + DAY_MS);
  const onDay = (at: string) => chinaDay(new Date(at)) === day;

  // Index reads are eventually consistent and a retried page may repeat a key: one row per order.
  const created = uniqueSorted(input.created.filter((o) => onDay(o.created_at)));
  const late = uniqueSorted(input.late.filter((o) => o.created_at < from.toISOString()));

  const createdBy = new Tally();
  for (const order of created) createdBy.add(order.status, order.money_fen);

  const returns: ReturnRow[] = [];
  const lateRows: LateRow[] = [];
  const lateBy = new Tally();
  let returnsFen = 0;
  let lateFen = 0;
  for (const order of late) {
    const reached = finalsOn(order, onDay);
    for (const { status, at } of reached) {
      if (status === 'CANCEL') {
        returns.push({
          no_order: order.no_order,
          created_at: order.created_at,
          money_order: order.money_order,
          returned_at: at,
        });
        returnsFen += order.money_fen;
      } else {
        lateRows.push({
          no_order: order.no_order,
          status,
          created_at: order.created_at,
          money_order: order.money_order,
          at,
        });
        lateBy.add(status, order.money_fen);
        lateFen += order.money_fen;
      }
    }
  }

  // Money that moved on D, whatever day the payout was created: SUCCESS and CANCEL recorded on D.
  let paidCount = 0;
  let paidFen = 0;
  let returnedCount = 0;
  let returnedFen = 0;
  for (const order of [...created, ...late]) {
    for (const { status } of finalsOn(order, onDay)) {
      if (status === 'SUCCESS') {
        paidCount++;
        paidFen += order.money_fen;
      } else if (status === 'CANCEL') {
        returnedCount++;
        returnedFen += order.money_fen;
      }
    }
  }

  const toIso = to.toISOString();
  const open = uniqueSorted(input.open.filter((o) => !isFinal(o.status) && o.created_at < toIso)).sort(
    (a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0),
  );
  const openRows: OpenRow[] = open.map((o) => ({
    no_order: o.no_order,
    status: o.status,
    created_at: o.created_at,
    // Measured at the end of D, not at run time: a re-run gives the same figure.
    age_hours: Math.round((to.getTime() - Date.parse(o.created_at)) / 360_000) / 10,
    money_order: o.money_order,
  }));

  const anomalyRows: AnomalyRow[] = [...created, ...late]
    .filter((o) => (o.anomalies ?? 0) > 0)
    .sort(byNoOrder)
    .map((o) => {
      const last = [...(o.history ?? [])].reverse().find((h) => h.anomaly)?.anomaly;
      return {
        no_order: o.no_order,
        status: o.status,
        money_order: o.money_order,
        anomalies: o.anomalies,
        ...(last ? { last_anomaly: last } : {}),
      };
    });

  const start: BalancePoint = input.balance.previous
    ? point(input.balance.previous.last_fen, input.balance.previous.last_at, 'previous_day_last')
    : input.balance.current
      ? point(input.balance.current.first_fen, input.balance.current.first_at, 'day_first')
      : 'unknown';
  const end: BalancePoint = input.balance.current
    ? point(input.balance.current.last_fen, input.balance.current.last_at, 'day_last')
    : 'unknown';
  const explainedFen = returnedFen - paidFen;
  const startFen = input.balance.previous?.last_fen ?? input.balance.current?.first_fen;
  const endFen = input.balance.current?.last_fen;
  const unexplained =
    startFen === undefined || endFen === undefined ? 'unknown' : signedYuan(endFen - startFen - explainedFen);

  return {
    date: day,
    timezone: 'UTC+8',
    from: from.toISOString(),
    to: toIso,
    generated_at: input.generatedAt,
    supersedes: input.supersedes,
    created: { ...createdBy.total(), by_status: createdBy.byStatus() },
    returns: { count: returns.length, amount: formatFen(returnsFen), items: returns },
    late_results: {
      count: lateRows.length,
      amount: formatFen(lateFen),
      by_status: lateBy.byStatus(),
      items: lateRows,
    },
    open: {
      count: openRows.length,
      amount: formatFen(open.reduce((sum, o) => sum + o.money_fen, 0)),
      items: openRows,
    },
    anomalies: { count: anomalyRows.length, items: anomalyRows },
    balance: {
      start,
      end,
      paid_out: { count: paidCount, amount: formatFen(paidFen) },
      returned: { count: returnedCount, amount: formatFen(returnedFen) },
      explained: signedYuan(explainedFen),
      unexplained,
      formula: BALANCE_FORMULA,
    },
  };
}

/**
 * The final statuses an order reached on D, from its history (each change into a final status dated D).
 * An order without history (written before history existed) falls back to its current status and
 * updated_at, when that is on D.
 */
function finalsOn(order: CloseOrder, onDay: (at: string) => boolean): { status: PayoutStatus; at: string }[] {
  const history = order.history ?? [];
  if (history.length === 0) {
    return isFinal(order.status) && onDay(order.updated_at)
      ? [{ status: order.status, at: order.updated_at }]
      : [];
  }
  return history
    .filter((h) => h.from !== h.to && isFinal(h.to) && !h.anomaly && onDay(h.at))
    .map((h) => ({ status: h.to, at: h.at }));
}

function point(
  fen: number,
  at: string,
  source: 'previous_day_last' | 'day_first' | 'day_last',
): BalancePoint {
  return { amount: signedYuan(fen), at, source };
}

/** Yuan with two decimals and a sign when negative (a movement, unlike an amount, can be below zero). */
export function signedYuan(fen: number): string {
  return fen < 0 ? `-${formatFen(-fen)}` : formatFen(fen);
}

function byNoOrder(a: CloseOrder, b: CloseOrder): number {
  return a.no_order < b.no_order ? -1 : a.no_order > b.no_order ? 1 : 0;
}

function uniqueSorted(orders: readonly CloseOrder[]): CloseOrder[] {
  const seen = new Map<string, CloseOrder>();
  for (const order of orders) seen.set(order.no_order, order);
  return [...seen.values()].sort(byNoOrder);
}

class Tally {
  private readonly counts = new Map<PayoutStatus, { count: number; fen: number }>();

  add(status: PayoutStatus, fen: number): void {
    const entry = this.counts.get(status) ?? { count: 0, fen: 0 };
    entry.count++;
    entry.fen += fen;
    this.counts.set(status, entry);
  }

  total(): Amounted {
    let count = 0;
    let fen = 0;
    for (const entry of this.counts.values()) {
      count += entry.count;
      fen += entry.fen;
    }
    return { count, amount: formatFen(fen) };
  }

  /** In the status model's order, only the statuses present. */
  byStatus(): Partial<Record<PayoutStatus, Amounted>> {
    const out: Partial<Record<PayoutStatus, Amounted>> = {};
    for (const status of PAYOUT_STATUSES) {
      const entry = this.counts.get(status);
      if (entry) out[status] = { count: entry.count, amount: formatFen(entry.fen) };
    }
    return out;
  }
}

const CSV_COLUMNS = [
  'section',
  'no_order',
  'status',
  'count',
  'amount',
  'created_at',
  'at',
  'age_hours',
  'note',
];

/**
 * The statement as one CSV table for spreadsheets: one row per figure or listed order, the `section`
 * column says which part of the statement it belongs to.
 */
export function statementCsv(s: DayStatement): string {
  const rows: (string | number | undefined)[][] = [CSV_COLUMNS];
  rows.push(['statement', '', '', '', '', '', s.generated_at, '', `date ${s.date} (UTC+8)`]);
  if (s.supersedes)
    rows.push(['supersedes', '', '', '', '', '', s.supersedes.generated_at, '', s.supersedes.version]);
  for (const [status, a] of Object.entries(s.created.by_status)) {
    rows.push(['created', '', status, a.count, a.amount]);
  }
  rows.push(['created_total', '', '', s.created.count, s.created.amount]);
  for (const r of s.returns.items)
    rows.push(['return', r.no_order, 'CANCEL', '', r.money_order, r.created_at, r.returned_at]);
  rows.push(['returns_total', '', '', s.returns.count, s.returns.amount]);
  for (const r of s.late_results.items)
    rows.push(['late_result', r.no_order, r.status, '', r.money_order, r.created_at, r.at]);
  rows.push(['late_results_total', '', '', s.late_results.count, s.late_results.amount]);
  for (const r of s.open.items) {
    rows.push(['open', r.no_order, r.status, '', r.money_order, r.created_at, '', r.age_hours]);
  }
  rows.push(['open_total', '', '', s.open.count, s.open.amount]);
  for (const r of s.anomalies.items) {
    rows.push(['anomaly', r.no_order, r.status, r.anomalies, r.money_order, '', '', '', r.last_anomaly]);
  }
  rows.push(['anomalies_total', '', '', s.anomalies.count]);
  const b = s.balance;
  const pointRow = (name: string, p: BalancePoint) =>
    p === 'unknown'
      ? ['balance', '', name, '', 'unknown']
      : ['balance', '', name, '', p.amount, '', p.at, '', p.source];
  rows.push(pointRow('start', b.start));
  rows.push(pointRow('end', b.end));
  rows.push(['balance', '', 'paid_out', b.paid_out.count, b.paid_out.amount]);
  rows.push(['balance', '', 'returned', b.returned.count, b.returned.amount]);
  rows.push(['balance', '', 'explained', '', b.explained]);
  rows.push(['balance', '', 'unexplained', '', b.unexplained, '', '', '', 'top-ups, fees']);
  return `${rows.map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  // Text cells starting with a formula character are neutralised (spreadsheet formula injection); amounts
  // are written by us and are plain numbers, so only free text is affected.
  const safe = /^[=+@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
