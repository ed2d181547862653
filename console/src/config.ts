/**
 * What the console needs to know about where it runs, read at start from `config.json` next to
 * index.html: written by the local front in local mode (local/console.ts) and by the CDK deployment
 * (infra/constructs/console.ts) on AWS. Nothing about the environment is baked into the bundle.
 */
export interface ConsoleConfig {
  readonly mode: 'local' | 'aws';
  /** The payout API's base URL, without a trailing slash ('' = same origin). */
  readonly apiBase: string;
  /** Approving an amount at or above this (yuan) asks the approver to type the amount or the no_order. */
  readonly approvalConfirmMin: string;
  /** AWS mode: Cognito and the region the API's SigV4 signatures are for. */
  readonly region?: string;
  readonly userPoolId?: string;
  readonly userPoolClientId?: string;
  readonly cognitoDomain?: string;
  readonly identityPoolId?: string;
  /**
   * AWS mode: the API is reached through the console's own CloudFront distribution (same origin), which
   * forwards to API Gateway; requests are signed for the API's host and stage path, which is what API
   * Gateway sees and verifies.
   */
  readonly apiSignHost?: string;
  readonly apiSignPathPrefix?: string;
}

export const DEFAULT_CONFIRM_MIN = '10000.00';

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const raw = (await response.json()) as Partial<ConsoleConfig>;
  return {
    ...raw,
    mode: raw.mode === 'aws' ? 'aws' : 'local',
    apiBase: (raw.apiBase ?? '').replace(/\/+$/, ''),
    approvalConfirmMin: raw.approvalConfirmMin ?? DEFAULT_CONFIRM_MIN,
  };
}
