import { getPayout } from '../../src/core/payouts';
import { type OpsPorts, opsRoutes } from '../ops/handler';
import { HttpError, json } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import { pathNoOrder } from '../shared/path';
import type { Runtime } from '../shared/runtime';

/**
 * GET /payouts/{no_order}[?refresh=true], and the operations routes (functions/ops/handler.ts):
 * GET /payouts (search, newest first), GET /exceptions and POST /payouts/{no_order}/anomalies/ack, chosen
 * by the API Gateway resource. GET /payouts/export.csv is here only in local mode; the deployed API sends
 * it to the export function (functions/export), which has the reports bucket and a longer timeout.
 */
export function queryHandler(rt: () => Runtime, ports: OpsPorts = {}): ApiHandler {
  const runtime = rt();
  const ops = opsRoutes(runtime, ports);
  return httpHandler(runtime, async (event) => {
    const route = ops(event.resource);
    if (route) return route(event);
    const noOrder = pathNoOrder(event);
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
