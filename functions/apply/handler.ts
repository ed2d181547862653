import { createPayout } from '../../src/core/payouts';
import { json, jsonBody } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import { principalOf } from '../shared/principal';
import type { Runtime } from '../shared/runtime';

/**
 * POST /payouts, as a factory over a Runtime so the deployed function (process.env), local mode and the
 * tests run the very same code: parse the event, call one use case, map the result.
 */
export function applyHandler(rt: () => Runtime): ApiHandler {
  const runtime = rt();
  return httpHandler(runtime, async (event) => {
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
