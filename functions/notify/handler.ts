import { receiveNotification } from '../../src/core/payouts';
import { noOrder as noOrderSchema } from '../../src/lianlian/messages';
import { json, rawBody } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import type { Runtime } from '../shared/runtime';

/**
 * POST /lianlian/notify. Checks that fail answer non-0000 with HTTP 200 (the provider retries and our
 * state is unchanged); a store failure answers 503 so the provider's retry schedule redelivers it.
 */
export function notifyHandler(rt: () => Runtime): ApiHandler {
  const runtime = rt();
  return httpHandler(runtime, async (event) => {
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
