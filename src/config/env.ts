import * as z from 'zod';
import { CONTROLS_ENV, ENV } from './contract';
import { type ControlsConfig, type ControlsInput, needsPayeeKey, parseControls } from './controls';

/**
 * Reads and validates the functions' configuration once, at cold start. A missing or malformed variable
 * fails fast with its name — never its value, which may be a key.
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const positiveInt = (fallback: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n > 0, 'must be greater than zero')
    .optional()
    .transform((n) => n ?? fallback);

const nonNegativeInt = (fallback: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .transform(Number)
    .optional()
    .transform((n) => n ?? fallback);

const url = z.string().url('must be a URL');

const common = {
  [ENV.tableName]: z.string().min(1),
  [ENV.apiBase]: url,
  [ENV.oidPartner]: z.string().regex(/^[0-9]{18}$/, 'must be 18 digits'),
  [ENV.signType]: z.enum(['RSA', 'MD5']).optional().default('RSA'),
  [ENV.providerPublicKey]: z.string().min(1).optional(),
  [ENV.timeoutMs]: positiveInt(10_000),
  [ENV.notifyUrl]: url.max(255, 'must be at most 255 characters'),
  [ENV.notFoundGraceSeconds]: positiveInt(30 * 60),
  [ENV.returnWatchSeconds]: nonNegativeInt(0),
  [ENV.reconcileMinAgeSeconds]: positiveInt(120),
  [ENV.reconcileRatePerSecond]: positiveInt(10),
  [ENV.reconcileConcurrency]: positiveInt(4),
  [ENV.stuckAfterSeconds]: positiveInt(24 * 60 * 60),
  [ENV.eventBusName]: z.string().min(1).optional(),
  [ENV.dynamoEndpoint]: url.optional(),
  // Controls are plain strings here; parseControls (shared with the synth) gives them their meaning.
  [ENV.approvalMinAmount]: z.string().optional(),
  [ENV.payoutMaxAmount]: z.string().optional(),
  [ENV.dailyLimitAmount]: z.string().optional(),
  [ENV.payeeDailyLimitAmount]: z.string().optional(),
  [ENV.payeeDailyLimitCount]: z.string().optional(),
  [ENV.approvalTtlSeconds]: z.string().optional(),
};

const kmsMode = z.object({
  [ENV.keySource]: z.literal('kms'),
  ...common,
  [ENV.merchantKeyParam]: z.string().min(1).optional(),
  [ENV.md5KeyParam]: z.string().min(1).optional(),
  [ENV.merchantKeyKmsKeyId]: z.string().min(1),
  [ENV.fieldKeyKmsKeyId]: z.string().min(1),
  [ENV.payeeHmacKmsKeyId]: z.string().min(1).optional(),
});

const envMode = z.object({
  [ENV.keySource]: z.literal('env'),
  ...common,
  [ENV.merchantPrivateKey]: z.string().min(1).optional(),
  [ENV.md5Key]: z.string().min(1).optional(),
  [ENV.localFieldKey]: z.string().min(1),
  [ENV.localPayeeHmacKey]: z.string().min(1).optional(),
});

const schema = z.discriminatedUnion(ENV.keySource, [kmsMode, envMode]);

export type RawConfig = z.infer<typeof schema>;

export interface RuntimeConfig {
  readonly keySource: 'kms' | 'env';
  readonly tableName: string;
  readonly dynamoEndpoint?: string;
  readonly apiBase: string;
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
  readonly eventBusName?: string;
  /** Spending controls; with nothing set only approvalTtlMs is present and nothing is controlled. */
  readonly controls: ControlsConfig;
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
  // Empty strings are "not set": a blank line in an .env file must not count as a value.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = i.path.length > 0 ? String(i.path[0]) : ENV.keySource;
      const message =
        i.code === 'invalid_type' && i.input === undefined
          ? 'is required'
          : i.code === 'invalid_union'
            ? `must be "kms" or "env"`
            : i.message;
      return `${name} ${message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  const controls = loadControls(c);
  const signType = c[ENV.signType];
  const config: RuntimeConfig = {
    keySource: c[ENV.keySource],
    tableName: c[ENV.tableName],
    dynamoEndpoint: c[ENV.dynamoEndpoint],
    apiBase: c[ENV.apiBase],
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
    eventBusName: c[ENV.eventBusName],
    controls,
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
  // RSA responses and notifications can only be verified with the provider's public key: without it
  // every answer would be "unknown", so refuse to start instead.
  if (signType === 'RSA' && !config.providerPublicKey) {
    throw new ConfigError(
      `invalid configuration: ${ENV.providerPublicKey} is required when ${ENV.signType}=RSA`,
    );
  }
  // Payee limits count by a keyed hash of the card number; without its key they could not be enforced.
  if (needsPayeeKey(controls)) {
    const keyName = config.kms ? ENV.payeeHmacKmsKeyId : ENV.localPayeeHmacKey;
    const present = config.kms ? config.kms.payeeHmacKmsKeyId : config.local?.payeeHmacKey;
    if (!present) {
      throw new ConfigError(
        `invalid configuration: ${keyName} is required when ${ENV.payeeDailyLimitAmount} or ${ENV.payeeDailyLimitCount} is set`,
      );
    }
    if (config.local?.payeeHmacKey && Buffer.from(config.local.payeeHmacKey, 'base64').length !== 32) {
      throw new ConfigError(`invalid configuration: ${ENV.localPayeeHmacKey} must be base64 of 32 bytes`);
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
  const problems = result.problems.map((p) => `${CONTROLS_ENV[p.field]} ${p.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
