import { loadEnvMerchantKeys } from '../src/adapters/kms/merchant-keys';
import { HttpProviderClient } from '../src/adapters/provider/http-client';
import { ENV } from '../src/config/contract';
import type { QueryOutcome } from '../src/core/ports';
import { type ProviderEndpoints, resolveEndpoints } from '../src/lianlian/endpoints';
import { parsePublicKey } from '../src/lianlian/keys';
import { noOrder as noOrderSchema } from '../src/lianlian/messages';
import type { SignType } from '../src/lianlian/sign';
import { ToolError } from './errors';

/**
 * The provider client from the same environment variables local mode uses (keys given in clear, for an
 * operator's workstation): LLP_API_BASE (or LLP_APPLY_URL and LLP_QUERY_URL for the later hosts, spec §12), LLP_OID_PARTNER, LLP_SIGN_TYPE, LLP_MERCHANT_PRIVATE_KEY or
 * LLP_MD5_KEY, LLP_PUBLIC_KEY, optional LLP_TIMEOUT_MS. Errors name variables, never values.
 */
export function providerClientFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  fetchImpl?: typeof fetch,
): HttpProviderClient {
  const read = (name: string) => env[name]?.trim() || undefined;
  let endpoints: ProviderEndpoints;
  try {
    endpoints = resolveEndpoints({
      base: read(ENV.apiBase),
      applyUrl: read(ENV.applyUrl),
      queryUrl: read(ENV.queryUrl),
    });
  } catch {
    // resolveEndpoints names its own settings; an operator needs the variable names instead.
    throw new ToolError(
      `${ENV.apiBase} must be the provider base URL, or ${ENV.applyUrl} and ${ENV.queryUrl} each call's URL (absolute http(s))`,
    );
  }
  const oidPartner = read(ENV.oidPartner);
  if (!oidPartner || !/^[0-9]{18}$/.test(oidPartner))
    throw new ToolError(`${ENV.oidPartner} must be 18 digits`);
  const signType = (read(ENV.signType) ?? 'RSA') as SignType;
  if (signType !== 'RSA' && signType !== 'MD5') throw new ToolError(`${ENV.signType} must be RSA or MD5`);
  const timeout = read(ENV.timeoutMs);
  if (timeout !== undefined && !/^[0-9]+$/.test(timeout))
    throw new ToolError(`${ENV.timeoutMs} must be milliseconds`);

  let keys: ReturnType<typeof loadEnvMerchantKeys>;
  try {
    keys = loadEnvMerchantKeys({
      signType,
      privateKey: read(ENV.merchantPrivateKey),
      md5Key: read(ENV.md5Key),
    });
  } catch (error) {
    throw new ToolError(error instanceof Error ? error.message : 'merchant key unusable');
  }
  const publicKeyText = read(ENV.providerPublicKey);
  if (signType === 'RSA' && !publicKeyText) {
    throw new ToolError(`${ENV.providerPublicKey} is required to verify RSA answers`);
  }
  let publicKey: ReturnType<typeof parsePublicKey> | undefined;
  try {
    publicKey = publicKeyText ? parsePublicKey(publicKeyText, ENV.providerPublicKey) : undefined;
  } catch (error) {
    throw new ToolError(error instanceof Error ? error.message : `${ENV.providerPublicKey} unusable`);
  }
  return new HttpProviderClient({
    endpoints,
    oidPartner,
    signing: keys.signing,
    verifying: { publicKey, md5Key: signType === 'MD5' ? keys.md5Key : undefined },
    ...(timeout ? { timeoutMs: Number(timeout) } : {}),
    ...(fetchImpl ? { fetchImpl } : {}),
  });
}

/** Asks the provider for one payout's result and returns the client's classified outcome. */
export async function queryOrder(
  client: HttpProviderClient,
  noOrder: string,
  dtOrder?: string,
): Promise<QueryOutcome> {
  if (!noOrderSchema.safeParse(noOrder).success) {
    throw new ToolError('--no-order must be 1–32 letters, digits, "_" or "-"');
  }
  return client.query(noOrder, dtOrder);
}

export function formatQueryOutcome(outcome: QueryOutcome): string[] {
  const headline =
    outcome.kind === 'found'
      ? `found: result_pay=${outcome.result.result_pay} money_order=${outcome.result.money_order}`
      : outcome.kind === 'not_found'
        ? 'not found (8901): conclusive only once it persists 30 min after the apply'
        : `unknown (${outcome.reason}${outcome.retCode ? `, ret_code ${outcome.retCode}` : ''}): query again later, never re-pay`;
  return [headline, JSON.stringify(outcome, null, 2)];
}
