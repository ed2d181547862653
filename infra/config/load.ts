import { ConfigError, configError, problemOf } from '../../src/config/problems';
import { ENVIRONMENTS } from './environments';
import {
  CONFIG_KEYS,
  DEPLOYMENT_ENVS,
  type DeploymentEnv,
  type PayoutConfig,
  payoutConfigSchema,
} from './schema';

/** Where CDK context can be read from: an App's or a Stack's `node`. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/** The same error class as the functions' loader (src/config/problems.ts): one `instanceof` for both. */
export { ConfigError };

/** cdk.json names the default environment under this key; `-c env=…` overrides it. */
export const ENV_CONTEXT_KEYS = ['env', 'lianlian-payout:env'] as const;

/**
 * Resolves the configuration: the environment's defaults, then every config key found in CDK context
 * (`-c oidPartner=…`, or the same key in cdk.json / cdk.context.json), then validation. The error lists
 * every problem at once and never echoes a value.
 */
export function loadConfig(context: ContextSource): PayoutConfig {
  const env = selectEnv(context);
  const merged: Record<string, unknown> = { ...ENVIRONMENTS[env], env };
  for (const key of CONFIG_KEYS) {
    if (key === 'env') continue;
    const value = context.tryGetContext(key);
    if (value !== undefined && value !== null) merged[key] = value;
  }
  return parseConfig(merged);
}

export function parseConfig(input: Record<string, unknown>): PayoutConfig {
  const parsed = payoutConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) =>
    problemOf(issue, input, {
      root: '(config)',
      missing: (key) => `is required (pass -c ${key}=… or set "${key}" in cdk.context.json)`,
    }),
  );
  throw configError(`invalid deployment configuration for env=${String(input.env)}:`, problems, '\n  ', true);
}

function selectEnv(context: ContextSource): DeploymentEnv {
  const raw = ENV_CONTEXT_KEYS.map((k) => context.tryGetContext(k)).find((v) => v !== undefined) ?? 'dev';
  if (typeof raw === 'string' && (DEPLOYMENT_ENVS as readonly string[]).includes(raw)) {
    return raw as DeploymentEnv;
  }
  throw new ConfigError(`env must be one of ${DEPLOYMENT_ENVS.join(', ')} (got ${JSON.stringify(raw)})`);
}
