import { EXAMPLE_OID_PARTNER, EXAMPLE_PROVIDER_PUBLIC_KEY } from './example';
import type { DeploymentEnv, PayoutConfigInput } from './schema';

/**
 * Defaults per environment. Values that identify one merchant (oidPartner, providerPublicKey, alarmEmail,
 * notifyAllowCidrs, egressEipAllocationIds) have no real default on purpose (dev carries clearly marked
 * example values so a bare synth works): they come from context, so this
 * open-source file never carries someone's merchant data and a forgotten value fails the synth.
 */
type Defaults = Omit<PayoutConfigInput, 'oidPartner' | 'providerPublicKey' | 'alarmEmail' | 'notifyUrl'> &
  Partial<Pick<PayoutConfigInput, 'oidPartner' | 'providerPublicKey'>>;

const shared = {
  // The documented production host (spec §1); the client appends /traderapi/cardandpay.htm.
  apiBase: 'https://yintong.com.cn',
  signType: 'RSA',
  notifyAllowCidrs: [],
  reconcileRateMinutes: 5,
  logLevel: 'INFO',
  // The runtime's own defaults (src/config/env.ts), written out so the template shows what runs.
  providerTimeoutMs: 10_000,
  notFoundGraceSeconds: 30 * 60,
  // Off by default: each watched payout costs one more provider query and about 3 WRU.
  returnWatchSeconds: 0,
  reconcileMinAgeSeconds: 120,
  reconcileRatePerSecond: 10,
  reconcileConcurrency: 4,
  stuckAfterSeconds: 24 * 60 * 60,
  egressEipAllocationIds: [],
} as const satisfies Partial<Defaults>;

export const ENVIRONMENTS: Readonly<Record<DeploymentEnv, Defaults>> = {
  dev: {
    ...shared,
    env: 'dev',
    // Example values only (see example.ts): a bare `npx cdk synth` works; a real dev stack overrides them.
    oidPartner: EXAMPLE_OID_PARTNER,
    providerPublicKey: EXAMPLE_PROVIDER_PUBLIC_KEY,
    merchantKeyParam: '/lianlian-payout/dev/merchant-rsa-key',
    md5KeyParam: '/lianlian-payout/dev/merchant-md5-key',
    logRetentionDays: 14,
    apiRateLimit: 10,
    apiBurstLimit: 20,
  },
  prod: {
    ...shared,
    env: 'prod',
    merchantKeyParam: '/lianlian-payout/prod/merchant-rsa-key',
    md5KeyParam: '/lianlian-payout/prod/merchant-md5-key',
    // Operational logs carry no payee data (they are redacted), but payout disputes surface months later.
    logRetentionDays: 400,
    apiRateLimit: 50,
    apiBurstLimit: 100,
  },
};
