import type { ConsoleConfig } from './config';

/** One entry of an error body's `fields`: a request field, or a batch row's field (`row` from 1). */
export interface FieldError {
  readonly field: string;
  readonly message: string;
  readonly row?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: readonly FieldError[] = [],
  ) {
    super(message);
  }

  /**
   * The route does not exist (yet) on this API: 501, or the front's own "no such route" 404 (local), or
   * API Gateway's answer for an unknown resource (403 Missing Authentication Token), or a parameter the
   * route does not take yet. Pages show "not
   * available on this server" instead of an error.
   */
  get unavailable(): boolean {
    return (
      this.status === 501 ||
      // A route that exists but not yet with this parameter (GET /payouts before the search lands).
      (this.status === 400 &&
        [this.message, ...this.fields.map((f) => f.message)].some((m) => /not supported yet/i.test(m))) ||
      (this.status === 404 && /no such route/i.test(this.message)) ||
      (this.status === 403 && /missing authentication token/i.test(this.message))
    );
  }
}

/** Turns a request into an authenticated one: x-principal locally, a SigV4 signature on AWS. */
export type Authenticate = (request: Request) => Promise<Request>;

let config: ConsoleConfig | undefined;
let authenticate: Authenticate = async (r) => r;

export function configureApi(c: ConsoleConfig, auth: Authenticate): void {
  config = c;
  authenticate = auth;
}

export interface RequestOptions {
  readonly query?: Record<string, string | undefined>;
  readonly json?: unknown;
  readonly csv?: string;
}

async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const url = new URL(`${config?.apiBase ?? ''}${path}`, window.location.origin);
  for (const [k, v] of Object.entries(options.query ?? {}))
    if (v !== undefined && v !== '') url.searchParams.set(k, v);
  const headers = new Headers();
  let body: string | undefined;
  if (options.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.csv !== undefined) {
    headers.set('content-type', 'text/csv; charset=utf-8');
    body = options.csv;
  }
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = body;
  const response = await fetch(await authenticate(new Request(url, init)));
  if (!response.ok) throw await toError(response);
  return response;
}

async function toError(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: string; message?: string; fields?: FieldError[] };
      message?: string;
    };
    const e = parsed.error;
    if (e && typeof e === 'object') {
      return new ApiError(response.status, e.code ?? 'error', e.message ?? text, e.fields ?? []);
    }
    return new ApiError(response.status, 'error', parsed.message ?? text);
  } catch {
    return new ApiError(response.status, 'error', text || response.statusText);
  }
}

export async function getJson<T>(path: string, query?: RequestOptions['query']): Promise<T> {
  const response = await send('GET', path, query ? { query } : {});
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, json: unknown = {}): Promise<T> {
  return (await (await send('POST', path, { json })).json()) as T;
}

export async function putCsv<T>(path: string, csv: string): Promise<{ status: number; body: T }> {
  const response = await send('PUT', path, { csv });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * Downloads a CSV through fetch (the request must carry the caller's identity, which a plain link cannot).
 * An export too large for a response answers JSON with a short-lived link instead (issue 12): follow it.
 */
export async function download(
  path: string,
  filename: string,
  query?: RequestOptions['query'],
): Promise<void> {
  const response = await send('GET', path, query ? { query } : {});
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('application/json')) {
    const body = (await response.json()) as { url?: string; link?: string };
    const link = body.url ?? body.link;
    if (link) {
      window.location.assign(link);
      return;
    }
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** Encodes one path segment (no_order and batch_id are [A-Za-z0-9_-], but never trust that here). */
export const seg = encodeURIComponent;

// The server's own view types: `import type` is erased at build, so nothing of the server is bundled, and
// the console reads exactly what the API writes.
export type { BatchView } from '../../src/core/batch-model';
export type { HistoryEntry } from '../../src/core/model';
export type { PayoutView } from '../../src/core/view';

export interface Page<T> {
  readonly items: readonly T[];
  readonly next_cursor: string | null;
}
