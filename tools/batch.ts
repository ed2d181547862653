import { type ApiAnswer, type ApiTarget, callApi } from './approvals';
import { ToolError } from './errors';

/**
 * `npm run ops -- batch submit <file.csv> --id <batch_id>` (issue 11): PUTs the file to
 * /batches/{batch_id}, then follows GET /batches/{batch_id} with a progress bar until the batch is
 * COMPLETED, DENIED or VOIDED. On a terminal the bar is one line redrawn in place; otherwise (a log, a
 * pipe) a line is printed only when something changed.
 */

const BATCH_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** Statuses after which the batch never changes again. */
const DONE = new Set(['COMPLETED', 'DENIED', 'VOIDED']);
/** Payout statuses in which an item is over (sent and answered, or never to be sent). */
const FINAL_ITEMS = ['SUCCESS', 'FAILURE', 'CANCEL', 'REJECTED', 'DENIED', 'VOIDED'] as const;
const BAR_WIDTH = 30;

export interface BatchView {
  readonly batch_id: string;
  readonly status: string;
  readonly item_count: number;
  readonly total_amount: string;
  readonly counts: Record<string, number>;
}

export interface FollowOptions {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Stop following after this long (the batch goes on); default: until it is done. */
  readonly maxWaitMs?: number;
  readonly now?: () => number;
}

export function parseBatchId(value: string | undefined): string {
  if (!value || !BATCH_ID.test(value)) throw new ToolError('--id must be 1–32 of A-Z a-z 0-9 _ -');
  return value;
}

/** One progress line: a bar of the items that are over, the counts that matter, the batch status. */
export function progressLine(view: BatchView): string {
  const total = Math.max(0, view.item_count);
  const done = FINAL_ITEMS.reduce((sum, s) => sum + (view.counts[s] ?? 0), 0);
  const ratio = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
  const counts = Object.entries(view.counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  return `[${bar}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${done}/${total} ${view.status}${counts ? ` (${counts})` : ''}`;
}

function explain(answer: ApiAnswer): string {
  const body = answer.body as { error?: { code?: string; message?: string; fields?: unknown[] } } | string;
  if (typeof body === 'string') return `HTTP ${answer.status}: ${body.slice(0, 500)}`;
  const error = body?.error;
  const lines = [`HTTP ${answer.status} ${error?.code ?? ''}: ${error?.message ?? ''}`.trimEnd()];
  for (const field of (error?.fields ?? []).slice(0, 50) as {
    row?: number;
    field?: string;
    message?: string;
  }[]) {
    lines.push(`  ${field.row === undefined ? '' : `row ${field.row}: `}${field.field}: ${field.message}`);
  }
  const more = (error?.fields?.length ?? 0) - 50;
  if (more > 0) lines.push(`  … and ${more} more`);
  return lines.join('\n');
}

/** PUT the CSV; 202 (new) or 200 (identical repeat) answers the batch view, anything else is explained. */
export async function submitBatch(target: ApiTarget, batchId: string, csv: string): Promise<BatchView> {
  const answer = await callApi(target, {
    method: 'PUT',
    path: `/batches/${batchId}`,
    raw: { type: 'text/csv; charset=utf-8', text: csv },
  });
  if (answer.status !== 200 && answer.status !== 202) throw new ToolError(explain(answer));
  return answer.body as BatchView;
}

/** Follows the batch until it is done (or maxWaitMs), drawing progress; answers the last view. */
export async function followBatch(
  target: ApiTarget,
  batchId: string,
  options: FollowOptions,
): Promise<BatchView> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const started = now();
  let last = '';
  for (;;) {
    const answer = await callApi(target, { method: 'GET', path: `/batches/${batchId}` });
    if (answer.status !== 200) throw new ToolError(explain(answer));
    const view = answer.body as BatchView;
    const line = progressLine(view);
    if (options.tty) options.write(`\r\x1b[2K${line}`);
    else if (line !== last) options.write(`${line}\n`);
    last = line;
    const over = DONE.has(view.status);
    if (over || (options.maxWaitMs !== undefined && now() - started >= options.maxWaitMs)) {
      if (options.tty) options.write('\n');
      return view;
    }
    await sleep(options.pollMs ?? 2_000);
  }
}
