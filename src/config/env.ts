import * as z from 'zod/mini';
import { type ProviderEndpoints, resolveEndpoints } from '../lianlian/endpoints';
import '../lib/zod-messages';
import { CONTROLS_ENV, ENV } from './contract';
import { type ControlsConfig, type ControlsInput, needsPayeeKey, parseControls } from './controls';
import { DEFAULT_PROVIDER_RATES, defaultDispatchRate, providerBudgetProblem } from './dispatch';
import {
  envProblem,
  invalid,
  nonNegativeInt,
  optionalPositiveInt,
  positiveInt,
  setValues,
  url,
} from './env-values';
import { FUNDS_ENV, type FundsConfig, parseFunds } from './funds';
import type { ConfigProblem } from './problems';
import { type TimingSettings, timingProblems } from './timing';

export { ConfigError } from './problems';

/** Default of MERCHANT_KEY_CACHE_SECONDS: a rotated merchant key is in use within five minutes. */
export const DEFAULT_KEY_CACHE_SECONDS = 300;

/**
 * Reads and validates the functions' configuration once, at cold start. A missing or malformed variable
 * fails fast with its name — never its value, which may be a key.
 */

const common = {
  [ENV.tableName]: z.string().check(z.minLength(1)),
  // Optional one by one; resolveEndpoints below refuses a configuration that leaves a call without a URL.
  [ENV.apiBase]: z.optional(url),
  [ENV.applyUrl]: z.optional(url),
  [ENV.queryUrl]: z.optional(url),
  [ENV.balanceUrl]: z.optional(url),
  [ENV.oidPartner]: z.string().check(z.regex(/^[0-9]{18}$/, 'must be 18 digits')),
  [ENV.signType]: z._default(z.optional(z.enum(['RSA', 'MD5'])), 'RSA'),
  [ENV.providerPublicKey]: z.optional(z.string().check(z.minLength(1))),
  [ENV.timeoutMs]: positiveInt(10_000),
  [ENV.notifyUrl]: url.check(
    z.maxLength(255, 'must be at most 255 characters'),
    // Sent raw inside the signed apply: a query string's "&b=2" would read as a field of its own (spec §13),
    // and every payout would be refused before sending.
    z.regex(/^[^&]*$/, 'must not contain "&" (it would change what the signature covers)'),
  ),
  [ENV.notFoundGraceSeconds]: positiveInt(30 * 60),
  [ENV.returnWatchSeconds]: nonNegativeInt(0),
  [ENV.reconcileMinAgeSeconds]: positiveInt(120),
  [ENV.reconcileRatePerSecond]: positiveInt(10),
  [ENV.reconcileConcurrency]: positiveInt(4),
  [ENV.stuckAfterSeconds]: positiveInt(24 * 60 * 60),
  [ENV.providerRatePerSecond]: positiveInt(DEFAULT_PROVIDER_RATES.providerPerSecond),
  // Default: PROVIDER_RATE_PER_SECOND − RECONCILE_RATE_PER_SECOND (defaultDispatchRate).
  [ENV.dispatchRatePerSecond]: optionalPositiveInt(),
  // In flight at once: 50 applies/s with each item taking up to ~1.2 s end to end (read, claim, apply, write) needs 64.
  [ENV.dispatchConcurrency]: positiveInt(64),
  [ENV.dispatchQueueUrl]: z.optional(url),
  [ENV.keyCacheSeconds]: positiveInt(DEFAULT_KEY_CACHE_SECONDS),
  [ENV.eventBusName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.dynamoEndpoint]: z.optional(url),
  // Controls are plain strings here; parseControls (shared with the synth) gives them their meaning.
  [ENV.approvalMinAmount]: z.optional(z.string()),
  [ENV.payoutMaxAmount]: z.optional(z.string()),
  [ENV.dailyLimitAmount]: z.optional(z.string()),
  [ENV.payeeDailyLimitAmount]: z.optional(z.string()),
  [ENV.payeeDailyLimitCount]: z.optional(z.string()),
  [ENV.approvalTtlSeconds]: z.optional(z.string()),
  [ENV.approvalMinBatchAmount]: z.optional(z.string()),
  // Funds (issue 13): parsed by src/config/funds.ts, shared with the synth.
  [ENV.balanceCheckSeconds]: z.optional(z.string()),
  [ENV.fundsWaitSeconds]: z.optional(z.string()),
  [ENV.lowBalanceAmount]: z.optional(z.string()),
  // GET /payouts/export.csv's inline limit; unset = the export's own default (INLINE_MAX_BYTES, 4 MB).
  // EXPORT_INLINE_MAX_BYTES: bytes; unset = the export's default (src/core/export.ts INLINE_MAX_BYTES).
  [ENV.exportInlineMaxBytes]: optionalPositiveInt(),
};

const kmsMode = z.object({
  [ENV.keySource]: z.literal('kms'),
  ...common,
  [ENV.merchantKeyParam]: z.optional(z.string().check(z.minLength(1))),
  [ENV.md5KeyParam]: z.optional(z.string().check(z.minLength(1))),
  [ENV.merchantKeyKmsKeyId]: z.string().check(z.minLength(1)),
  [ENV.fieldKeyKmsKeyId]: z.string().check(z.minLength(1)),
  [ENV.payeeHmacKmsKeyId]: z.optional(z.string().check(z.minLength(1))),
});

const envMode = z.object({
  [ENV.keySource]: z.literal('env'),
  ...common,
  [ENV.merchantPrivateKey]: z.optional(z.string().check(z.minLength(1))),
  [ENV.md5Key]: z.optional(z.string().check(z.minLength(1))),
  [ENV.localFieldKey]: z.string().check(z.minLength(1)),
  [ENV.localPayeeHmacKey]: z.optional(z.string().check(z.minLength(1))),
});

const schema = z.discriminatedUnion(ENV.keySource, [kmsMode, envMode]);

export interface RuntimeConfig {
  readonly keySource: 'kms' | 'env';
  readonly tableName: string;
  readonly dynamoEndpoint?: string;
  /** LLP_API_BASE as given (absent when apply and query URLs are each given); use `endpoints` to call. */
  readonly apiBase?: string;
  /** Where each provider call goes: LLP_APPLY_URL / LLP_QUERY_URL / LLP_BALANCE_URL, else LLP_API_BASE's. */
  readonly endpoints: ProviderEndpoints;
  readonly oidPartner: string;
  readonly signType: 'RSA' | 'MD5';
  readonly providerPublicKey?: string;
  readonly timeoutMs: number;
  readonly notifyUrl: string;
  readonly notFoundGraceMs: number;
  /** 0 = off. */
  readonly returnWatchMs: number;
  readonly reconcile: {
    readonly minAgeMs: number;
    readonly ratePerSecond: number;
    readonly concurrency: number;
    readonly stuckAfterMs: number;
  };
  /** Batch dispatch (issue 11); dispatch + reconcile rates fit within providerRatePerSecond. */
  readonly dispatch: {
    readonly providerRatePerSecond: number;
    readonly ratePerSecond: number;
    readonly concurrency: number;
    readonly balanceCheckMs: number;
    readonly queueUrl?: string;
  };
  readonly eventBusName?: string;
  /** How long a loaded merchant key is used before it is read again (MERCHANT_KEY_CACHE_SECONDS). */
  readonly keyCacheMs: number;
  /** Spending controls; with nothing set only approvalTtlMs is present and nothing is controlled. */
  readonly controls: ControlsConfig;
  /** Waiting for funds and the low-balance warning (issue 13). */
  readonly funds: FundsConfig;
  /** EXPORT_INLINE_MAX_BYTES; absent = the export's default (src/core/export.ts INLINE_MAX_BYTES). */
  readonly exportInlineMaxBytes?: number;
  readonly kms?: {
    readonly merchantKeyParam?: string;
    readonly md5KeyParam?: string;
    readonly merchantKeyKmsKeyId: string;
    readonly fieldKeyKmsKeyId: string;
    /** Present when payee limits are configured (required then). */
    readonly payeeHmacKmsKeyId?: string;
  };
  readonly local?: {
    readonly merchantPrivateKey?: string;
    readonly md5Key?: string;
    readonly fieldKey: string;
    /** base64, 32 bytes; present when payee limits are configured (required then). */
    readonly payeeHmacKey?: string;
  };
}

export function loadConfig(env: Record<string, string | undefined>): RuntimeConfig {
  const cleaned = setValues(env);
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      issue.code === 'invalid_union'
        ? { name: ENV.keySource, message: 'must be "kms" or "env"' }
        : envProblem(issue, cleaned, ENV.keySource),
    );
    throw invalid(problems);
  }
  const c = parsed.data;
  const controls = loadControls(c);
  const funds = loadFunds(c);
  const signType = c[ENV.signType];
  const problems: ConfigProblem[] = [];

  let endpoints: ProviderEndpoints | undefined;
  try {
    endpoints = resolveEndpoints({
      base: c[ENV.apiBase],
      applyUrl: c[ENV.applyUrl],
      queryUrl: c[ENV.queryUrl],
      balanceUrl: c[ENV.balanceUrl],
    });
  } catch {
    const missing = [
      ...(c[ENV.applyUrl] ? [] : [ENV.applyUrl]),
      ...(c[ENV.queryUrl] ? [] : [ENV.queryUrl]),
    ].join(' and ');
    problems.push({
      name: ENV.apiBase,
      message: `is required unless ${missing} ${missing.includes(' and ') ? 'are' : 'is'} set`,
    });
  }

  // The schedule rule is the deployment's (infra schema): functions and local mode have no schedule rate.
  const timingNames: Partial<Record<keyof TimingSettings, string>> = {
    providerTimeoutMs: ENV.timeoutMs,
    reconcileMinAgeSeconds: ENV.reconcileMinAgeSeconds,
    notFoundGraceSeconds: ENV.notFoundGraceSeconds,
  };
  for (const p of timingProblems({
    providerTimeoutMs: c[ENV.timeoutMs],
    reconcileMinAgeSeconds: c[ENV.reconcileMinAgeSeconds],
    notFoundGraceSeconds: c[ENV.notFoundGraceSeconds],
  })) {
    problems.push({ name: timingNames[p.setting] ?? p.setting, message: p.message });
  }
  // RSA responses and notifications can only be verified with the provider's public key: without it
  // every answer would be "unknown", so refuse to start instead.
  if (signType === 'RSA' && !c[ENV.providerPublicKey]) {
    problems.push({ name: ENV.providerPublicKey, message: `is required when ${ENV.signType}=RSA` });
  }
  const dispatchRate =
    c[ENV.dispatchRatePerSecond] ??
    defaultDispatchRate(c[ENV.providerRatePerSecond], c[ENV.reconcileRatePerSecond]);
  const budget = providerBudgetProblem({
    providerPerSecond: c[ENV.providerRatePerSecond],
    dispatchPerSecond: dispatchRate,
    reconcilePerSecond: c[ENV.reconcileRatePerSecond],
  });
  if (budget) problems.push({ name: ENV.providerRatePerSecond, message: budget });
  if (problems.length > 0 || !endpoints) throw invalid(problems);

  const config: RuntimeConfig = {
    keySource: c[ENV.keySource],
    tableName: c[ENV.tableName],
    dynamoEndpoint: c[ENV.dynamoEndpoint],
    apiBase: c[ENV.apiBase],
    endpoints,
    oidPartner: c[ENV.oidPartner],
    signType,
    providerPublicKey: c[ENV.providerPublicKey],
    timeoutMs: c[ENV.timeoutMs],
    notifyUrl: c[ENV.notifyUrl],
    notFoundGraceMs: c[ENV.notFoundGraceSeconds] * 1000,
    returnWatchMs: c[ENV.returnWatchSeconds] * 1000,
    reconcile: {
      minAgeMs: c[ENV.reconcileMinAgeSeconds] * 1000,
      ratePerSecond: c[ENV.reconcileRatePerSecond],
      concurrency: c[ENV.reconcileConcurrency],
      stuckAfterMs: c[ENV.stuckAfterSeconds] * 1000,
    },
    dispatch: {
      providerRatePerSecond: c[ENV.providerRatePerSecond],
      ratePerSecond: dispatchRate,
      concurrency: c[ENV.dispatchConcurrency],
      // The same BALANCE_CHECK_SECONDS as the funds check (src/config/funds.ts): one setting, one meaning.
      balanceCheckMs: funds.checkIntervalMs,
      ...(c[ENV.dispatchQueueUrl] ? { queueUrl: c[ENV.dispatchQueueUrl] } : {}),
    },
    eventBusName: c[ENV.eventBusName],
    keyCacheMs: c[ENV.keyCacheSeconds] * 1000,
    controls,
    funds,
    ...(c[ENV.exportInlineMaxBytes] ? { exportInlineMaxBytes: c[ENV.exportInlineMaxBytes] } : {}),
    ...(c.KEY_SOURCE === 'kms'
      ? {
          kms: {
            merchantKeyParam: c.LLP_MERCHANT_KEY_PARAM,
            md5KeyParam: c.LLP_MD5_KEY_PARAM,
            merchantKeyKmsKeyId: c.MERCHANT_KEY_KMS_KEY_ID,
            fieldKeyKmsKeyId: c.FIELD_KEY_KMS_KEY_ID,
            payeeHmacKmsKeyId: c.PAYEE_HMAC_KMS_KEY_ID,
          },
        }
      : {
          local: {
            merchantPrivateKey: c.LLP_MERCHANT_PRIVATE_KEY,
            md5Key: c.LLP_MD5_KEY,
            fieldKey: c.LOCAL_FIELD_KEY,
            payeeHmacKey: c.LOCAL_PAYEE_HMAC_KEY,
          },
        }),
  };
  // Payee limits count by a keyed hash of the card number; without its key they could not be enforced.
  if (needsPayeeKey(controls)) {
    const keyName = config.kms ? ENV.payeeHmacKmsKeyId : ENV.localPayeeHmacKey;
    const present = config.kms ? config.kms.payeeHmacKmsKeyId : config.local?.payeeHmacKey;
    if (!present) {
      throw invalid([
        {
          name: keyName,
          message: `is required when ${ENV.payeeDailyLimitAmount} or ${ENV.payeeDailyLimitCount} is set`,
        },
      ]);
    }
    if (config.local?.payeeHmacKey && Buffer.from(config.local.payeeHmacKey, 'base64').length !== 32) {
      throw invalid([{ name: ENV.localPayeeHmacKey, message: 'must be base64 of 32 bytes' }]);
    }
  }
  return config;
}

function loadControls(c: Record<string, unknown>): ControlsConfig {
  const input = Object.fromEntries(
    Object.entries(CONTROLS_ENV).map(([field, name]) => [field, c[name]]),
  ) as ControlsInput;
  const result = parseControls(input, (field) => CONTROLS_ENV[field]);
  if (result.ok) return result.controls;
  throw invalid(result.problems.map((p) => ({ name: CONTROLS_ENV[p.field], message: p.message })));
}

function loadFunds(c: Record<string, unknown>): FundsConfig {
  const result = parseFunds({
    balanceCheckSeconds: c[ENV.balanceCheckSeconds] as string | undefined,
    fundsWaitSeconds: c[ENV.fundsWaitSeconds] as string | undefined,
    lowBalanceAmount: c[ENV.lowBalanceAmount] as string | undefined,
  });
  if (result.ok) return result.funds;
  throw invalid(result.problems.map((p) => ({ name: FUNDS_ENV[p.field], message: p.message })));
}
