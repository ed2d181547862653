import type { ReconcileSchedulePayload } from '../../src/config/contract';
import type { RuntimeConfig } from '../../src/config/env';
import { timingProblems } from '../../src/config/timing';
import { runFundsCheck } from '../../src/core/funds';
import { TokenBucket } from '../../src/core/rate-limit';
import { type ReconcileOptions, type ReconcileSummary, runReconciliation } from '../../src/core/reconcile';
import { type LambdaHandler, lambdaHandler } from '../shared/lambda';
import type { Runtime } from '../shared/runtime';

/**
 * The scheduled reconciliation as a factory over a Runtime, like the HTTP handlers: the deployed
 * function, local mode's timer and the tests run the same code.
 */

export class SchedulePayloadError extends Error {
  override readonly name = 'SchedulePayloadError';
}

/**
 * The schedule's payload, checked: a misconfigured schedule must fail loudly (and alarm on errors),
 * not reconcile with made-up settings.
 */
export function parseSchedulePayload(event: unknown): ReconcileSchedulePayload {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new SchedulePayloadError('the schedule payload must be an object');
  }
  const { kind, minAgeSeconds } = event as Record<string, unknown>;
  if (kind !== 'reconcile') throw new SchedulePayloadError('the schedule payload kind must be "reconcile"');
  if (minAgeSeconds === undefined) return { kind };
  if (typeof minAgeSeconds !== 'number' || !Number.isInteger(minAgeSeconds) || minAgeSeconds < 1) {
    throw new SchedulePayloadError('minAgeSeconds must be a whole number of seconds, at least 1');
  }
  return { kind, minAgeSeconds };
}

/**
 * Run options from the configuration. The safety margin covers the slowest order: a query and a resend,
 * each up to the provider timeout, plus a few store writes.
 *
 * A payload's minAgeSeconds override is held to the same timing rule as RECONCILE_MIN_AGE_SECONDS
 * (src/config/timing.ts): a too-small one would let reconciliation query, and resend, an order whose apply
 * may still be in flight, so it is refused rather than used.
 */
export function reconcileOptionsFor(
  config: RuntimeConfig,
  payload: ReconcileSchedulePayload,
  remainingTimeMs: () => number,
): ReconcileOptions {
  if (payload.minAgeSeconds !== undefined) {
    const problem = timingProblems({
      providerTimeoutMs: config.timeoutMs,
      reconcileMinAgeSeconds: payload.minAgeSeconds,
      notFoundGraceSeconds: Math.ceil(config.notFoundGraceMs / 1000),
    }).find((p) => p.setting === 'reconcileMinAgeSeconds');
    if (problem) {
      throw new SchedulePayloadError(`the schedule payload's minAgeSeconds ${problem.message}`);
    }
  }
  return {
    minAgeMs: payload.minAgeSeconds !== undefined ? payload.minAgeSeconds * 1000 : config.reconcile.minAgeMs,
    ratePerSecond: config.reconcile.ratePerSecond,
    concurrency: config.reconcile.concurrency,
    stuckAfterMs: config.reconcile.stuckAfterMs,
    remainingTimeMs,
    safetyMarginMs: 2 * config.timeoutMs + 5_000,
  };
}

/** One reconciliation pass with a runtime (keys loaded first: every query is signed). */
export async function reconcileWithRuntime(
  runtime: Runtime,
  options: ReconcileOptions,
): Promise<ReconcileSummary> {
  await runtime.merchantKeys();
  // One provider rate for the whole invocation: the funds check (balance query, resends) and the queries.
  const limiter = new TokenBucket({ ratePerSecond: options.ratePerSecond });
  await fundsCheck(runtime, options, limiter);
  const summary = await runReconciliation({ ...runtime.deps, limiter }, options);
  // Counts only: no order data, let alone card data.
  const attrs = { ...summary, pendingByAgeBucket: { ...summary.pendingByAgeBucket } };
  if (summary.stoppedEarly)
    runtime.logger.warn('reconciliation stopped for time; the rest is next run', attrs);
  else runtime.logger.info('reconciliation finished', attrs);
  return summary;
}

/**
 * The funds check (src/core/funds.ts), before the due orders, at most every BALANCE_CHECK_SECONDS. Its
 * failure must not stop reconciliation: it is logged (and tried again at the next check).
 */
async function fundsCheck(runtime: Runtime, options: ReconcileOptions, limiter: TokenBucket): Promise<void> {
  try {
    await runFundsCheck(
      {
        ...runtime.deps,
        ...(options.now ? { clock: { now: () => options.now as Date } } : {}),
        balance: runtime.funds.balance,
        funds: runtime.funds.store,
        settings: {
          checkIntervalMs: runtime.config.funds.checkIntervalMs,
          ...(runtime.config.funds.lowBalanceFen === undefined
            ? {}
            : { lowBalanceFen: runtime.config.funds.lowBalanceFen }),
        },
      },
      { limiter, timeLeft: () => options.remainingTimeMs() >= options.safetyMarginMs },
    );
  } catch (error) {
    runtime.logger.error('funds check failed; reconciliation goes on, the next check tries again', {
      error: error instanceof Error ? error.name : 'unknown',
    });
  }
}

export type ReconcileHandler = LambdaHandler<ReconcileSchedulePayload, ReconcileSummary>;

/**
 * The EventBridge-scheduled handler. No error mapping: a failed run throws, so Lambda counts an error
 * (and alarms) and the schedule's next run picks up where this one stopped.
 */
export function reconcileHandler(rt: () => Runtime): ReconcileHandler {
  const runtime = rt();
  return lambdaHandler(runtime, async (event, context) => {
    const payload = parseSchedulePayload(event);
    return reconcileWithRuntime(
      runtime,
      reconcileOptionsFor(runtime.config, payload, () => context.getRemainingTimeInMillis()),
    );
  });
}
