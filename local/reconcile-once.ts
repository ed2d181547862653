/**
 * `npm run reconcile`: one reconciliation pass over local mode's data, then a summary. With `npm start`
 * running it uses that stack's DynamoDB Local and provider (found through .local/stack.json); otherwise it
 * starts DynamoDB Local on the data dir itself and needs LLP_API_BASE (or both LLP_APPLY_URL and
 * LLP_QUERY_URL). See docs/reconciliation.md.
 *
 *   npm run reconcile                 # orders due now
 *   RECONCILE_RATE_PER_SECOND=2 npm run reconcile
 */
import { METRICS } from '../src/config/contract';
import { reconcileLocalData } from './reconciler';

const dataDir = process.env.LOCAL_DATA_DIR || '.local';

async function main(): Promise<void> {
  const result = await reconcileLocalData({ dataDir, env: process.env });
  const s = result.summary;
  const buckets = s.pendingByAgeBucket;
  console.log(`
reconciliation pass (${result.via}: ${result.dynamoEndpoint}, table ${result.tableName})
  examined   ${s.examined}   (changed ${s.changed}, resent ${s.resent}, unchanged ${s.unchanged}, unknown ${s.unknown}, errors ${s.errors})
  skipped    ${s.skipped}   (final or re-scheduled meanwhile, or changed too recently)
  anomalies  ${s.anomalies}
  stuck      ${s.stuck}   (open longer than STUCK_AFTER_SECONDS; reported, never failed)
  still open by age   <1h ${buckets.lt1h} · 1–6h ${buckets['1to6h']} · 6–24h ${buckets['6to24h']} · >24h ${buckets.gt24h}
  ${s.stoppedEarly ? 'stopped early: the rest is due for the next pass' : 'every due order was looked at'}
  metrics    ${METRICS.reconcileExamined}=${result.metrics.get(METRICS.reconcileExamined) ?? 0} ${METRICS.reconcileChanged}=${result.metrics.get(METRICS.reconcileChanged) ?? 0} ${METRICS.stuck}=${result.metrics.get(METRICS.stuck) ?? 0}
`);
  if (s.errors > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`reconcile failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
