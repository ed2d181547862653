import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  EnvelopeFieldCipher,
  KmsDataKeySource,
  LocalDataKeySource,
} from '../../src/adapters/crypto/field-cipher';
import { KmsPayeeKeyer, LocalPayeeKeyer } from '../../src/adapters/crypto/payee-key';
import { DynamoFundsStore } from '../../src/adapters/dynamodb/funds-store';
import { DynamoOrderStore } from '../../src/adapters/dynamodb/order-store';
import { cachedFor, cachedOnce } from '../../src/adapters/kms/cache';
import {
  type KmsMerchantKeyOptions,
  loadEnvMerchantKeys,
  type MerchantKeys,
} from '../../src/adapters/kms/merchant-keys';
import { HttpProviderClient } from '../../src/adapters/provider/http-client';
import { needsPayeeKey } from '../../src/config/controls';
import { loadConfig, type RuntimeConfig } from '../../src/config/env';
import type { FundsStore } from '../../src/core/funds';
import type { PayoutDeps } from '../../src/core/payouts';
import {
  type BalanceQuery,
  type Clock,
  type FieldCipher,
  type MetricsPort,
  type OrderStore,
  type PayeeKeyer,
  type ProviderClient,
  systemClock,
} from '../../src/core/ports';
import { parsePublicKey } from '../../src/lianlian/keys';
import type { VerifyingKeys } from '../../src/lianlian/sign';
import { asLog, createLogger, createMetrics } from './observability';

/**
 * Everything a function needs, built once per container from the environment. Nothing here calls AWS at
 * build time: keys are loaded on first use, so a function that never signs (notify, in RSA mode) never
 * asks KMS for the merchant key. In kms mode a loaded key is used for MERCHANT_KEY_CACHE_SECONDS, then read
 * again (a key rotated in SSM is in use within that long, without a cold start); the provider client is
 * rebuilt when the keys it was built with change.
 */
export interface Runtime {
  readonly config: RuntimeConfig;
  readonly deps: PayoutDeps;
  readonly logger: Logger;
  /** Powertools Metrics to flush per invocation; absent when a MetricsPort override is given. */
  readonly metrics?: Metrics;
  /**
   * The merchant keys (loaded on first use, re-read after their lifetime); call before recording anything
   * that will need a signature. Rejects with DependencyError when SSM/KMS fail and no key is loaded yet.
   */
  readonly merchantKeys: () => Promise<MerchantKeys>;
  readonly verifyingKeys: () => Promise<VerifyingKeys>;
  /** Waiting for funds and the balance (issue 13): the balance query and the funds items. */
  readonly funds: RuntimeFunds;
  /** The DynamoDB client the store uses; the operations reads (search-reader.ts) share it. */
  readonly dynamo?: DynamoDBClient;
}

export interface RuntimeFunds {
  readonly balance: BalanceQuery;
  readonly store: FundsStore;
}

/** Reads the merchant keys in kms mode (everything but the parameter store client, which it holds). */
export type KmsMerchantKeyLoader = (options: Omit<KmsMerchantKeyOptions, 'ssm'>) => Promise<MerchantKeys>;

export interface RuntimeOverrides {
  readonly store?: OrderStore;
  readonly provider?: ProviderClient;
  readonly cipher?: FieldCipher;
  readonly clock?: Clock;
  readonly metrics?: MetricsPort;
  readonly logger?: Logger;
  readonly dynamo?: DynamoDBClient;
  readonly kms?: KMSClient;
  /**
   * How the merchant keys are read in kms mode (parameterStoreKeys in ./merchant-key-loader.ts: SSM, then
   * KMS Decrypt). Only the functions that sign or verify with the merchant key pass one
   * (./process-runtime.ts), so the SSM client (~80 kB) is in no other bundle; without it, loading the key
   * fails with a clear error.
   */
  readonly kmsMerchantKeys?: KmsMerchantKeyLoader;
  readonly fetchImpl?: typeof fetch;
  readonly payeeKeys?: PayeeKeyer;
  readonly balance?: BalanceQuery;
  readonly fundsStore?: FundsStore;
}

export function buildRuntime(
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides = {},
): Runtime {
  const config = loadConfig(env);
  const logger = overrides.logger ?? createLogger();
  const powertools = overrides.metrics ? undefined : createMetrics();
  const metricsPort = overrides.metrics ?? powertools!.port;

  const dynamo =
    overrides.dynamo ?? new DynamoDBClient(config.dynamoEndpoint ? { endpoint: config.dynamoEndpoint } : {});
  const store = overrides.store ?? new DynamoOrderStore({ client: dynamo, tableName: config.tableName });

  let kms: KMSClient | undefined = overrides.kms;
  const kmsClient = () => {
    kms ??= new KMSClient({});
    return kms;
  };

  const clock = overrides.clock ?? systemClock;
  const merchantKeys: () => Promise<MerchantKeys> = config.kms
    ? cachedFor(
        () => {
          const kmsConfig = config.kms!;
          const load = overrides.kmsMerchantKeys;
          if (!load) throw new Error('this function has no merchant key loader: it never signs');
          return load({
            kms: kmsClient(),
            oidPartner: config.oidPartner,
            signType: config.signType,
            merchantKeyParam: kmsConfig.merchantKeyParam,
            md5KeyParam: kmsConfig.md5KeyParam,
            kmsKeyId: kmsConfig.merchantKeyKmsKeyId,
          });
        },
        {
          lifetimeMs: config.keyCacheMs,
          now: () => clock.now().getTime(),
          // The previous key keeps signing (see cachedFor); the message names the parameter, never a key.
          onRefreshError: (error) =>
            logger.warn('merchant key refresh failed; the previously loaded key stays in use', {
              error: error instanceof Error ? error.message : 'unknown error',
            }),
        },
      )
    : // Local mode: the keys are this process's environment, which does not change while it runs.
      cachedOnce(async () =>
        loadEnvMerchantKeys({
          signType: config.signType,
          privateKey: config.local?.merchantPrivateKey,
          md5Key: config.local?.md5Key,
        }),
      );

  // Parsed once; a malformed provider key fails the cold start rather than every notification.
  const providerPublicKey = config.providerPublicKey
    ? parsePublicKey(config.providerPublicKey, 'LLP_PUBLIC_KEY')
    : undefined;
  // Follows the merchant keys' lifetime (the MD5 key verifies MD5 messages): the same object as long as
  // they are the same, a new one when they were re-read.
  let verifying: { from?: MerchantKeys; keys: VerifyingKeys } | undefined;
  const verifyingKeys = async (): Promise<VerifyingKeys> => {
    // The MD5 key is a secret: only fetched where MD5 messages must be verified.
    const from = config.signType === 'MD5' ? await merchantKeys() : undefined;
    if (!verifying || verifying.from !== from) {
      verifying = { from, keys: { publicKey: providerPublicKey, md5Key: from?.md5Key } };
    }
    return verifying.keys;
  };

  const httpProvider = lazyProvider(config, merchantKeys, verifyingKeys, overrides.fetchImpl);
  const provider = overrides.provider ?? httpProvider;

  const cipher =
    overrides.cipher ??
    new EnvelopeFieldCipher(
      config.kms
        ? new KmsDataKeySource({ kms: kmsClient(), keyId: config.kms.fieldKeyKmsKeyId })
        : LocalDataKeySource.fromBase64(config.local?.fieldKey),
    );

  // Only with per-payee limits: otherwise no function ever holds (or is granted) the payee HMAC key.
  const payeeKeys = overrides.payeeKeys ?? payeeKeyerFor(config, kmsClient);

  const deps: PayoutDeps = {
    store,
    provider,
    cipher,
    clock,
    log: asLog(logger),
    metrics: metricsPort,
    config: {
      oidPartner: config.oidPartner,
      notifyUrl: config.notifyUrl,
      notFoundGraceMs: config.notFoundGraceMs,
      returnWatchMs: config.returnWatchMs,
      firstCheckDelayMs: config.reconcile.minAgeMs,
      controls: config.controls,
      fundsWaitMs: config.funds.waitMs,
    },
    ...(payeeKeys ? { payeeKeys } : {}),
  };
  const funds: RuntimeFunds = {
    balance: overrides.balance ?? httpProvider,
    store:
      overrides.fundsStore ??
      new DynamoFundsStore({
        client: dynamo,
        tableName: config.tableName,
        queue: new DynamoOrderStore({ client: dynamo, tableName: config.tableName }),
      }),
  };
  return { config, deps, logger, metrics: powertools?.metrics, merchantKeys, verifyingKeys, funds, dynamo };
}

function payeeKeyerFor(config: RuntimeConfig, kms: () => KMSClient): PayeeKeyer | undefined {
  if (!needsPayeeKey(config.controls)) return undefined;
  // loadConfig already refused to start without the key this mode needs.
  if (config.kms?.payeeHmacKmsKeyId) return new KmsPayeeKeyer(kms(), config.kms.payeeHmacKmsKeyId);
  if (config.local?.payeeHmacKey) return LocalPayeeKeyer.fromBase64(config.local.payeeHmacKey);
  return undefined;
}

/** The HTTP client, built when the keys are first needed and again whenever they were re-read. */
function lazyProvider(
  config: RuntimeConfig,
  merchantKeys: () => Promise<MerchantKeys>,
  verifyingKeys: () => Promise<VerifyingKeys>,
  fetchImpl: typeof fetch | undefined,
): ProviderClient & BalanceQuery {
  let built: { keys: MerchantKeys; verifying: VerifyingKeys; client: HttpProviderClient } | undefined;
  const client = async (): Promise<HttpProviderClient> => {
    const keys = await merchantKeys();
    const verifying = await verifyingKeys();
    if (!built || built.keys !== keys || built.verifying !== verifying) {
      built = {
        keys,
        verifying,
        client: new HttpProviderClient({
          endpoints: config.endpoints,
          oidPartner: config.oidPartner,
          signing: keys.signing,
          verifying,
          timeoutMs: config.timeoutMs,
          ...(fetchImpl ? { fetchImpl } : {}),
        }),
      };
    }
    return built.client;
  };
  return {
    apply: async (fields) => (await client()).apply(fields),
    query: async (noOrder, dtOrder) => (await client()).query(noOrder, dtOrder),
    balance: async () => (await client()).balance(),
  };
}

/**
 * The container-wide runtime of a deployed function that never loads the merchant key (batches: it
 * never calls the provider, and infra grants it no parameter), built on first use from process.env.
 * Functions that sign use processRuntime from ./process-runtime.ts.
 */
export const processRuntimeWithoutMerchantKey = cachedOnceSync(() => buildRuntime(process.env));

export function cachedOnceSync<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}
