import { join } from 'node:path';
import { LOCAL_OID_PARTNER } from '../local/test-merchant';
import { ENV, FUNCTION_NAMES, type FunctionName } from '../src/config/contract';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../src/lianlian/keys';
import { bundleFunctions, LAMBDA_BUNDLE_OPTIONS, measureInit, REPO_ROOT, toKb } from './bundle';
import { type CapacityResult, capacityBench } from './capacity';
import { type CostInputs, type CostResult, costPerMillion, PRICES } from './cost';
import { startBenchDynamo } from './dynamo';
import { type LatencyResult, latencyBench } from './latency';
import { type ReconcileRateResult, reconcileRateBench } from './reconcile-rate';
import { newSignKeys, type SignBenchResult, signBench } from './sign';
import { round, stageTimer } from './stats';

/** Sizes of the performance run; QUICK is for trying the harness, never for committed results. */
export interface PerfSizes {
  readonly signRounds: number;
  readonly signSeconds: number;
  readonly initRuns: number;
  readonly latencyIterations: number;
  readonly latencyWarmup: number;
  readonly capacityPayouts: number;
  readonly reconcileOrders: number;
  readonly reconcileRate: number;
  readonly reconcileConcurrency: number;
  readonly reconcileMaxSeconds: number;
}

export const FULL_PERF: PerfSizes = {
  signRounds: 2,
  signSeconds: 3,
  initRuns: 10,
  latencyIterations: 5_000,
  latencyWarmup: 500,
  capacityPayouts: 200,
  reconcileOrders: 10_000,
  // 50/s drains a 10,000-order backlog in 200 s: inside one 5-minute scheduled run (the infra's
  // default schedule and timeout), minus the safety margin. The infra allows 1–100/s; the default 10/s
  // would take four runs for the same backlog.
  reconcileRate: 50,
  // Concurrency has to cover rate × per-order latency (read, query, write ≈ 50–100 ms here).
  reconcileConcurrency: 8,
  reconcileMaxSeconds: 280,
};

export const QUICK_PERF: PerfSizes = {
  signRounds: 1,
  signSeconds: 1,
  initRuns: 3,
  latencyIterations: 500,
  latencyWarmup: 100,
  capacityPayouts: 40,
  reconcileOrders: 300,
  reconcileRate: 50,
  reconcileConcurrency: 8,
  reconcileMaxSeconds: 30,
};

/** Stated assumptions of the cost model: everything the local run cannot measure. */
export const COST_ASSUMPTIONS = {
  payoutsPerMonth: 1_000_000,
  /** Merchant GETs per payout: results reach downstream systems as EventBridge events, not by polling. */
  getsPerPayout: 0,
  /** Round trip to LianLian's apply endpoint from the Lambda (replaces the loopback sandbox). */
  providerRttMs: 150,
  /** PutEvents round trip from the publish function. */
  putEventsRttMs: 30,
  /** Share of payouts still open when reconciliation first looks (slow banks, lost notifications). */
  reconciledShare: 0.05,
  /** Reconciliation rate in production (the infra default), which sets the Lambda time per order. */
  productionReconcileRate: 10,
  /** Scheduled runs per month (every 5 minutes) and the duration of a run with nothing due. */
  reconcileRunsPerMonth: 12 * 730,
  emptyReconcileRunMs: 200,
  /** Share of invocations that are cold starts (their INIT phase is billed since August 2025). */
  coldStartShare: 0.005,
  /** KMS: one GenerateDataKey per 5 minutes per warm apply container (1 container at this volume), one
   * merchant-key Decrypt and one GenerateDataKey per apply cold start, DynamoDB's table-key requests. */
  kmsDataKeyRequestsPerMonth: 12 * 730,
  kmsTableKeyRequestsPerMonth: 12 * 730,
  /** START/END/REPORT (and X-Ray) lines Lambda writes per invocation. */
  platformLogBytesPerInvocation: 350,
  /** X-Ray: apply, notify and three publish invocations per payout; below 1 request/s the default
   * sampling rule (1/s reservoir + 5 %) records nearly all of them. */
  tracesPerPayout: 5,
  /** Stream records per payout (creation, ACCEPTED, SUCCESS), one invocation each at low traffic. */
  publishInvocationsPerPayout: 3,
} as const;

export interface PerfRun {
  readonly sign: SignBenchResult;
  readonly bundles: { name: FunctionName; bytes: number; mapBytes: number }[];
  readonly init: Record<
    FunctionName,
    { importMedianMs: number; sinceStartMedianMs: number; importSamplesMs: readonly number[] }
  >;
  readonly initKms: Record<FunctionName, { importMedianMs: number; sinceStartMedianMs: number }>;
  readonly latency: LatencyResult;
  readonly capacity: CapacityResult;
  /** The same payouts under a daily and a per-payee limit (each commit a transaction with two counters). */
  readonly capacityWithControls: CapacityResult;
  readonly reconcile: ReconcileRateResult;
  readonly cost: { inputs: CostInputs; result: CostResult; withOneGet: CostResult };
  readonly seconds: Record<string, number>;
}

/**
 * Every counting control on, none refusing: each payout's commit is a transaction of the order and two
 * counters (the day's and the payee's), the most a payout without approval writes.
 */
export const CONTROLS_BENCH_POLICY: Record<string, string> = {
  DAILY_LIMIT_AMOUNT: '100000000',
  PAYEE_DAILY_LIMIT_AMOUNT: '100000000',
  PAYEE_DAILY_LIMIT_COUNT: '1000000',
};

function initEnv(
  keySource: 'env' | 'kms',
  providerPublicKey: string,
  merchantKey: string,
): Record<string, string> {
  // What the infra gives every payout function (infra/constructs/functions.ts), with local values.
  const common = {
    AWS_REGION: 'cn-north-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    [ENV.serviceName]: 'lianlian-payout',
    [ENV.metricsNamespace]: 'LianLianPayout',
    [ENV.logLevel]: 'INFO',
    [ENV.tableName]: 'payouts',
    [ENV.dynamoEndpoint]: 'http://127.0.0.1:9',
    [ENV.apiBase]: 'http://127.0.0.1:9',
    [ENV.oidPartner]: LOCAL_OID_PARTNER,
    [ENV.signType]: 'RSA',
    [ENV.providerPublicKey]: providerPublicKey,
    [ENV.notifyUrl]: 'https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/v1/lianlian/notify',
    [ENV.eventBusName]: 'payout-events',
    // The publish function sends reconciliation's dispatch requests on (required at its init, as infra gives it).
    [ENV.dispatchQueueUrl]: 'https://sqs.cn-north-1.amazonaws.com.cn/000000000000/dispatch.fifo',
    // The export function (issue 12) names its bucket at init, as the infra gives it.
    [ENV.reportsBucket]: 'payout-reports',
  };
  if (keySource === 'env') {
    return {
      ...common,
      [ENV.keySource]: 'env',
      // Parsed on first use (the first signature), not at init; a real key all the same.
      [ENV.merchantPrivateKey]: merchantKey,
      [ENV.localFieldKey]: Buffer.alloc(32, 7).toString('base64'),
    };
  }
  return {
    ...common,
    [ENV.keySource]: 'kms',
    [ENV.merchantKeyParam]: '/lianlian-payout/bench/merchant-rsa-key',
    [ENV.merchantKeyKmsKeyId]: 'arn:aws-cn:kms:cn-north-1:000000000000:key/bench-merchant',
    [ENV.fieldKeyKmsKeyId]: 'arn:aws-cn:kms:cn-north-1:000000000000:key/bench-field',
  };
}

export async function runPerf(sizes: PerfSizes, progress: (line: string) => void): Promise<PerfRun> {
  const { seconds, timed } = stageTimer(progress);

  const keys = newSignKeys();
  const sign = await timed('sign', () => signBench(keys, sizes.signRounds, sizes.signSeconds, progress));

  const bundles = await timed('bundles', () => bundleFunctions(join(REPO_ROOT, 'bench', '.tmp', 'bundles')));
  progress(`bundles: ${bundles.map((b) => `${b.name} ${toKb(b.bytes)} kB`).join(', ')}`);
  progress(`bundle options: ${JSON.stringify(LAMBDA_BUNDLE_OPTIONS.alias)}`);
  const providerPublic = exportPublicKeyBase64(keys.providerPublic);
  const merchantPrivate = exportPrivateKeyBase64(keys.merchant);
  const init = {} as PerfRun['init'];
  const initKms = {} as PerfRun['initKms'];
  await timed('init', async () => {
    for (const bundle of bundles) {
      init[bundle.name] = await measureInit(
        bundle,
        initEnv('env', providerPublic, merchantPrivate),
        sizes.initRuns,
      );
      const kms = await measureInit(bundle, initEnv('kms', providerPublic, merchantPrivate), sizes.initRuns);
      initKms[bundle.name] = {
        importMedianMs: kms.importMedianMs,
        sinceStartMedianMs: kms.sinceStartMedianMs,
      };
      progress(
        `init ${bundle.name}: ${init[bundle.name].importMedianMs} ms (kms mode ${kms.importMedianMs} ms)`,
      );
    }
  });

  const latency = await timed('latency', () =>
    latencyBench(keys, sizes.latencyIterations, sizes.latencyWarmup, progress),
  );

  const dynamo = await startBenchDynamo();
  let capacity: CapacityResult;
  let capacityWithControls: CapacityResult;
  let reconcile: ReconcileRateResult;
  try {
    // Two in flight: enough to overlap, few enough that the round trips are not queueing time.
    capacity = await timed('capacity', () =>
      capacityBench(dynamo.endpoint, sizes.capacityPayouts, 2, progress),
    );
    capacityWithControls = await timed('capacity_with_controls', () =>
      capacityBench(dynamo.endpoint, sizes.capacityPayouts, 2, progress, CONTROLS_BENCH_POLICY),
    );
    reconcile = await timed('reconcile_rate', () =>
      reconcileRateBench(
        dynamo.endpoint,
        {
          orders: sizes.reconcileOrders,
          ratePerSecond: sizes.reconcileRate,
          concurrency: sizes.reconcileConcurrency,
          maxPassSeconds: sizes.reconcileMaxSeconds,
        },
        progress,
      ),
    );
  } finally {
    await dynamo.stop();
  }

  const inputs = costInputs(latency, capacity, reconcile, init);
  const result = costPerMillion(inputs, PRICES);
  const withOneGet = costPerMillion(withGets(inputs, latency, 1), PRICES);
  return {
    sign,
    // Sizes only: the bundle paths are this machine's and have no place in committed results.
    bundles: bundles.map(({ name, bytes, mapBytes }) => ({ name, bytes, mapBytes })),
    init,
    initKms,
    latency,
    capacity,
    capacityWithControls,
    reconcile,
    cost: { inputs, result, withOneGet },
    seconds,
  };
}

function costInputs(
  latency: LatencyResult,
  capacity: CapacityResult,
  reconcile: ReconcileRateResult,
  init: PerfRun['init'],
): CostInputs {
  const a = COST_ASSUMPTIONS;
  const notifications = capacity.notificationsPerPayout;
  const apiRequests = 1 + notifications + a.getsPerPayout;
  const coldStarts = a.coldStartShare;
  const monthly = a.payoutsPerMonth;
  // Per apply cold start: the merchant key's Decrypt and the first data key's GenerateDataKey.
  const kmsPerMonth = a.kmsDataKeyRequestsPerMonth + a.kmsTableKeyRequestsPerMonth + 2 * coldStarts * monthly;
  return {
    payoutsPerMonth: monthly,
    apiRequestsPerPayout: apiRequests,
    functions: {
      apply: {
        invocations: 1,
        durationMs: capacity.applyRoundTripMs.p50 + a.providerRttMs,
        memoryMb: 512,
        logBytes: latency.applyLogBytes,
      },
      'apply INIT (cold starts)': {
        invocations: coldStarts,
        durationMs: init.apply.sinceStartMedianMs,
        memoryMb: 512,
        logBytes: 0,
        separateInvocation: false,
      },
      notify: {
        invocations: notifications,
        durationMs: capacity.notifyRoundTripMs.p50,
        memoryMb: 512,
        logBytes: latency.notifyLogBytes,
      },
      'notify INIT (cold starts)': {
        invocations: coldStarts * notifications,
        durationMs: init.notify.sinceStartMedianMs,
        memoryMb: 512,
        logBytes: 0,
        separateInvocation: false,
      },
      'publish, records without events': {
        invocations: a.publishInvocationsPerPayout - 1,
        durationMs: latency.publish.noEventP50,
        memoryMb: 512,
        logBytes: latency.publish.logBytesPerInvocation,
      },
      'publish, the final record': {
        invocations: 1,
        durationMs: latency.publish.eventP50 + a.putEventsRttMs,
        memoryMb: 512,
        logBytes: latency.publish.logBytesPerInvocation,
      },
      'reconcile, share of a run': {
        // A rate-limited run lasts about examined ÷ rate: that wall time is what Lambda bills.
        invocations: a.reconciledShare,
        durationMs: 1000 / a.productionReconcileRate,
        memoryMb: 1024,
        logBytes: 0,
        separateInvocation: false,
      },
    },
    wruPerPayout: capacity.wruPerPayout + a.reconciledShare * reconcile.wruPerOrder,
    rruPerPayout: capacity.rruPerPayout + a.reconciledShare * reconcile.rruPerOrder,
    kmsRequestsPerPayout: kmsPerMonth / monthly,
    eventsPerPayout: 1,
    platformLogBytesPerInvocation: a.platformLogBytesPerInvocation,
    tracesPerPayout: a.tracesPerPayout,
    fixedMonthlyLambdaGbSeconds: a.reconcileRunsPerMonth * (a.emptyReconcileRunMs / 1000) * 1,
    fixedMonthlyLambdaRequests: a.reconcileRunsPerMonth,
  };
}

/** The same model with `gets` merchant GETs per payout (API request + query function + one read). */
function withGets(inputs: CostInputs, latency: LatencyResult, gets: number): CostInputs {
  return {
    ...inputs,
    apiRequestsPerPayout: inputs.apiRequestsPerPayout + gets,
    rruPerPayout: inputs.rruPerPayout + gets,
    functions: {
      ...inputs.functions,
      query: { invocations: gets, durationMs: 10, memoryMb: 512, logBytes: latency.notifyLogBytes / 2 },
    },
  };
}

export function perfKeys(run: PerfRun) {
  const bestSign = Math.max(...run.sign.sign.map((s) => s.opsPerSecond));
  const bestOpenssl = Math.max(...run.sign.openssl.map((o) => o.signPerSecond));
  const bundleKb = Object.fromEntries(run.bundles.map((b) => [b.name, toKb(b.bytes)])) as Record<
    FunctionName,
    number
  >;
  const initMs = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, run.init[n].importMedianMs])) as Record<
    FunctionName,
    number
  >;
  return {
    sign_rsa1024_ops_s: round(bestSign, 0),
    openssl_rsa1024_sign_ops_s: round(bestOpenssl, 1),
    sign_ratio: round(bestSign / bestOpenssl, 3),
    sign_vs_bare_crypto_ratio: round(run.sign.vsBareCrypto.ratio, 3),
    verify_rsa1024_ops_s: round(run.sign.verify.opsPerSecond, 0),
    bundle_kb: bundleKb,
    init_ms: initMs,
    apply_p50_ms: run.latency.apply.p50,
    apply_p99_ms: run.latency.apply.p99,
    notify_p50_ms: run.latency.notify.p50,
    notify_p99_ms: run.latency.notify.p99,
    wru_per_payout: run.capacity.wruPerPayout,
    wru_per_payout_with_controls: run.capacityWithControls.wruPerPayout,
    rru_per_payout: run.capacity.rruPerPayout,
    reconcile_rate_ratio: run.reconcile.ratio,
    usd_per_million_payouts: round(run.cost.result.usdPerMillion, 2),
    // Beyond the issue's keys.
    openssl_rsa1024_verify_ops_s: round(Math.max(...run.sign.openssl.map((o) => o.verifyPerSecond)), 0),
    raw_crypto_sign_ratio: round(run.sign.breakdown.rawCryptoSignOpsPerSecond / bestOpenssl, 3),
    init_since_process_start_ms: Object.fromEntries(
      FUNCTION_NAMES.map((n) => [n, run.init[n].sinceStartMedianMs]),
    ),
    init_ms_kms_mode: Object.fromEntries(FUNCTION_NAMES.map((n) => [n, run.initKms[n].importMedianMs])),
    bundle_bytes: Object.fromEntries(run.bundles.map((b) => [b.name, b.bytes])),
    usd_per_million_payouts_with_logs: round(run.cost.result.usdPerMillionWithLogs, 2),
    usd_per_million_payouts_with_logs_and_xray: round(run.cost.result.usdPerMillionWithLogsAndXray, 2),
    usd_per_million_payouts_with_one_get: round(run.cost.withOneGet.usdPerMillion, 2),
    reconcile_achieved_q_s: run.reconcile.achievedRate,
    reconcile_configured_q_s: run.reconcile.configuredRate,
  };
}

export type PerfKeys = ReturnType<typeof perfKeys>;
