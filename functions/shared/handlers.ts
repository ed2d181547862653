import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { listAwaitingApproval } from '../../src/core/approvals';
import { ValidationError } from '../../src/core/errors';
import { createPayout, getPayout, receiveNotification } from '../../src/core/payouts';
import { noOrder as noOrderSchema } from '../../src/lianlian/messages';
import { HttpError, httpErrors, json, jsonBody, rawBody } from './http';
import { flushMetrics } from './observability';
import { principalOf } from './principal';
import type { Runtime } from './runtime';

/**
 * The HTTP functions as factories over a Runtime, so the deployed handlers (process.env), local mode and
 * the tests run the very same code. Each one parses the event, calls one use case, maps the result.
 */

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export function wrap(
  rt: () => Runtime,
  fn: (rt: Runtime, event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
) {
  const runtime = rt();
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(runtime.logger, { resetKeys: true }))
    .use(httpErrors(runtime.logger));
  if (runtime.metrics) handler.use(flushMetrics(runtime.metrics));
  return handler.handler((event) => fn(runtime, event)) as unknown as ApiHandler;
}

/** POST /payouts */
export function applyHandler(rt: () => Runtime): ApiHandler {
  return wrap(rt, async (runtime, event) => {
    const body = jsonBody(event);
    if (body && typeof body === 'object' && 'no_order' in body && typeof body.no_order === 'string') {
      runtime.logger.appendKeys({ no_order: body.no_order });
    }
    const principal = principalOf(event);
    // Keys first: an order must never be recorded by a container that could not sign its apply.
    await runtime.merchantKeys();
    const result = await createPayout(runtime.deps, body, principal);
    return json(result.created ? 202 : 200, result.view);
  });
}

/** GET /payouts/{no_order}[?refresh=true] and GET /payouts?status=AWAITING_APPROVAL[&limit=&cursor=] */
export function queryHandler(rt: () => Runtime): ApiHandler {
  return wrap(rt, async (runtime, event) => {
    if (event.pathParameters?.no_order === undefined) return listPayouts(runtime, event);
    const noOrder = pathNoOrder(event);
    runtime.logger.appendKeys({ no_order: noOrder });
    const refreshParam = event.queryStringParameters?.refresh;
    if (refreshParam !== undefined && refreshParam !== 'true' && refreshParam !== 'false') {
      throw new HttpError(400, 'invalid_request', 'refresh must be "true" or "false"');
    }
    const refresh = refreshParam === 'true';
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

/** The path's no_order, validated as the apply validates it. */
export function pathNoOrder(event: APIGatewayProxyEvent): string {
  const noOrder = event.pathParameters?.no_order ?? '';
  if (!noOrderSchema.safeParse(noOrder).success) {
    throw new HttpError(400, 'invalid_request', 'no_order in the path is invalid');
  }
  return noOrder;
}

/**
 * POST /lianlian/notify. Checks that fail answer non-0000 with HTTP 200 (the provider retries and our
 * state is unchanged); a store failure answers 503 so the provider's retry schedule redelivers it.
 */
export function notifyHandler(rt: () => Runtime): ApiHandler {
  return wrap(rt, async (runtime, event) => {
    let body: string;
    try {
      body = rawBody(event);
    } catch {
      return json(413, { ret_code: '9999', ret_msg: '报文过大' });
    }
    const noOrder = noOrderOf(body);
    if (noOrder) runtime.logger.appendKeys({ no_order: noOrder });
    const answer = await receiveNotification(runtime.deps, await runtime.verifyingKeys(), body).catch(
      (error) => {
        runtime.logger.error('notification not processed; the provider will retry', {
          error: error instanceof Error ? error.name : 'unknown',
        });
        return undefined;
      },
    );
    if (!answer) return json(503, { ret_code: '9999', ret_msg: '系统繁忙' });
    if (!answer.ack) runtime.logger.warn('notification refused', { reason: answer.reason });
    return json(200, answer.body);
  });
}

/** The notification's no_order for log correlation only (nothing is believed before verification). */
function noOrderOf(body: string): string | undefined {
  try {
    const value = (JSON.parse(body) as { no_order?: unknown }).no_order;
    return typeof value === 'string' && noOrderSchema.safeParse(value).success ? value : undefined;
  } catch {
    return undefined;
  }
}
