import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { listAwaitingApproval } from '../../src/core/approvals';
import { ValidationError } from '../../src/core/errors';
import { getPayout } from '../../src/core/payouts';
import { HttpError, json } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import { pathNoOrder } from '../shared/path';
import type { Runtime } from '../shared/runtime';

/** GET /payouts/{no_order}[?refresh=true] and GET /payouts?status=AWAITING_APPROVAL[&limit=&cursor=] */
export function queryHandler(rt: () => Runtime): ApiHandler {
  const runtime = rt();
  return httpHandler(runtime, async (event) => {
    if (event.pathParameters?.no_order === undefined) return listPayouts(runtime, event);
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

/** What GET /payouts answers today; a later issue adds the full search (status, from, to, batch_id). */
const LIST_PARAMETERS = new Set(['status', 'limit', 'cursor']);

async function listPayouts(runtime: Runtime, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const params = event.queryStringParameters ?? {};
  for (const name of Object.keys(params)) {
    if (!LIST_PARAMETERS.has(name)) {
      throw new ValidationError(
        [{ field: name, message: 'is not supported yet' }],
        `${name} is not supported yet`,
      );
    }
  }
  if (params.status !== 'AWAITING_APPROVAL') {
    throw new ValidationError(
      [{ field: 'status', message: 'only AWAITING_APPROVAL is supported yet' }],
      'status must be AWAITING_APPROVAL',
    );
  }
  let limit: number | undefined;
  if (params.limit !== undefined) {
    if (!/^[0-9]{1,4}$/.test(params.limit)) {
      throw new ValidationError([{ field: 'limit', message: 'must be a whole number' }]);
    }
    limit = Number(params.limit);
  }
  const page = await listAwaitingApproval(runtime.deps, {
    ...(limit === undefined ? {} : { limit }),
    ...(params.cursor ? { cursor: params.cursor } : {}),
  });
  return json(200, page);
}
