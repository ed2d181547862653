import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../sandbox/scenarios';
import type { Sandbox } from '../sandbox/server';

/**
 * Local mode's web console: the built SPA (console/dist, `npm run console:build`) served by the local
 * front under /console/, with the same strict headers CloudFront adds when deployed
 * (infra/constructs/console.ts), plus two local-only documents:
 * - /console/config.json: local mode (the SPA then offers the local sign-in and sends `x-principal`);
 * - /console/sandbox.json: the sandbox's scenario table and the notifications it sent, with their answers.
 * The API itself stays where it is (same origin, so no CORS).
 */
export const CONSOLE_PATH = '/console/';
export const CONSOLE_DIST = fileURLToPath(new URL('../console/dist/', import.meta.url));
/** Approvals at or above this amount (yuan) ask for the amount or no_order typed again (local only). */
export const CONSOLE_CONFIRM_ENV = 'CONSOLE_CONFIRM_AMOUNT';

/** The CSP the console runs under, locally and on CloudFront: nothing inline, nothing from elsewhere. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export interface ConsoleOptions {
  readonly sandbox?: () => Sandbox | undefined;
  readonly confirmAmount?: string;
  readonly dist?: string;
}

/** What the sandbox page shows: never the notification bodies (signed fields), only what happened. */
export function sandboxData(sandbox: Sandbox | undefined) {
  return {
    scenarios: Object.entries(SCENARIOS).map(([name, s]) => ({
      name,
      amount: s.amount,
      retCode: s.retCode,
      description: s.description,
    })),
    notifications: (sandbox?.notifications() ?? [])
      .map((n) => ({
        at: n.at,
        no_order: n.no_order,
        result_pay: n.result_pay,
        attempt: n.attempt,
        delivered: n.delivered,
        status: n.status,
        answer: n.answeredRetCode ?? (n.delivered ? '0000' : undefined),
        error: n.error,
      }))
      .reverse(),
  };
}

/**
 * A request handler for the local front: answers true when the request was the console's. Path
 * traversal cannot leave `dist` (normalised and checked); unknown files are 404, never index.html, since
 * the SPA routes by hash.
 */
export function consoleHandler(options: ConsoleOptions = {}) {
  const dist = options.dist ?? CONSOLE_DIST;
  const config = {
    mode: 'local',
    apiBase: '',
    approvalConfirmMin: options.confirmAmount || '10000.00',
  };
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname === '/console') {
      res.writeHead(302, { location: CONSOLE_PATH }).end();
      return true;
    }
    if (!url.pathname.startsWith(CONSOLE_PATH)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const rest = decodeURIComponent(url.pathname.slice(CONSOLE_PATH.length));
    if (rest === 'config.json') return sendJson(res, config);
    if (rest === 'sandbox.json') return sendJson(res, sandboxData(options.sandbox?.()));
    const file = normalize(join(dist, rest === '' ? 'index.html' : rest));
    if (!file.startsWith(dist.endsWith(sep) ? dist : dist + sep)) {
      res.writeHead(404).end();
      return true;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        // Hashed assets never change; index.html must be re-read to pick up a new build.
        'cache-control': rest.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...SECURITY_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      const missing = rest === '' || rest === 'index.html';
      res.writeHead(missing ? 503 : 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(missing ? 'The console is not built: run `npm run console:build`.\n' : 'not found\n');
    }
    return true;
  };
}

function sendJson(res: ServerResponse, body: unknown): true {
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  });
  res.end(JSON.stringify(body));
  return true;
}
