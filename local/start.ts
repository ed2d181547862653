/**
 * `npm start`: the whole service on one machine, no AWS account. DynamoDB Local (data under .local/),
 * the provider sandbox (unless LLP_API_BASE, or both LLP_APPLY_URL and LLP_QUERY_URL, point elsewhere)
 * and the same handlers behind a local HTTP front; reconciliation on a timer and payout events from the
 * table stream to the log. SANDBOX_STEP_MS, SANDBOX_NOTIFY_INTERVAL_MS and SANDBOX_BALANCE tune the
 * embedded sandbox. Ctrl-C stops everything.
 */
import { removeStackState, writeStackState } from './reconciler';
import { LOCAL_ENV, startLocalStack } from './stack';

const dataDir = process.env.LOCAL_DATA_DIR || '.local';

async function main(): Promise<void> {
  const stack = await startLocalStack({
    env: process.env,
    dataDir,
    sandbox: {
      // Local mode is for people: results in seconds, retries every 10 s instead of 2 minutes.
      stepMs: Number(process.env.SANDBOX_STEP_MS || 1000),
      notifyIntervalMs: Number(process.env.SANDBOX_NOTIFY_INTERVAL_MS || 10_000),
      log: (line) => console.log(`[sandbox] ${line}`),
    },
    // Reconciliation every RECONCILE_INTERVAL_SECONDS (default 60) for orders older than
    // RECONCILE_MIN_AGE_SECONDS (default 120), and payout events printed as they are published.
    reconcile: { timer: true },
    events: true,
    log: (line) => console.log(line),
  });
  // `npm run reconcile` finds this stack's DynamoDB and provider through this file.
  writeStackState(dataDir, stack);
  const example = {
    no_order: `demo${Date.now()}`,
    money_order: '0.01',
    card_no: '6222000000000000',
    acct_name: '测试',
    flag_card: '0',
    info_order: 'local demo payout',
  };
  console.log(`
lianlian-payout local mode is up
  web console       ${stack.consoleUrl}   (sign in as any name; two windows = two people)
  merchant API      ${stack.url}   (POST /payouts, GET /payouts/{no_order}, POST /lianlian/notify)
  approvals         POST /payouts/{no_order}/approve|deny|void, GET /payouts?status=AWAITING_APPROVAL
                    (x-principal: <name> plays a person here, local mode only; controls: docs/controls.md)
  notify URL        ${stack.notifyUrl}
  provider          ${stack.env.LLP_API_BASE}${stack.sandbox ? '   (embedded sandbox)' : ''}
  DynamoDB Local    ${stack.dynamoEndpoint}   table ${stack.tableName}, data in ${dataDir}/
  reconciliation    every ${process.env[LOCAL_ENV.reconcileIntervalSeconds] || 60} s (orders older than ${stack.env.RECONCILE_MIN_AGE_SECONDS} s); one pass now: npm run reconcile
  payout events     printed as [event] lines (table stream → local sink)

Try a payout (the sandbox pays it, then notifies):
  curl -s -X POST ${stack.url}/payouts -H 'content-type: application/json' \\
    -d '${JSON.stringify(example)}'
  curl -s ${stack.url}/payouts/${example.no_order}

Ctrl-C to stop.
`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    removeStackState(dataDir);
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`local mode failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
