import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { MAX_BODY_BYTES } from '../functions/shared/http';
import type { ApiHandler } from '../functions/shared/lambda';
import type { LocalReportStore } from './report-store';

/**
 * The local HTTP front: turns requests into the same API Gateway (REST, v1) proxy events the deployed
 * functions receive, and their results back into HTTP. Routes mirror the API Gateway resources.
 */
export type { ApiHandler };

export interface Routes {
  readonly apply: ApiHandler;
  readonly query: ApiHandler;
  readonly review: ApiHandler;
  readonly notify: ApiHandler;
  /** The batch routes (issue 11): PUT/GET /batches/{batch_id}, items, report.csv, approve/deny/void. */
  readonly batches?: ApiHandler;
  /** GET /balance (issue 13). */
  readonly balance?: ApiHandler;
  /** GET /close/{date}: the daily close (issue 13). */
  readonly close?: ApiHandler;
  /**
   * GET /reports/<key>?expires=&sig=: a report behind a signed short-lived link (a large export, issue 12),
   * as S3 serves a presigned GET in AWS. No principal: the signature is the credential.
   */
  readonly reports?: Pick<LocalReportStore, 'checkLink' | 'get'>;
}

const REPORTS_PATH = '/reports/';

/**
 * A report behind a link of LocalReportStore.link: 403 unless the signature holds and has not expired
 * (which of the two is not said), 404 when nothing is stored under the key or the key is not one the
 * store accepts (it refuses any key that would leave its directory).
 */
async function serveReport(
  res: ServerResponse,
  reports: NonNullable<Routes['reports']>,
  url: URL,
): Promise<void> {
  const failure = (statusCode: number, code: string, message: string) =>
    send(res, {
      statusCode,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ error: { code, message } }),
    });
  let key: string;
  try {
    key = url.pathname.slice(REPORTS_PATH.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    failure(404, 'not_found', 'no such report');
    return;
  }
  const check = reports.checkLink(key, url.searchParams.get('expires'), url.searchParams.get('sig'));
  if (check !== 'ok') {
    failure(403, 'forbidden', 'the link is not valid or has expired; export again');
    return;
  }
  let body: string | undefined;
  try {
    body = await reports.get(key);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  if (body === undefined) {
    failure(404, 'not_found', 'no such report');
    return;
  }
  const name = key.slice(key.lastIndexOf('/') + 1);
  const csv = name.endsWith('.csv');
  send(res, {
    statusCode: 200,
    headers: {
      'content-type': csv ? 'text/csv;charset=utf-8' : 'application/octet-stream',
      'content-disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body,
  });
}

/**
 * Local mode only: who the caller is, from the `x-principal` header (default `local`), so two people can
 * be played on one machine. Written into `requestContext.identity.userArn` as `local:<name>`, where API
 * Gateway writes the IAM caller in AWS; the handlers read only that (functions/shared/principal.ts), never
 * the header, so in the deployed API no header can set identity.
 */
const PRINCIPAL_HEADER = 'x-principal';
const DEFAULT_LOCAL_PRINCIPAL = 'local';
const PRINCIPAL_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export function localPrincipal(header: string | undefined): string | undefined {
  const name = header === undefined || header === '' ? DEFAULT_LOCAL_PRINCIPAL : header;
  return PRINCIPAL_NAME.test(name) ? `local:${name}` : undefined;
}

interface Match {
  readonly handler: ApiHandler;
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
}

function route(routes: Routes, method: string, path: string): Match | undefined {
  if (method === 'POST' && path === '/payouts')
    return { handler: routes.apply, resource: '/payouts', pathParameters: null };
  if (method === 'GET' && path === '/payouts')
    return { handler: routes.query, resource: '/payouts', pathParameters: null };
  // Operations (issue 12), served by the query function like in the deployed API. export.csv is a literal
  // resource, matched before {no_order} (a no_order never contains a dot), as API Gateway does.
  if (method === 'GET' && path === '/payouts/export.csv')
    return { handler: routes.query, resource: '/payouts/export.csv', pathParameters: null };
  if (method === 'GET' && path === '/exceptions')
    return { handler: routes.query, resource: '/exceptions', pathParameters: null };
  const ack = /^\/payouts\/([^/]+)\/anomalies\/ack$/.exec(path);
  if (method === 'POST' && ack?.[1]) {
    return {
      handler: routes.query,
      resource: '/payouts/{no_order}/anomalies/ack',
      pathParameters: { no_order: decodeURIComponent(ack[1]) },
    };
  }
  const review = /^\/payouts\/([^/]+)\/(approve|deny|void)$/.exec(path);
  if (method === 'POST' && review?.[1]) {
    return {
      handler: routes.review,
      resource: `/payouts/{no_order}/${review[2]}`,
      pathParameters: { no_order: decodeURIComponent(review[1]) },
    };
  }
  if (method === 'GET' && path === '/balance' && routes.balance) {
    return { handler: routes.balance, resource: '/balance', pathParameters: null };
  }
  if (method === 'POST' && path === '/lianlian/notify') {
    return { handler: routes.notify, resource: '/lianlian/notify', pathParameters: null };
  }
  const batch = batchRoute(routes, method, path);
  if (batch) return batch;
  const closed = /^\/close\/([^/]*)$/.exec(path);
  if (method === 'GET' && closed && routes.close) {
    return {
      handler: routes.close,
      resource: '/close/{date}',
      pathParameters: { date: decodeURIComponent(closed[1] ?? '') },
    };
  }
  const m = /^\/payouts\/([^/]+)$/.exec(path);
  if (method === 'GET' && m?.[1]) {
    return {
      handler: routes.query,
      resource: '/payouts/{no_order}',
      pathParameters: { no_order: decodeURIComponent(m[1]) },
    };
  }
  return undefined;
}

/** The batch routes, mirroring the API Gateway resources under /batches/{batch_id}. */
function batchRoute(routes: Routes, method: string, path: string): Match | undefined {
  if (!routes.batches) return undefined;
  const m = /^\/batches\/([^/]+)(?:\/(items|report\.csv|approve|deny|void))?$/.exec(path);
  if (!m?.[1]) return undefined;
  const sub = m[2];
  const allowed =
    sub === undefined
      ? method === 'PUT' || method === 'GET'
      : sub === 'items' || sub === 'report.csv'
        ? method === 'GET'
        : method === 'POST';
  if (!allowed) return undefined;
  return {
    handler: routes.batches,
    resource: `/batches/{batch_id}${sub ? `/${sub}` : ''}`,
    pathParameters: { batch_id: decodeURIComponent(m[1]) },
  };
}

/** A batch file may be large (functions/batches/handler.ts caps it at 5 MB); the front reads that much. */
const BATCH_FRONT_MAX_BYTES = 6 * 1024 * 1024;

/**
 * A Lambda context for handlers run outside Lambda (local mode, benchmarks): names, memory and a deadline
 * like the deployed function's, so middleware and `getRemainingTimeInMillis` behave the same.
 */
export function lambdaContext(
  name: string,
  options: { prefix?: string; region?: string; memoryMb?: number; timeoutMs?: number } = {},
): Context {
  const { prefix = 'local', region = 'local', memoryMb = 256, timeoutMs = 29_000 } = options;
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `${prefix}-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${prefix}-${name}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${prefix}-${name}`,
    logStreamName: prefix,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * API Gateway itself caps payloads; the front caps reading so a huge body cannot exhaust memory. The
 * handlers check the real limit (MAX_BODY_BYTES) and answer in their own format (notify: the provider's).
 */
const FRONT_MAX_BYTES = MAX_BODY_BYTES * 4;

function readBody(req: IncomingMessage, maxBytes = FRONT_MAX_BYTES): Promise<Buffer | 'too_large'> {
  // Refused before reading a byte when the size is declared.
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return Promise.resolve('too_large');
  // Events rather than `for await`: leaving that loop early destroys the request, and its socket with it.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.pause();
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * 413 for a body the front did not read to its end. The rest of that body is still on the connection: a
 * keep-alive client would send its next request behind it and get a reset, so the answer says
 * `connection: close` and the connection ends. The unread rest is drained (briefly) rather than cut off,
 * since closing a socket with unread data resets it and the client could lose the 413 itself.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  res.once('finish', () => {
    req.resume();
    if (!socket || socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), 1_000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  send(res, {
    statusCode: 413,
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({
      error: { code: 'payload_too_large', message: `the body must be at most ${FRONT_MAX_BYTES} bytes` },
    }),
  });
}

function toEvent(
  req: IncomingMessage,
  body: Buffer,
  match: Match,
  url: URL,
  principal: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
  const query = Object.fromEntries(url.searchParams.entries());
  const text = body.toString('utf8');
  // Bodies that are not valid UTF-8 travel base64-encoded, as API Gateway does for binary payloads.
  const isBinary = Buffer.from(text, 'utf8').compare(body) !== 0;
  return {
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    resource: match.resource,
    pathParameters: match.pathParameters,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    headers,
    multiValueHeaders: {},
    body: body.length === 0 ? null : isBinary ? body.toString('base64') : text,
    isBase64Encoded: isBinary,
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      httpMethod: req.method ?? 'GET',
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: match.resource,
      protocol: 'HTTP/1.1',
      authorizer: null,
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userArn: principal,
        caller: principal,
      } as APIGatewayProxyEvent['requestContext']['identity'],
    },
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  res.writeHead(result.statusCode, headers);
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

export interface LocalFront {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startLocalFront(
  getRoutes: () => Routes,
  options: {
    port?: number;
    host?: string;
    /** Serves what is not the API (the web console, local/console.ts); answers true when it did. */
    extra?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
  } = {},
): Promise<LocalFront> {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      if (options.extra && (await options.extra(req, res, url))) return;
      const routes = getRoutes();
      if (req.method === 'GET' && url.pathname.startsWith(REPORTS_PATH) && routes.reports) {
        await serveReport(res, routes.reports, url);
        return;
      }
      const match = route(routes, req.method ?? 'GET', url.pathname);
      if (!match) {
        send(res, {
          statusCode: 404,
          headers: { 'content-type': 'application/json' },
          body: '{"error":{"code":"not_found","message":"no such route"}}',
        });
        return;
      }
      const header = req.headers[PRINCIPAL_HEADER];
      const principal = localPrincipal(Array.isArray(header) ? header[0] : header);
      if (!principal) {
        send(res, {
          statusCode: 400,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            error: {
              code: 'invalid_request',
              message: `${PRINCIPAL_HEADER} must be 1 to 64 of A-Z a-z 0-9 _ . @ -`,
              fields: [{ field: PRINCIPAL_HEADER, message: 'must be 1 to 64 of A-Z a-z 0-9 _ . @ -' }],
            },
          }),
        });
        return;
      }
      const body = await readBody(
        req,
        match.handler === routes.batches ? BATCH_FRONT_MAX_BYTES : FRONT_MAX_BYTES,
      );
      if (body === 'too_large') {
        refuseTooLarge(req, res);
        return;
      }
      const name =
        match.handler === routes.apply
          ? 'apply'
          : match.handler === routes.query
            ? 'query'
            : match.handler === routes.review
              ? 'review'
              : match.handler === routes.batches
                ? 'batches'
                : match.handler === routes.balance
                  ? 'balance'
                  : 'notify';
      send(res, await match.handler(toEvent(req, body, match, url, principal), lambdaContext(name)));
    } catch {
      send(res, {
        statusCode: 500,
        headers: { 'content-type': 'application/json' },
        body: '{"error":{"code":"internal_error","message":"internal error"}}',
      });
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
