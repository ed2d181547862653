/**
 * Where the provider's calls go (spec §1, §11, §12). The 2014 host serves apply and query under one base
 * with a `/traderapi/` prefix; later hosts split them. These paths are the 2014 layout, which the sandbox
 * serves and which a single configured base resolves to.
 */
export const APPLY_PATH = '/traderapi/cardandpay.htm';
export const QUERY_PATH = '/traderapi/orderquery.htm';
/** The later host's balance endpoint (spec §11): only documented there, never under the 2014 base. */
export const BALANCE_PATH = '/traderAcctQuery.htm';

/** The URL of each call. A deployment sets a single base, or each URL on its own (spec §12). */
export interface ProviderEndpoints {
  readonly applyUrl: string;
  readonly queryUrl: string;
  /** Absent when neither a balance URL nor a base that can serve it is configured. */
  readonly balanceUrl?: string;
}

export interface EndpointSettings {
  /** A 2014-style base: apply at `{base}/traderapi/cardandpay.htm`, query at `{base}/traderapi/orderquery.htm`. */
  readonly base?: string;
  readonly applyUrl?: string;
  readonly queryUrl?: string;
  readonly balanceUrl?: string;
}

/**
 * Each call's URL: an explicit URL wins, otherwise the base's 2014 layout. The balance query has no 2014
 * path in the spec; under a base it resolves to `{base}/traderAcctQuery.htm`, which the sandbox serves.
 * Throws naming what is missing or malformed (never echoing the value) when a call has no usable URL.
 */
export function resolveEndpoints(settings: EndpointSettings): ProviderEndpoints {
  const base = settings.base?.trim().replace(/\/+$/, '') || undefined;
  if (base !== undefined) checkHttpUrl(base, 'base');
  const pick = (explicit: string | undefined, path: string, what: string): string => {
    const url = explicit?.trim();
    if (url) return checkHttpUrl(url, `${what} URL`);
    if (base) return `${base}${path}`;
    throw new RangeError(`no URL for the ${what}: set a base URL or the ${what} URL`);
  };
  return {
    applyUrl: pick(settings.applyUrl, APPLY_PATH, 'apply'),
    queryUrl: pick(settings.queryUrl, QUERY_PATH, 'query'),
    ...(settings.balanceUrl || base
      ? { balanceUrl: pick(settings.balanceUrl, BALANCE_PATH, 'balance') }
      : {}),
  };
}

// A typo here would send signed payouts somewhere unintended or nowhere: only absolute http(s) URLs pass.
function checkHttpUrl(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`the ${what} must be an absolute http(s) URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new RangeError(`the ${what} must be an absolute http(s) URL`);
  }
  return url;
}
