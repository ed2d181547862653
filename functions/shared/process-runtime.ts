import { SSMClient } from '@aws-sdk/client-ssm';
import { parameterStoreKeys } from './merchant-key-loader';
import { buildRuntime, cachedOnceSync } from './runtime';

/**
 * The container-wide runtime of a deployed function that signs or verifies with the merchant key, built on
 * first use from process.env. The SSM client is imported here only, so it is bundled only into these
 * functions (batches uses processRuntimeWithoutMerchantKey and carries no SSM client).
 */
export const processRuntime = cachedOnceSync(() =>
  buildRuntime(process.env, { kmsMerchantKeys: parameterStoreKeys(() => new SSMClient({})) }),
);
