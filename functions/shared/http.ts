import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  ConflictError,
  DependencyError,
  ForbiddenError,
  InvalidStateError,
  LimitExceededError,
  NotFoundError,
  ValidationError,
} from '../../src/core/errors';

/**
 * How long a caller should wait before retrying after a dependency failure (seconds). Short: throttling
 * and brief outages clear in seconds, and the apply is idempotent on no_order, so a retry is safe.
 */
export const RETRY_AFTER_SECONDS = 1;

/** Merchant requests and provider notifications are small; anything bigger is refused before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;

export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json;charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** The raw body as UTF-8 text; API Gateway may hand it over base64-encoded. */
export function rawBody(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  /** Batches (issue 11) pass their own, larger cap. */
  maxBytes = MAX_BODY_BYTES,
): string {
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > maxBytes) {
    throw new HttpError(413, 'payload_too_large', `the body must be at most ${maxBytes} bytes`);
  }
  return bytes.toString('utf8');
}

export function jsonBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): unknown {
  const text = rawBody(event);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body must be a JSON object');
  }
}

/** `{"reason": "…"}` of a deny (required) or void (optional: an empty body is no reason). */
export function reasonOf(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  required: boolean,
): string | undefined {
  const text = rawBody(event);
  if (text.trim() === '' && !required) return undefined;
  const body = jsonBody(event);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_json', 'the body must be a JSON object');
  }
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined && !required) return undefined;
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new ValidationError([{ field: 'reason', message: 'is required: a short text saying why' }]);
  }
  return reason;
}

type HttpHandlerMiddleware = MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

/**
 * The one place errors become HTTP answers. 4xx carry a clear message naming the fields; a dependency
 * that failed (DynamoDB, KMS, SSM throttled or unavailable) is a retryable 503 with Retry-After;
 * everything else is a generic 500. 5xx bodies leak nothing (the error's name goes to the log, which
 * redacts payee data anyway).
 */
export function httpErrors(logger: Logger): HttpHandlerMiddleware {
  return {
    onError: async (request) => {
      const error = request.error;
      request.response = toResponse(error, logger);
    },
  };
}

function toResponse(error: unknown, logger: Logger): APIGatewayProxyResult {
  if (error instanceof ValidationError) {
    return json(400, { error: { code: 'invalid_request', message: error.message, fields: error.fields } });
  }
  if (error instanceof HttpError) {
    return json(error.statusCode, { error: { code: error.code, message: error.message } });
  }
  if (error instanceof ConflictError) {
    return json(409, { error: { code: 'conflict', message: error.message } });
  }
  // Spending controls (issue 10): the issue fixes these statuses and codes.
  if (error instanceof LimitExceededError) {
    return json(422, { error: { code: error.code, message: error.message, fields: error.fields } });
  }
  if (error instanceof ForbiddenError) {
    return json(403, { error: { code: error.code, message: error.message } });
  }
  if (error instanceof InvalidStateError) {
    return json(409, { error: { code: error.code, message: error.message } });
  }
  if (error instanceof NotFoundError) {
    return json(404, { error: { code: 'not_found', message: error.message } });
  }
  if (error instanceof DependencyError) {
    logger.warn('dependency unavailable; the caller may retry', { error: errorNames(error) });
    return dependencyUnavailable({
      error: { code: 'dependency_unavailable', message: 'a dependency is unavailable; retry later' },
    });
  }
  logger.error('unhandled error', { error: errorNames(error) });
  return json(500, { error: { code: 'internal_error', message: 'internal error' } });
}

/** A 503 the caller may retry, with its body in the caller's format (ours, or the provider's for notify). */
export function dependencyUnavailable(body: unknown): APIGatewayProxyResult {
  return json(503, body, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/** Names only: messages may quote request details, and SDK messages quote ARNs and principals. */
export function errorNames(error: unknown): { name: string; cause?: string } {
  if (!(error instanceof Error)) return { name: typeof error };
  const cause = error.cause instanceof Error ? error.cause.name : undefined;
  return cause ? { name: error.name, cause } : { name: error.name };
}
