/**
 * `npm run bench` — performance benchmarks → bench/results.json
 * `npm run bench -- reliability` — the reliability suite against local mode → bench/reliability.json
 * Either one rewrites bench/RESULTS.md from both JSON files. `--quick` runs small sizes and writes to
 * bench/.tmp/ instead (for trying the harness; never commit quick numbers).
 *
 * Everything runs on 127.0.0.1: DynamoDB Local, the provider sandbox and the local front on free ports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FULL_BATCH_ACCEPT, QUICK_BATCH_ACCEPT, runBatchAcceptBench } from './batch-accept';
import { runBatchDispatch } from './batch-dispatch';
import { REPO_ROOT } from './bundle';
import { FULL_CLOSE, QUICK_CLOSE, runCloseBench } from './close';
import { consoleSize } from './console-size';
import { LIST_PAGE_SIZES, QUICK_LIST_PAGE_SIZES, runListPageBench } from './list-page';
import { finishMachine, machine } from './machine';
import { FULL_PERF, perfKeys, QUICK_PERF, runPerf } from './perf';
import { FUZZ_SEED } from './reliability/fuzz';
import { FULL_SIZES, QUICK_SIZES, runReliability, STORE_FAULT_SEED } from './reliability/index';
import {
  perfRows,
  printTable,
  RELIABILITY_JSON,
  RESULTS_JSON,
  RESULTS_MD,
  reliabilityRows,
  writeResultsMd,
} from './report';

const args = process.argv.slice(2);
const mode = args.includes('reliability') ? 'reliability' : 'perf';
const quick = args.includes('--quick');
const command = args.length > 0 ? `npm run bench -- ${args.join(' ')}` : 'npm run bench';

const started = Date.now();
const log = (line: string) => {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${s} s] ${line}\n`);
};

function target(file: string): string {
  if (!quick) return file;
  const dir = join(REPO_ROOT, 'bench', '.tmp');
  mkdirSync(dir, { recursive: true });
  return join(dir, file.split('/').at(-1)!);
}

/** What every results file records about the run that produced it (read when the run ends). */
function runMeta(host: ReturnType<typeof machine>) {
  return {
    generated_at: new Date().toISOString(),
    command,
    seconds: Math.round((Date.now() - started) / 1000),
    machine: finishMachine(host),
    quick,
  };
}

async function main(): Promise<number> {
  const host = machine();
  log(`${command} on ${host.cores} × ${host.model}, Node ${host.node}`);
  if (mode === 'perf') {
    const run = await runPerf(quick ? QUICK_PERF : FULL_PERF, log);
    // Issue 12: one page of 50 of GET /payouts (target ≤ 10 RRU; see docs/operations.md).
    const listPage = await runListPageBench(quick ? QUICK_LIST_PAGE_SIZES : LIST_PAGE_SIZES, log);
    // Batches (issue 11): batch_accept_ms, a 5,000-row CSV accepted against DynamoDB Local, median of 3.
    const batchAccept = await runBatchAcceptBench(quick ? QUICK_BATCH_ACCEPT : FULL_BATCH_ACCEPT, log);
    // The daily close (issue 13): close_seconds_100k and its read units.
    const close = await runCloseBench(quick ? QUICK_CLOSE : FULL_CLOSE, log);
    // Batch dispatch (issue 11): achieved ÷ configured apply rate, from the sandbox's timestamps.
    const batchDispatch = await runBatchDispatch(quick, log);
    const keys = {
      ...perfKeys(run),
      rru_per_list_page: listPage.rruPerPage,
      batch_accept_ms: batchAccept.medianMs,
      batch_dispatch_rate_ratio: batchDispatch.ratio,
      ...close.keys,
      ...(await consoleSize(log)),
    };
    const meta = runMeta(host);
    const details = { ...run, listPage, batchAccept, close: close.details, batchDispatch };
    writeFileSync(target(RESULTS_JSON), `${JSON.stringify({ ...keys, meta, details }, null, 2)}\n`);
    process.stdout.write(`\n${printTable('Performance (bench/results.json)', perfRows(keys))}\n`);
    process.stdout.write(
      `\nusd_per_million_payouts with CloudWatch Logs ${keys.usd_per_million_payouts_with_logs}, with Logs + X-Ray ${keys.usd_per_million_payouts_with_logs_and_xray}, with one GET per payout ${keys.usd_per_million_payouts_with_one_get}\n`,
    );
  } else {
    log(`seeds: store faults ${STORE_FAULT_SEED}, fuzz ${FUZZ_SEED}`);
    const results = await runReliability(quick ? QUICK_SIZES : FULL_SIZES, log);
    const meta = runMeta(host);
    const file = { ...results, meta, seeds: { store_faults: STORE_FAULT_SEED, notify_fuzz: FUZZ_SEED } };
    writeFileSync(target(RELIABILITY_JSON), `${JSON.stringify(file, null, 2)}\n`);
    process.stdout.write(
      `\n${printTable('Reliability (bench/reliability.json)', reliabilityRows(results))}\n`,
    );
  }
  const md = target(RESULTS_MD);
  writeResultsMd({ perf: target(RESULTS_JSON), reliability: target(RELIABILITY_JSON), out: md });
  log(`wrote ${md}`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
