import { BalanceUnknownError, cachedBalanceView } from '../../src/core/balance';
import { json } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import type { Runtime } from '../shared/runtime';

/** Seconds a client should wait before asking again after balance_unknown. */
const RETRY_AFTER_SECONDS = 30;

/**
 * GET /balance (issue 13): the provider's balance beside our in-flight and waiting amounts, cached for
 * 60 s per container (src/core/balance.ts). Reads: one signed balance query, the open-by-due index and
 * batch reads of status and amount. An unknown balance is a 503 `balance_unknown`, never zeros.
 */
export function balanceHandler(rt: () => Runtime): ApiHandler {
  const runtime = rt();
  const view = cachedBalanceView({
    balance: runtime.funds.balance,
    store: runtime.deps.store,
    funds: runtime.funds.store,
    clock: runtime.deps.clock,
  });
  return httpHandler(runtime, async () => {
    // The balance query is signed: the keys first.
    await runtime.merchantKeys();
    try {
      return json(200, await view());
    } catch (error) {
      if (!(error instanceof BalanceUnknownError)) throw error;
      runtime.logger.warn('balance unknown', { reason: error.reason });
      return json(
        503,
        { error: { code: error.code, message: error.message } },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
  });
}
