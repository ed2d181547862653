import { createHash } from 'node:crypto';
import { parseCsv } from './batch-csv';
import { MAX_BATCH_ITEMS } from './batch-model';
import type { ControlPolicy } from './controls';
import { payoutMaxBreach } from './controls';
import { ValidationError } from './errors';
import { type PayoutRequest, parsePayoutRequest, payoutRequestSchema, requestDigest } from './request';

/**
 * Reading a batch body (issue 11): JSON `{"items":[…]}` or a CSV file with a header row of the same
 * field names, every row validated by the single-payout validator. Every problem of every row is
 * collected into one answer: `fields` entries `{row, field, message}` (row 1 = the first item).
 */

export interface BatchFieldError {
  /** 1-based: the first record after the CSV header, or the first element of `items`. 0 = the body. */
  readonly row: number;
  readonly field: string;
  readonly message: string;
  /** CSV only: the physical line the record starts on (quoted newlines make it differ from the row). */
  readonly line?: number;
}

/** 400 naming every bad row and field at once; nothing was recorded. */
export class BatchValidationError extends ValidationError {
  override readonly name: string = 'BatchValidationError';
  constructor(
    override readonly fields: readonly BatchFieldError[],
    message = 'the batch is invalid; nothing was recorded',
  ) {
    super(fields, message);
  }
}

/** The field names a row may carry (the POST /payouts fields). */
export const BATCH_FIELDS: readonly string[] = Object.keys(payoutRequestSchema.shape);

const BATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export function isBatchId(value: unknown): value is string {
  return typeof value === 'string' && BATCH_ID_PATTERN.test(value);
}

export interface ParsedBatch {
  readonly requests: readonly PayoutRequest[];
  /** SHA-256 over the batch id and every row's non-secret digest, in row order. */
  readonly digest: string;
}

export type BatchBody =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'csv'; readonly text: string };

/** Rows as plain objects (an absent CSV cell is an absent field), with their CSV lines. */
function rowsOf(body: BatchBody): { rows: unknown[]; lines?: number[] } {
  if (body.kind === 'json') {
    const value = body.value as { items?: unknown } | null;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new BatchValidationError([{ row: 0, field: '(body)', message: 'must be a JSON object' }]);
    }
    const extra = Object.keys(value).filter((k) => k !== 'items');
    if (extra.length > 0) {
      throw new BatchValidationError(
        extra.map((k) => ({ row: 0, field: k, message: 'is not a known field' })),
      );
    }
    if (!Array.isArray(value.items)) {
      throw new BatchValidationError([{ row: 0, field: 'items', message: 'must be an array of payouts' }]);
    }
    return { rows: value.items };
  }
  const parsed = parseCsv(body.text);
  if (!parsed.ok) {
    throw new BatchValidationError([
      { row: 0, field: '(csv)', message: `line ${parsed.line}: ${parsed.message}`, line: parsed.line },
    ]);
  }
  const [header, ...records] = parsed.records;
  if (!header) throw new BatchValidationError([{ row: 0, field: '(csv)', message: 'the file is empty' }]);
  const problems: BatchFieldError[] = [];
  const seen = new Set<string>();
  for (const name of header.fields) {
    if (!BATCH_FIELDS.includes(name)) {
      problems.push({
        row: 0,
        field: name || '(empty)',
        message: 'is not a known column',
        line: header.line,
      });
    } else if (seen.has(name)) {
      problems.push({ row: 0, field: name, message: 'appears twice in the header', line: header.line });
    }
    seen.add(name);
  }
  if (problems.length > 0) throw new BatchValidationError(problems);
  const rows: unknown[] = [];
  const lines: number[] = [];
  for (const record of records) {
    lines.push(record.line);
    if (record.fields.length !== header.fields.length) {
      // Kept as a marker; reported with its row number below.
      rows.push(new RaggedRow(record.fields.length, header.fields.length));
      continue;
    }
    const row: Record<string, string> = {};
    header.fields.forEach((name, i) => {
      const cell = record.fields[i] ?? '';
      if (cell !== '') row[name] = cell;
    });
    rows.push(row);
  }
  return { rows, lines };
}

class RaggedRow {
  constructor(
    readonly got: number,
    readonly want: number,
  ) {}
}

/**
 * Parses and validates a whole batch. Throws BatchValidationError with every problem: a bad field, a
 * row over PAYOUT_MAX_AMOUNT, a no_order repeated inside the batch. (A no_order used by another payout
 * needs the store: see acceptBatch.)
 */
export function parseBatch(batchId: string, body: BatchBody, policy: ControlPolicy): ParsedBatch {
  const { rows, lines } = rowsOf(body);
  if (rows.length === 0) {
    throw new BatchValidationError([{ row: 0, field: 'items', message: 'the batch has no items' }]);
  }
  if (rows.length > MAX_BATCH_ITEMS) {
    throw new BatchValidationError([
      { row: 0, field: 'items', message: `at most ${MAX_BATCH_ITEMS} items (got ${rows.length})` },
    ]);
  }
  const problems: BatchFieldError[] = [];
  const requests: PayoutRequest[] = [];
  const firstRow = new Map<string, number>();
  rows.forEach((raw, index) => {
    const row = index + 1;
    const at = lines?.[index] === undefined ? {} : { line: lines[index] };
    if (raw instanceof RaggedRow) {
      problems.push({
        row,
        field: '(row)',
        message: `has ${raw.got} cells, the header has ${raw.want}`,
        ...at,
      });
      return;
    }
    const parsed = parsePayoutRequest(raw);
    if (!parsed.ok) {
      for (const e of parsed.errors) problems.push({ row, field: e.field, message: e.message, ...at });
      return;
    }
    const request = parsed.request;
    const breach = payoutMaxBreach(policy, request.money_fen);
    if (breach) {
      problems.push({
        row,
        field: 'money_order',
        message: `is over the payout maximum (${breach.remaining})`,
        ...at,
      });
    }
    const earlier = firstRow.get(request.no_order);
    if (earlier !== undefined) {
      problems.push({ row, field: 'no_order', message: `repeats row ${earlier} of this batch`, ...at });
    } else {
      firstRow.set(request.no_order, row);
    }
    requests.push(request);
  });
  if (problems.length > 0) throw new BatchValidationError(problems);
  return { requests, digest: batchDigest(batchId, requests) };
}

export function batchDigest(batchId: string, requests: readonly PayoutRequest[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([batchId, requests.length]));
  for (const request of requests) hash.update(`\n${requestDigest(request)}`);
  return hash.digest('base64url');
}
