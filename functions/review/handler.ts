import type { APIGatewayProxyEvent } from 'aws-lambda';
import { approvePayout, denyPayout, voidPayout } from '../../src/core/approvals';
import { HttpError, json, reasonOf } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import { pathNoOrder } from '../shared/path';
import { principalOf } from '../shared/principal';
import type { Runtime } from '../shared/runtime';

export type ReviewAction = 'approve' | 'deny' | 'void';

/**
 * POST /payouts/{no_order}/approve | deny | void. The action is the last path segment of the resource;
 * the principal comes from the request context only (principal.ts). Approving sends the apply, so the
 * merchant keys are loaded first, as for a new payout.
 */
export function reviewHandler(rt: () => Runtime): ApiHandler {
  const runtime = rt();
  return httpHandler(runtime, async (event) => {
    const action = reviewAction(event);
    const noOrder = pathNoOrder(event);
    runtime.logger.appendKeys({ no_order: noOrder, action });
    const principal = principalOf(event);
    if (action === 'approve') {
      await runtime.merchantKeys();
      return json(200, await approvePayout(runtime.deps, noOrder, principal));
    }
    const reason = reasonOf(event, action === 'deny');
    if (action === 'deny') return json(200, await denyPayout(runtime.deps, noOrder, principal, reason ?? ''));
    return json(200, await voidPayout(runtime.deps, noOrder, principal, reason));
  });
}

function reviewAction(event: APIGatewayProxyEvent): ReviewAction {
  const last = (event.resource || event.path || '').split('/').pop();
  if (last === 'approve' || last === 'deny' || last === 'void') return last;
  throw new HttpError(404, 'not_found', 'no such action');
}
