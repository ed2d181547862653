import { parseCallerAmount } from '../src/lianlian/money';
import { DEFAULT_PORT, SANDBOX_ENV } from './config';

/**
 * `npm run sandbox -- topup <amount>`: credits a running sandbox through its admin API
 * (`POST /__sandbox/topup`). The sandbox is found at `SANDBOX_URL`, else at `SANDBOX_HOST`/`SANDBOX_PORT`
 * (the same variables it was started with), else at 127.0.0.1:8089.
 */

type Env = Readonly<Record<string, string | undefined>>;

export interface TopupResult {
  /** 0 done, 1 the sandbox refused or could not be reached, 2 bad usage. */
  readonly code: number;
  readonly out?: string;
  readonly err?: string;
}

export const TOPUP_USAGE = 'usage: npm run sandbox -- topup <amount in yuan, e.g. 5000.00>';

/** Where the running sandbox is, or why that cannot be said. */
export function sandboxUrl(env: Env): { ok: true; url: string } | { ok: false; reason: string } {
  const explicit = env[SANDBOX_ENV.url]?.trim();
  if (explicit) {
    try {
      const parsed = new URL(explicit);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('not http');
    } catch {
      return { ok: false, reason: `${SANDBOX_ENV.url} must be an absolute http(s) URL` };
    }
    return { ok: true, url: explicit.replace(/\/+$/, '') };
  }
  const rawHost = env[SANDBOX_ENV.host]?.trim() || '127.0.0.1';
  // The address it listens on is not always one to connect to.
  const host = rawHost === '0.0.0.0' ? '127.0.0.1' : rawHost === '::' ? '::1' : rawHost;
  const portText = env[SANDBOX_ENV.port]?.trim() || String(DEFAULT_PORT);
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) {
    return {
      ok: false,
      reason: `${SANDBOX_ENV.port} must be the running sandbox's port (1–65535), or set ${SANDBOX_ENV.url}`,
    };
  }
  return { ok: true, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

export async function runTopup(
  args: readonly string[],
  env: Env,
  fetchImpl: typeof fetch = fetch,
): Promise<TopupResult> {
  if (args.length !== 1) return { code: 2, err: TOPUP_USAGE };
  const amount = args[0] ?? '';
  const parsed = parseCallerAmount(amount);
  if (!parsed.ok) return { code: 2, err: `amount ${parsed.reason}\n${TOPUP_USAGE}` };
  const target = sandboxUrl(env);
  if (!target.ok) return { code: 2, err: target.reason };
  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(`${target.url}/__sandbox/topup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount }),
      signal: AbortSignal.timeout(10_000),
    });
    text = await response.text();
  } catch (error) {
    return { code: 1, err: `no sandbox answering at ${target.url}: ${(error as Error).message}` };
  }
  let answer: { balance?: unknown; error?: unknown } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // reported below as an unexpected answer
  }
  if (response.status !== 200 || typeof answer.balance !== 'string') {
    const why = typeof answer.error === 'string' ? answer.error : `HTTP ${response.status}`;
    return { code: 1, err: `topup refused by ${target.url}: ${why}` };
  }
  return { code: 0, out: `topped up ${amount}; balance now ${answer.balance}` };
}
