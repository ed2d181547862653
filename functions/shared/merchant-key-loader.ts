import type { SSMClient } from '@aws-sdk/client-ssm';
import { loadKmsMerchantKeys } from '../../src/adapters/kms/merchant-keys';
import type { KmsMerchantKeyLoader } from './runtime';

/**
 * The merchant keys of kms mode: the ciphertext from the SSM parameter, decrypted with KMS. The client is
 * made on first use (a function that never needs a key never builds it). Kept out of runtime.ts so only
 * the functions that sign carry the SSM client in their bundle.
 */
export function parameterStoreKeys(ssm: () => SSMClient): KmsMerchantKeyLoader {
  let client: SSMClient | undefined;
  return (options) => {
    client ??= ssm();
    return loadKmsMerchantKeys({ ...options, ssm: client });
  };
}
