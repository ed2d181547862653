/**
 * The timing the payout design relies on, checked where configuration is read: by `loadConfig`
 * (src/config/env.ts) when a function or local mode starts, and by the deployment configuration schema at
 * `cdk synth`. One rule, two callers; each reports it under its own setting names.
 */

/**
 * Room the apply function has beyond the provider call's own timeout: a cold start (SSM + KMS), the
 * conditional create and the outcome write. The apply function's Lambda timeout is the provider timeout
 * plus this (infra/constructs/functions.ts), so an apply can be in flight at most this long past the
 * provider timeout.
 */
export const APPLY_FUNCTION_MARGIN_MS = 10_000;

/** The reconcile function's Lambda timeout (infra/constructs/functions.ts). */
export const RECONCILE_FUNCTION_TIMEOUT_SECONDS = 300;

/**
 * The provider keeps answering 8901 ("no such order") for a while after taking an apply (spec §7); before
 * this long, 8901 says nothing about whether the order will appear.
 */
const MIN_NOT_FOUND_GRACE_SECONDS = 30 * 60;

export interface TimingSettings {
  readonly providerTimeoutMs: number;
  readonly reconcileMinAgeSeconds: number;
  readonly notFoundGraceSeconds: number;
  /** Deployed only: seconds between scheduled reconcile runs. */
  readonly scheduleRateSeconds?: number;
  /** Deployed only: the reconcile function's timeout; defaults to RECONCILE_FUNCTION_TIMEOUT_SECONDS. */
  readonly reconcileTimeoutSeconds?: number;
}

export interface TimingProblem {
  readonly setting: keyof TimingSettings;
  readonly message: string;
}

/** Every broken timing assumption, each under the setting to change and with the reason. */
export function timingProblems(s: TimingSettings): TimingProblem[] {
  const problems: TimingProblem[] = [];
  const inFlightMs = s.providerTimeoutMs + APPLY_FUNCTION_MARGIN_MS;
  if (s.reconcileMinAgeSeconds * 1000 <= inFlightMs) {
    problems.push({
      setting: 'reconcileMinAgeSeconds',
      message:
        `must be more than ${Math.ceil(inFlightMs / 1000)} s (the provider timeout plus the apply function's ` +
        `${APPLY_FUNCTION_MARGIN_MS / 1000} s margin): reconciliation must never query, or resend, an order ` +
        'whose apply may still be in flight',
    });
  }
  if (s.notFoundGraceSeconds < MIN_NOT_FOUND_GRACE_SECONDS) {
    problems.push({
      setting: 'notFoundGraceSeconds',
      message:
        `must be at least ${MIN_NOT_FOUND_GRACE_SECONDS} s: the provider may answer 8901 for an order it ` +
        'has taken for up to 30 minutes (spec §7), and a shorter grace would fail a payout that is being paid',
    });
  }
  if (s.scheduleRateSeconds !== undefined) {
    const timeout = s.reconcileTimeoutSeconds ?? RECONCILE_FUNCTION_TIMEOUT_SECONDS;
    if (s.scheduleRateSeconds < timeout) {
      problems.push({
        setting: 'scheduleRateSeconds',
        message:
          `must be at least the reconcile function's timeout (${timeout} s): a shorter rate starts a run ` +
          'while the previous one may still be querying the same orders',
      });
    }
  }
  return problems;
}
