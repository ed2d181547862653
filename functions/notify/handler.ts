import { DependencyError } from '../../src/core/errors';
import { receiveNotification } from '../../src/core/payouts';
import { noOrder as noOrderSchema } from '../../src/lianlian/messages';
import { dependencyUnavailable, errorNames, json, rawBody } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import type { Runtime } from '../shared/runtime';

/** Not 0000, so the provider redelivers; its format, since the provider reads nothing else. */
const BUSY = { ret_code: '9999', ret_msg: '系统繁忙' } as const;

/**
 * POST /lianlian/notify. Answers only in the provider's format. Checks that fail answer non-0000 with
 * HTTP 200 (the provider retries and our state is unchanged). When the notification could not be
 * processed, the answer is non-0000 too, so the provider's schedule (30 deliveries, 2 minutes apart)
 * redelivers it: 503 with Retry-After when a dependency (DynamoDB, SSM, KMS) failed, 500 otherwise.
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
    let answer: Awaited<ReturnType<typeof receiveNotification>>;
    try {
      // The keys inside the try: an SSM/KMS failure loading the MD5 key is a retry, not a refusal.
      answer = await receiveNotification(runtime.deps, await runtime.verifyingKeys(), body);
    } catch (error) {
      const attrs = { error: errorNames(error) };
      if (error instanceof DependencyError) {
        runtime.logger.warn(
          'notification not processed: a dependency failed; the provider will retry',
          attrs,
        );
        return dependencyUnavailable(BUSY);
      }
      runtime.logger.error('notification not processed; the provider will retry', attrs);
      return json(500, BUSY);
    }
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
