/**
 * The provider's rate budget (issue 11): batch applies (DISPATCH_RATE_PER_SECOND) and reconciliation's
 * queries (RECONCILE_RATE_PER_SECOND) together stay within one configured PROVIDER_RATE_PER_SECOND.
 * Checked by loadConfig at start and by the deployment schema at synth.
 */
export interface ProviderRates {
  readonly providerPerSecond: number;
  readonly dispatchPerSecond: number;
  readonly reconcilePerSecond: number;
}

/** Defaults that fit together: 50 applies + 10 queries per second within the provider's 60. */
export const DEFAULT_PROVIDER_RATES: ProviderRates = {
  providerPerSecond: 60,
  dispatchPerSecond: 50,
  reconcilePerSecond: 10,
};

/**
 * The provider's budget: batch applies and reconciliation queries together within one rate. Checked at
 * start (loadConfig) and at synth. Answers the problem, or undefined.
 */
export function providerBudgetProblem(rates: ProviderRates): string | undefined {
  const { providerPerSecond, dispatchPerSecond, reconcilePerSecond } = rates;
  if (dispatchPerSecond + reconcilePerSecond > providerPerSecond) {
    return `DISPATCH_RATE_PER_SECOND (${dispatchPerSecond}) + RECONCILE_RATE_PER_SECOND (${reconcilePerSecond}) must not exceed PROVIDER_RATE_PER_SECOND (${providerPerSecond})`;
  }
  return undefined;
}

/**
 * DISPATCH_RATE_PER_SECOND when it is not set: what the provider's budget leaves after reconciliation
 * (50 with the defaults), so defaults always fit; an explicit value is checked instead. At least 1: a
 * reconciliation rate that takes the whole budget is then refused by providerBudgetProblem.
 */
export function defaultDispatchRate(providerPerSecond: number, reconcilePerSecond: number): number {
  return Math.max(1, providerPerSecond - reconcilePerSecond);
}
