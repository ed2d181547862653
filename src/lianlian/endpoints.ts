/**
 * Where the provider's calls go (spec §1, §11, §12). The 2014 host serves apply and query under one base
 * with a `/traderapi/` prefix; later hosts split them. These paths are the 2014 layout, which the sandbox
 * serves and which a single configured base resolves to.
 */
export const APPLY_PATH = '/traderapi/cardandpay.htm';
export const QUERY_PATH = '/traderapi/orderquery.htm';
