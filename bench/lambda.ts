import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { lambdaContext as localLambdaContext } from '../local/front';

/** What API Gateway (REST, v1 proxy) hands the function; only the fields the handlers read are real. */
export function apiEvent(
  method: string,
  resource: string,
  body: string | Buffer | null,
  pathParameters: Record<string, string> | null = null,
): APIGatewayProxyEvent {
  const bytes = body === null ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  // Not valid UTF-8 → base64, as API Gateway (and the local front) do for binary payloads.
  const text = bytes?.toString('utf8');
  const binary = bytes !== null && text !== undefined && Buffer.from(text, 'utf8').compare(bytes) !== 0;
  const path = resource.replace('{no_order}', pathParameters?.no_order ?? '');
  return {
    httpMethod: method,
    path,
    resource,
    pathParameters,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: { 'content-type': 'application/json;charset=utf-8' },
    multiValueHeaders: {},
    body: bytes === null ? null : binary ? bytes.toString('base64') : (text ?? ''),
    isBase64Encoded: binary,
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      httpMethod: method,
      path,
      stage: 'v1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'bench',
      resourcePath: resource,
      protocol: 'HTTP/1.1',
      authorizer: null,
      // What API Gateway writes after IAM authorization: the handlers take the principal from here only.
      identity: {
        sourceIp: '127.0.0.1',
        userArn: 'arn:aws:iam::000000000000:user/bench',
        caller: 'AIDABENCH',
      } as APIGatewayProxyEvent['requestContext']['identity'],
    },
  };
}

export function lambdaContext(name: string, memoryMb = 512): Context {
  return localLambdaContext(name, { prefix: 'bench', region: 'cn-north-1', memoryMb, timeoutMs: 28_000 });
}

/**
 * Swallows what the functions write to stdout/stderr (Powertools JSON logs and EMF metrics) while a
 * measurement runs, counting the bytes: that is what CloudWatch Logs would ingest. The bench's own
 * table printing happens outside these windows.
 */
export class OutputCapture {
  bytes = 0;
  lines = 0;
  /** The first few writes after a reset, to show what is being logged (never card data: it is redacted). */
  readonly samples: string[] = [];
  private restore: (() => void) | undefined;

  start(): void {
    if (this.restore) return;
    const out = process.stdout.write;
    const err = process.stderr.write;
    const sink = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      this.bytes += size;
      this.lines += 1;
      if (this.samples.length < 12) this.samples.push(String(chunk));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
    process.stdout.write = sink as typeof process.stdout.write;
    process.stderr.write = sink as typeof process.stderr.write;
    this.restore = () => {
      process.stdout.write = out;
      process.stderr.write = err;
    };
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  reset(): void {
    this.bytes = 0;
    this.lines = 0;
    this.samples.length = 0;
  }
}
