import { isIP } from 'node:net';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { type ControlsField, parseControls } from '../../src/config/controls';
import {
  DEFAULT_PROVIDER_RATES,
  defaultDispatchRate,
  providerBudgetProblem,
} from '../../src/config/dispatch';
import { DEFAULT_KEY_CACHE_SECONDS } from '../../src/config/env';
import { parseFunds } from '../../src/config/funds';
import { timingProblems } from '../../src/config/timing';
import { type ProviderEndpoints, resolveEndpoints } from '../../src/lianlian/endpoints';
import { parsePublicKey } from '../../src/lianlian/keys';

/**
 * The deployment configuration: one typed, validated object per environment. Values come from
 * `infra/config/environments.ts` (defaults per environment) overlaid with CDK context (`-c key=value`,
 * cdk.json, cdk.context.json or ~/.cdk.json). Validation happens at synth, so a typo fails `cdk synth`
 * instead of every cold start in production.
 */

export const DEPLOYMENT_ENVS = ['dev', 'prod'] as const;
export type DeploymentEnv = (typeof DEPLOYMENT_ENVS)[number];

const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'),
);

// Context given on the command line arrives as strings; context from JSON files keeps its JSON type.
// Both must work, so numbers and lists accept either form.
const wholeNumber = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : v),
    z
      .number({ message: 'must be a whole number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );

const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const text = v.trim();
    if (text.startsWith('[')) {
      try {
        return JSON.parse(text);
      } catch {
        return v;
      }
    }
    return text === '' ? [] : text.split(',').map((s) => s.trim());
  }, z.array(item));

export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined || prefix === undefined || !/^[0-9]{1,3}$/.test(prefix)) {
    return false;
  }
  const family = isIP(address);
  const bits = Number(prefix);
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}

const cidr = z.string().refine(isCidr, 'must be an IPv4 or IPv6 CIDR such as 203.0.113.7/32');

// SSM's own rules for hierarchical names, plus a leading slash so the IAM ARN is unambiguous.
const parameterName = z
  .string()
  .regex(/^\/[A-Za-z0-9_.\-/]+$/, 'must be an SSM parameter path such as /lianlian-payout/prod/merchant-key')
  .refine((v) => !/^\/(aws|ssm)/i.test(v), 'must not start with /aws or /ssm (reserved by AWS)')
  .refine((v) => v.length <= 1011, 'is too long for an SSM parameter name');

const httpsUrl = z
  .string()
  .url('must be a URL')
  .refine((v) => v.startsWith('https://'), 'must be an https:// URL');

// Amounts are yuan strings, as in the API: a JSON number would already be a float.
const yuan = z
  .string({ message: 'must be a yuan amount given as a string such as "5000.00" (quote it in JSON)' })
  .optional();

/** The controls' context keys by policy field (src/config/controls.ts validates them, as at cold start). */
export const CONTROLS_CONTEXT_KEYS = {
  approvalMin: 'approvalMinAmount',
  payoutMax: 'payoutMaxAmount',
  dailyLimit: 'dailyLimitAmount',
  payeeDailyLimit: 'payeeDailyLimitAmount',
  payeeDailyLimitCount: 'payeeDailyLimitCount',
  approvalTtlSeconds: 'approvalTtlSeconds',
  approvalMinBatch: 'approvalMinBatchAmount',
} as const satisfies Record<ControlsField, string>;

const logLevel = z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']);

export const payoutConfigSchema = z
  .object({
    env: z.enum(DEPLOYMENT_ENVS),
    /**
     * One 2014-style provider base: apply and query at {apiBase}/traderapi/… (spec §1, §12). Optional when
     * applyUrl and queryUrl are both given.
     */
    apiBase: httpsUrl.optional(),
    /** Each call's URL on its own (the later hosts, spec §12); each one given wins over apiBase. */
    applyUrl: httpsUrl.optional(),
    queryUrl: httpsUrl.optional(),
    balanceUrl: httpsUrl.optional(),
    // A string only: 18 digits exceed a JSON number's exact range, so a number would already be corrupted.
    oidPartner: z
      .string({ message: 'must be given as a string of 18 digits (quote it in JSON)' })
      .regex(/^[0-9]{18}$/, 'must be 18 digits'),
    signType: z.enum(['RSA', 'MD5']),
    /** The provider's RSA public key (base64 SPKI or PEM). Public, so it travels as plain configuration. */
    providerPublicKey: z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || isRsaPublicKey(v),
        'must be a base64 X.509 (SPKI) or PEM RSA public key',
      ),
    /** SSM parameter (String) holding the base64 KMS ciphertext of the merchant RSA private key. */
    merchantKeyParam: parameterName,
    /** SSM parameter (String) holding the base64 KMS ciphertext of the MD5 key (MD5 sign type only). */
    md5KeyParam: parameterName,
    /** Overrides the API's own notify URL (e.g. behind a custom domain). */
    notifyUrl: httpsUrl
      .refine((v) => v.length <= 255, 'must be at most 255 characters (spec §2)')
      // Sent raw inside the signed apply: "&" would read as a field separator (spec §13).
      .refine((v) => !v.includes('&'), 'must not contain "&" (it would change what the signature covers)')
      .optional(),
    /** Source CIDRs allowed to reach POST /lianlian/notify. Empty: open (the signature still guards it). */
    notifyAllowCidrs: list(cidr),
    reconcileRateMinutes: wholeNumber(1, 60),
    logRetentionDays: wholeNumber(1, 3653).refine(
      (v) => RETENTION_VALUES.has(v),
      'must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, …)',
    ),
    logLevel,
    /** Provider HTTP timeout. The API functions' own timeout is derived from it. */
    providerTimeoutMs: wholeNumber(1_000, 15_000),
    notFoundGraceSeconds: wholeNumber(60, 7 * 24 * 3600),
    // 0 = off; at most 30 days (bank returns come within days, and queries reach back six months).
    returnWatchSeconds: wholeNumber(0, 30 * 24 * 3600),
    reconcileMinAgeSeconds: wholeNumber(10, 24 * 3600),
    reconcileRatePerSecond: wholeNumber(1, 100),
    reconcileConcurrency: wholeNumber(1, 32),
    /** Batch dispatch (issue 11): the provider's budget, batch applies within it, applies in flight. */
    providerRatePerSecond: wholeNumber(1, 1000).default(DEFAULT_PROVIDER_RATES.providerPerSecond),
    /** Default: providerRatePerSecond − reconcileRatePerSecond (50 with the defaults). */
    dispatchRatePerSecond: wholeNumber(1, 1000).optional(),
    dispatchConcurrency: wholeNumber(1, 128).default(64),
    stuckAfterSeconds: wholeNumber(300, 30 * 24 * 3600),
    /** How long a loaded merchant key is used before the functions read it again (MERCHANT_KEY_CACHE_SECONDS). */
    merchantKeyCacheSeconds: wholeNumber(30, 3600).default(DEFAULT_KEY_CACHE_SECONDS),
    apiRateLimit: wholeNumber(1, 10_000),
    apiBurstLimit: wholeNumber(1, 5_000),
    /** Optional e-mail subscribed to the alarm topic (confirm the subscription mail once). */
    alarmEmail: z.string().email('must be an e-mail address').optional(),
    /**
     * Elastic IP allocation ids for a fixed egress address (one NAT gateway per id). Empty: the functions
     * run outside a VPC and their source address is not fixed. At most two: an environment-agnostic stack
     * spans two availability zones (Fn::GetAZs), one NAT gateway in each.
     */
    egressEipAllocationIds: list(
      z.string().regex(/^eipalloc-[0-9a-f]{8,17}$/, 'must be an eipalloc-… id'),
    ).refine((ids) => ids.length <= 2, 'at most 2 (one NAT gateway per availability zone)'),
    /**
     * Spending controls (docs/controls.md), per environment; each unset = that control is off. The same
     * validation as the functions' cold start runs at synth.
     */
    approvalMinAmount: yuan,
    payoutMaxAmount: yuan,
    dailyLimitAmount: yuan,
    payeeDailyLimitAmount: yuan,
    payeeDailyLimitCount: wholeNumber(1, 1_000_000).optional(),
    approvalTtlSeconds: wholeNumber(60, 30 * 24 * 3600).optional(),
    /** Batches (issue 11): a batch whose total is at least this waits for approval. */
    approvalMinBatchAmount: yuan,
    /**
     * Funds (docs/funds.md): BALANCE_CHECK_SECONDS, FUNDS_WAIT_SECONDS, LOW_BALANCE_AMOUNT (yuan string);
     * validated by src/config/funds.ts as at cold start. Unset = the defaults (300 s, 86400 s, no amount).
     */
    balanceCheckSeconds: wholeNumber(30, 86_400).optional(),
    fundsWaitSeconds: wholeNumber(60, 30 * 86_400).optional(),
    lowBalanceAmount: yuan,
  })
  .strict()
  .superRefine(
    (c, ctx) => {
      // Without the provider key every RSA answer would be "unknown" and the functions refuse to start.
      if (c.signType === 'RSA' && !c.providerPublicKey) {
        ctx.addIssue({
          code: 'custom',
          path: ['providerPublicKey'],
          message: 'is required when signType is RSA',
        });
      }
      if (typeof c.apiBurstLimit === 'number' && c.apiBurstLimit < c.apiRateLimit) {
        ctx.addIssue({ code: 'custom', path: ['apiBurstLimit'], message: 'must be at least apiRateLimit' });
      }
      if (!c.apiBase && !(c.applyUrl && c.queryUrl)) {
        const missing = [...(c.applyUrl ? [] : ['applyUrl']), ...(c.queryUrl ? [] : ['queryUrl'])];
        ctx.addIssue({
          code: 'custom',
          path: ['apiBase'],
          message: `is required unless ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} given`,
        });
      }
      // The timing rule the functions also check at start (src/config/timing.ts), here at synth.
      const numbers = [c.providerTimeoutMs, c.reconcileMinAgeSeconds, c.notFoundGraceSeconds];
      if (numbers.every((n) => typeof n === 'number') && typeof c.reconcileRateMinutes === 'number') {
        const names = {
          providerTimeoutMs: 'providerTimeoutMs',
          reconcileMinAgeSeconds: 'reconcileMinAgeSeconds',
          notFoundGraceSeconds: 'notFoundGraceSeconds',
          scheduleRateSeconds: 'reconcileRateMinutes',
          reconcileTimeoutSeconds: 'reconcileRateMinutes',
        } as const;
        for (const problem of timingProblems({
          providerTimeoutMs: c.providerTimeoutMs,
          reconcileMinAgeSeconds: c.reconcileMinAgeSeconds,
          notFoundGraceSeconds: c.notFoundGraceSeconds,
          scheduleRateSeconds: c.reconcileRateMinutes * 60,
        })) {
          ctx.addIssue({ code: 'custom', path: [names[problem.setting]], message: problem.message });
        }
      }
      // The provider's budget, as the functions check it at start (src/config/dispatch.ts).
      if (typeof c.providerRatePerSecond === 'number' && typeof c.reconcileRatePerSecond === 'number') {
        const budget = providerBudgetProblem({
          providerPerSecond: c.providerRatePerSecond,
          dispatchPerSecond:
            c.dispatchRatePerSecond ?? defaultDispatchRate(c.providerRatePerSecond, c.reconcileRatePerSecond),
          reconcilePerSecond: c.reconcileRatePerSecond,
        });
        if (budget) ctx.addIssue({ code: 'custom', path: ['providerRatePerSecond'], message: budget });
      }
      const controls = parseControls(
        {
          approvalMin: c.approvalMinAmount,
          payoutMax: c.payoutMaxAmount,
          dailyLimit: c.dailyLimitAmount,
          payeeDailyLimit: c.payeeDailyLimitAmount,
          payeeDailyLimitCount: c.payeeDailyLimitCount?.toString(),
          approvalTtlSeconds: c.approvalTtlSeconds?.toString(),
          approvalMinBatch: c.approvalMinBatchAmount,
        },
        (field) => CONTROLS_CONTEXT_KEYS[field],
      );
      if (!controls.ok) {
        for (const p of controls.problems) {
          ctx.addIssue({ code: 'custom', path: [CONTROLS_CONTEXT_KEYS[p.field]], message: p.message });
        }
      }
      const funds = parseFunds({
        balanceCheckSeconds: c.balanceCheckSeconds?.toString(),
        fundsWaitSeconds: c.fundsWaitSeconds?.toString(),
        lowBalanceAmount: c.lowBalanceAmount,
      });
      if (!funds.ok) {
        for (const p of funds.problems) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
      }
    },
    // Also when other fields failed: the operator gets every problem from one synth.
    { when: () => true },
  );

export type PayoutConfig = z.infer<typeof payoutConfigSchema>;

/** Where the functions' provider calls go, resolved as the runtime resolves it (src/lianlian/endpoints.ts). */
export function providerEndpoints(config: PayoutConfig): ProviderEndpoints {
  return resolveEndpoints({
    base: config.apiBase,
    applyUrl: config.applyUrl,
    queryUrl: config.queryUrl,
    balanceUrl: config.balanceUrl,
  });
}
export type PayoutConfigInput = z.input<typeof payoutConfigSchema>;
export const CONFIG_KEYS = Object.keys(payoutConfigSchema.shape) as (keyof PayoutConfig)[];

function isRsaPublicKey(value: string): boolean {
  try {
    parsePublicKey(value);
    return true;
  } catch {
    return false;
  }
}
