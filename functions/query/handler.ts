import { getPayout } from '../../src/core/payouts';
import { noOrder as noOrderSchema } from '../../src/lianlian/messages';
import { HttpError, json } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import type { Runtime } from '../shared/runtime';

/** GET /payouts/{no_order}[?refresh=true] */
export function queryHandler(rt: () => Runtime): ApiHandler {
  const runtime = rt();
  return httpHandler(runtime, async (event) => {
    const noOrder = event.pathParameters?.no_order ?? '';
    if (!noOrderSchema.safeParse(noOrder).success) {
      throw new HttpError(400, 'invalid_request', 'no_order in the path is invalid');
    }
    runtime.logger.appendKeys({ no_order: noOrder });
    const refreshParam = event.queryStringParameters?.refresh;
    if (refreshParam !== undefined && refreshParam !== 'true' && refreshParam !== 'false') {
      throw new HttpError(400, 'invalid_request', 'refresh must be "true" or "false"');
    }
    const refresh = refreshParam === 'true';
    // A refresh signs a query: load the keys before touching the order.
    if (refresh) await runtime.merchantKeys();
    return json(200, await getPayout(runtime.deps, noOrder, refresh));
  });
}
