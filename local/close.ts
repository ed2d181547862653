/**
 * `npm run close -- --date YYYY-MM-DD`: the daily close of a China day over local mode's data, written to
 * `.local/reports/close/<date>.{json,csv}` (earlier versions kept as `.1`, `.2`, …) and a summary
 * printed. With `npm start` running it reads that stack's DynamoDB Local (found through .local/stack.json);
 * otherwise it starts DynamoDB Local on the data dir itself. Without --date: yesterday (China time).
 * See docs/close.md.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoCloseReader } from '../src/adapters/dynamodb/close-reader';
import { ENV } from '../src/config/contract';
import { type CloseResult, closeDay, parseCloseDate, yesterday } from '../src/core/close';
import { ValidationError } from '../src/core/errors';
import { ensurePayoutsTable, localDynamoClient, startDynamoLocal } from './dynamodb';
import { LocalEventSink } from './events';
import { readStackState } from './reconciler';
import { LocalReportStore } from './report-store';

export interface CloseLocalOptions {
  readonly dataDir: string;
  readonly env: Record<string, string | undefined>;
  /** yyyy-mm-dd; default yesterday in China time. */
  readonly date?: string;
  /** Use this DynamoDB and table (tests); otherwise the running stack's, or a DynamoDB Local of its own. */
  readonly dynamo?: { readonly endpoint: string; readonly tableName: string };
  readonly now?: () => Date;
  readonly print?: (line: string) => void;
}

export interface CloseLocalResult extends CloseResult {
  readonly via: string;
  readonly reportsDir: string;
}

/** The reports directory of local mode: LOCAL_REPORTS_DIR, or `<data dir>/reports`. */
export function localReportsDir(dataDir: string, env: Record<string, string | undefined>): string {
  return env[ENV.localReportsDir] || join(dataDir, 'reports');
}

export async function closeLocalData(options: CloseLocalOptions): Promise<CloseLocalResult> {
  const now = options.now ?? (() => new Date());
  const date = options.date ?? yesterday(now());
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let endpoint: string;
    let tableName: string;
    let via: string;
    const state = options.dynamo ? undefined : readStackState(options.dataDir);
    if (options.dynamo) {
      ({ endpoint, tableName } = options.dynamo);
      via = 'given DynamoDB';
    } else if (state) {
      endpoint = state.dynamoEndpoint;
      tableName = state.tableName;
      via = 'running stack';
    } else {
      const dynamo = await startDynamoLocal({ dbPath: join(options.dataDir, 'dynamodb') });
      cleanups.push(() => dynamo.stop());
      endpoint = dynamo.endpoint;
      tableName = options.env[ENV.tableName] || 'payouts';
      via = 'own DynamoDB Local';
    }
    const client = localDynamoClient(endpoint);
    cleanups.push(async () => client.destroy());
    await ensurePayoutsTable(client, tableName);
    const reportsDir = localReportsDir(options.dataDir, options.env);
    const print = options.print ?? (() => undefined);
    const result = await closeDay(
      {
        reader: new DynamoCloseReader({ client, tableName }),
        reports: new LocalReportStore({ dir: reportsDir }),
        // Local mode has no bus: the Day Closed event is printed like the stack's payout events.
        events: new LocalEventSink(print),
        clock: { now },
      },
      date,
    );
    return { ...result, via: `${via}: ${endpoint}, table ${tableName}`, reportsDir };
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  }
}

/** The printed summary: figures only, no payee data (there is none in a statement). */
export function closeSummary(result: CloseLocalResult): string {
  const s = result.statement;
  const b = s.balance;
  const point = (p: typeof b.start) => (p === 'unknown' ? 'unknown' : `${p.amount} (${p.at})`);
  const byStatus = Object.entries(s.created.by_status)
    .map(([status, a]) => `${status} ${a.count} / ${a.amount}`)
    .join(' · ');
  return `
daily close ${s.date} (UTC+8, ${s.from} – ${s.to}) via ${result.via}
  created      ${s.created.count} / ${s.created.amount}${byStatus ? `   ${byStatus}` : ''}
  returns      ${s.returns.count} / ${s.returns.amount}   (CANCEL on ${s.date} of earlier days' payouts)
  late results ${s.late_results.count} / ${s.late_results.amount}
  still open   ${s.open.count} / ${s.open.amount}
  anomalies    ${s.anomalies.count}
  balance      start ${point(b.start)} · end ${point(b.end)}
               paid out ${b.paid_out.amount} · returned ${b.returned.amount} · unexplained (top-ups, fees) ${b.unexplained}
  written      ${join(result.reportsDir, result.keys.json)} (version ${result.versions.json})
               ${join(result.reportsDir, result.keys.csv)} (version ${result.versions.csv})${
                 s.supersedes
                   ? `\n  supersedes   version ${s.supersedes.version} of ${s.supersedes.generated_at ?? 'an earlier run'}`
                   : ''
               }
`;
}

function dateArg(argv: readonly string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--date' || a.startsWith('--date='));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  return parseCloseDate(arg.includes('=') ? arg.slice('--date='.length) : (argv[i + 1] ?? ''));
}

async function main(): Promise<void> {
  const dataDir = process.env.LOCAL_DATA_DIR || '.local';
  const date = dateArg(process.argv.slice(2));
  const result = await closeLocalData({
    dataDir,
    env: process.env,
    ...(date ? { date } : {}),
    print: (line) => console.log(line),
  });
  console.log(closeSummary(result));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    const message =
      error instanceof ValidationError
        ? error.fields.map((f) => `${f.field} ${f.message}`).join('; ')
        : error instanceof Error
          ? error.message
          : String(error);
    console.error(`close failed: ${message}`);
    process.exit(1);
  });
}
