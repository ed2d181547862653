import type { IncomingMessage, ServerResponse } from 'node:http';
import { APPLY_PATH, BALANCE_PATH, QUERY_PATH } from '../src/lianlian/endpoints';
import { formatFen, parseCallerAmount } from '../src/lianlian/money';
import type { Clock } from './clock';
import type { EventHub } from './events';
import type { Body, Provider } from './provider';
import type { TimerSet } from './timers';
import type { Sandbox } from './types';

/**
 * HTTP only: the three provider endpoints (apply, query, balance — (read the body, let the provider judge it, send or hold back the
 * answer) and the admin API under /__sandbox/. No payout rule lives here.
 */

const MAX_BODY_BYTES = 64 * 1024;

export interface RoutesDeps {
  readonly provider: Provider;
  /** The handle, for the admin endpoints (they serve exactly what its methods return). */
  readonly sandbox: Sandbox;
  /** Extra fields of GET /__sandbox/info. */
  readonly info: () => Record<string, unknown>;
  readonly clock: Clock;
  /** Held-back apply answers: reset() lets them go out (a client is waiting), close() cancels them. */
  readonly replies: TimerSet;
  readonly events: EventHub;
  readonly closed: () => boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createRoutes(deps: RoutesDeps): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = url.pathname;
    if (path === APPLY_PATH || path === QUERY_PATH || path === BALANCE_PATH) {
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'use POST' });
        return;
      }
      const body = await readBody(req);
      if (body === undefined || deps.closed()) return;
      const answer = deps.provider.answer(path, body);
      if (answer.delayMs === undefined) {
        sendJson(res, 200, answer.body);
        return;
      }
      const handle = deps.replies.add(() => {
        sendJson(res, 200, answer.body);
        deps.events.emit({
          type: 'reply',
          at: new Date(deps.clock.now()).toISOString(),
          ...(answer.received.no_order !== undefined ? { no_order: answer.received.no_order } : {}),
          retCode: answer.retCode,
        });
      }, answer.delayMs);
      // The client gave up: nobody is left to answer, and the timer must not outlive the socket.
      res.on('close', () => deps.replies.cancel(handle));
      return;
    }
    if (path.startsWith('/__sandbox/')) {
      await handleAdmin(deps, req, res, url);
      return;
    }
    sendJson(res, 404, { error: `no such endpoint: ${path}` });
  };
}

async function handleAdmin(
  deps: RoutesDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const { sandbox } = deps;
  const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '')}`;
  const noOrder = url.searchParams.get('no_order') ?? undefined;
  switch (route) {
    case 'GET /__sandbox/requests':
      sendJson(
        res,
        200,
        sandbox.requests().filter((r) => noOrder === undefined || r.body.no_order === noOrder),
      );
      return;
    case 'GET /__sandbox/notifications':
      sendJson(
        res,
        200,
        sandbox.notifications().filter((a) => noOrder === undefined || a.no_order === noOrder),
      );
      return;
    case 'GET /__sandbox/orders':
      sendJson(
        res,
        200,
        sandbox.orders().filter((o) => noOrder === undefined || o.no_order === noOrder),
      );
      return;
    case 'GET /__sandbox/stats':
      sendJson(res, 200, sandbox.stats());
      return;
    case 'GET /__sandbox/balance':
      sendJson(res, 200, balanceView(sandbox.balance()));
      return;
    case 'POST /__sandbox/topup': {
      const body = await readBody(req);
      const amount = body?.ok ? parseTopup(body.text) : { ok: false as const, reason: 'body is unreadable' };
      if (!amount.ok) {
        sendJson(res, 400, { error: `amount ${amount.reason}`, field: 'amount' });
        return;
      }
      try {
        sendJson(res, 200, balanceView(sandbox.topup(amount.fen)));
      } catch (error) {
        // Only the ceiling can still refuse it (RangeError from the provider): a client mistake, not ours.
        sendJson(res, 400, { error: (error as Error).message, field: 'amount' });
      }
      return;
    }
    case 'GET /__sandbox/info':
      sendJson(res, 200, deps.info());
      return;
    case 'POST /__sandbox/reset':
      sandbox.reset();
      sendJson(res, 200, { ok: true });
      return;
    case 'POST /__sandbox/drop-notifications': {
      const body = await readBody(req);
      const drop = body?.ok ? parseDrop(body.text) : undefined;
      if (drop === undefined) {
        sendJson(res, 400, { error: 'body must be {"drop": true} or {"drop": false}' });
        return;
      }
      sandbox.setDropNotifications(drop);
      sendJson(res, 200, { drop });
      return;
    }
    default:
      sendJson(res, 404, { error: `no such admin endpoint: ${route}` });
  }
}

/** The balance as the admin API shows it: the wire's yuan string beside the fen. */
function balanceView(fen: number): { balance: string; balanceFen: number } {
  return { balance: formatFen(fen), balanceFen: fen };
}

/** `{"amount":"123.45"}`: a yuan string, as the merchant API takes amounts (never a JSON number). */
function parseTopup(text: string): { ok: true; fen: number } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = (JSON.parse(text) as { amount?: unknown } | null)?.amount;
  } catch {
    return { ok: false, reason: 'is missing: the body must be {"amount":"123.45"}' };
  }
  if (value === undefined) return { ok: false, reason: 'is missing: the body must be {"amount":"123.45"}' };
  return parseCallerAmount(value);
}

function parseDrop(text: string): boolean | undefined {
  try {
    const value = (JSON.parse(text) as { drop?: unknown } | null)?.drop;
    return typeof value === 'boolean' ? value : undefined;
  } catch {
    return undefined;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The raw body, or why it cannot be read; undefined when the client went away before finishing it. */
function readBody(req: IncomingMessage): Promise<Body | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        resolve({ ok: false, reason: `body larger than ${MAX_BODY_BYTES} bytes` });
        return;
      }
      try {
        resolve({ ok: true, text: utf8.decode(Buffer.concat(chunks)) });
      } catch {
        resolve({ ok: false, reason: 'body is not UTF-8' });
      }
    });
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(undefined));
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
