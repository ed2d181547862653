import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { httpErrors } from './http';
import { flushMetrics } from './observability';

/**
 * The one middy chain every function runs in: the Lambda context on each log line (keys reset per
 * invocation, so one request's no_order never shows up on the next), the metrics flushed after every
 * invocation and on error, and — for HTTP functions — the one error mapping of `http.ts`. Event
 * functions (reconcile, publish) get no error mapping on purpose: their errors must reach Lambda, which
 * retries them.
 */

/** What the chain needs from a runtime (the payout Runtime and the PublishRuntime both have it). */
export interface Observability {
  readonly logger: Logger;
  /** Powertools Metrics to flush per invocation; absent when tests count in memory. */
  readonly metrics?: Metrics;
}

export type LambdaHandler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

export function lambdaHandler<TEvent, TResult>(
  runtime: Observability,
  fn: LambdaHandler<TEvent, TResult>,
  errorMapping?: MiddlewareObj<TEvent, TResult, Error, Context>,
): LambdaHandler<TEvent, TResult> {
  const handler = middy<TEvent, TResult, Error, Context>().use(
    injectLambdaContext(runtime.logger, { resetKeys: true }),
  );
  // Registered before the flush so that its onError runs after it (middy unwinds in reverse): the
  // metrics of a failed invocation are flushed whatever the mapping answers.
  if (errorMapping) handler.use(errorMapping);
  if (runtime.metrics)
    handler.use(flushMetrics(runtime.metrics) as MiddlewareObj<TEvent, TResult, Error, Context>);
  // middy's handler also accepts a callback and carries `.use`; callers only ever need the async form.
  return handler.handler(fn) as unknown as LambdaHandler<TEvent, TResult>;
}

export type ApiHandler = LambdaHandler<APIGatewayProxyEvent, APIGatewayProxyResult>;

/** An API Gateway (REST, proxy) function: errors become HTTP answers in one place. */
export function httpHandler(
  runtime: Observability,
  fn: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>,
): ApiHandler {
  return lambdaHandler(runtime, fn, httpErrors(runtime.logger));
}
