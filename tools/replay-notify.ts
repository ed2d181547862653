import { ToolError } from './errors';

export const NOTIFY_CONTENT_TYPE = 'text/json;charset=utf-8';

export interface ReplayResult {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: string;
  /** The answer is the provider's "delivered": HTTP 200 with ret_code 0000. */
  readonly acknowledged: boolean;
}

/**
 * Posts a stored notification body byte for byte, as the provider does (spec §1: raw JSON, text/json).
 * Never re-serialised: a re-encoded body is a different signed message (trap §10.4).
 */
export async function replayNotify(options: {
  url: string;
  body: Uint8Array;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}): Promise<ReplayResult> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ToolError('--url is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ToolError('--url must be http(s)');
  const response = await (options.fetchImpl ?? fetch)(url, {
    method: 'POST',
    headers: { 'content-type': NOTIFY_CONTENT_TYPE },
    body: options.body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const body = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
    acknowledged: response.status === 200 && retCodeOf(body) === '0000',
  };
}

export function formatReplay(result: ReplayResult): string[] {
  return [
    `HTTP ${result.status}${result.contentType ? ` (${result.contentType})` : ''}`,
    result.body,
    result.acknowledged ? 'acknowledged: yes (ret_code 0000)' : 'acknowledged: no — the provider would retry',
  ];
}

function retCodeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { ret_code?: unknown };
    return typeof parsed?.ret_code === 'string' ? parsed.ret_code : undefined;
  } catch {
    return undefined;
  }
}
