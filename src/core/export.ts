import { randomUUID } from 'node:crypto';
import { chinaDay } from './days';
import type { ReportStore } from './report-store';
import {
  decodeCursor,
  type ListQuery,
  type ListView,
  listPayouts,
  MAX_LIMIT,
  type SearchReader,
} from './search';

/**
 * `GET /payouts/export.csv` (issue 12): every payout the filters match, masked, whatever the size. The
 * search is paged through to its end (each page bounded as for GET /payouts). A CSV that fits INLINE_MAX
 * is answered inline (text/csv); a larger one is written through the ReportStore and answered with a
 * short-lived link, as JSON with status 200 — not a 303: a SigV4 client following a redirect would send
 * its Authorization header to S3, which refuses a request that is both presigned and signed.
 */

export const EXPORT_COLUMNS = [
  'no_order',
  'batch_id',
  'created_at',
  'updated_at',
  'status',
  'money_order',
  'card_no_masked',
  'acct_name_masked',
  'oid_paybill',
  'settle_date',
  'ret_code',
  'memo',
  'created_by',
  'approved_by',
] as const satisfies readonly (keyof ListView)[];

/**
 * Inline answers stay well below Lambda's 6 MB response limit: the proxy integration wraps the body in a
 * JSON string (every quote and newline escaped), so 4 MB of CSV leaves room for that and the headers.
 */
export const INLINE_MAX_BYTES = 4 * 1024 * 1024;
/** How long a link to a large export works. */
export const LINK_TTL_SECONDS = 15 * 60;

/** Excel reads UTF-8 (Chinese names) only with a byte-order mark. */
const BOM = '\uFEFF';

/**
 * One CSV field (RFC 4180 quoting). A text starting with = + - @ (or a tab/CR) would be run as a formula
 * by a spreadsheet: such fields are prefixed with an apostrophe. Amounts never start with one of these.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(view: ListView): string {
  return EXPORT_COLUMNS.map((column) => csvField(view[column])).join(',');
}

export function csvHeader(): string {
  return EXPORT_COLUMNS.join(',');
}

export type ExportResult =
  | { readonly kind: 'inline'; readonly csv: string; readonly rows: number }
  | { readonly kind: 'link'; readonly url: string; readonly expires_at: string; readonly rows: number };

export interface ExportDeps {
  readonly reader: SearchReader;
  /** Absent: a large export cannot be stored and fails with ExportTooLargeError. */
  readonly reports?: ReportStore;
  readonly now: () => Date;
  readonly inlineMaxBytes?: number;
}

export class ExportTooLargeError extends Error {
  override readonly name = 'ExportTooLargeError';
}

export async function exportPayouts(
  deps: ExportDeps,
  query: Omit<ListQuery, 'limit' | 'cursor'>,
  filterKey: string,
): Promise<ExportResult> {
  const lines = [csvHeader()];
  let bytes = Buffer.byteLength(BOM + lines[0]!, 'utf8');
  let rows = 0;
  let cursor: ListQuery['cursor'];
  let text: string | null = null;
  do {
    const page = await listPayouts(
      deps.reader,
      { ...query, limit: MAX_LIMIT, ...(cursor ? { cursor } : {}) },
      filterKey,
    );
    for (const view of page.items) {
      const line = csvLine(view);
      lines.push(line);
      bytes += Buffer.byteLength(line, 'utf8') + 2;
      rows++;
    }
    text = page.next_cursor;
    cursor = text === null ? undefined : decodeCursor(text, filterKey);
  } while (cursor);
  const csv = `${BOM}${lines.join('\r\n')}\r\n`;
  if (bytes <= (deps.inlineMaxBytes ?? INLINE_MAX_BYTES)) return { kind: 'inline', csv, rows };
  if (!deps.reports)
    throw new ExportTooLargeError(`the export has ${rows} rows and no report store is configured`);
  const now = deps.now();
  const key = `exports/${chinaDay(now)}/${randomUUID()}.csv`;
  await deps.reports.put(key, csv, 'text/csv;charset=utf-8');
  const url = await deps.reports.link(key, LINK_TTL_SECONDS);
  return {
    kind: 'link',
    url,
    expires_at: new Date(now.getTime() + LINK_TTL_SECONDS * 1000).toISOString(),
    rows,
  };
}
