/**
 * Lambda hands each function its role's credentials in environment variables, so the SDK's default
 * credential chain (SSO, INI files, web identity, the STS/SSO clients behind them) is dead weight in a
 * Lambda bundle: about 100 KB per function. Bundling aliases `@aws-sdk/credential-provider-node` to this
 * module (infra/constructs/payout-function.ts, bench/). Local mode and tests run unbundled and keep the
 * full chain.
 */
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';
