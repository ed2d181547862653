import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, SourceData } from '@smithy/types';
import { noOrder as noOrderSchema } from '../src/lianlian/messages';
import { ToolError } from './errors';

/**
 * `npm run ops -- approvals …`: the break-glass path to the second person's decisions, through the same
 * API and IAM as everyone else (no side door to the table). Against the deployed API each request is
 * SigV4-signed with the operator's own AWS credentials — the principal is that IAM identity (choose it with
 * AWS_PROFILE), so an operator cannot approve a payout they created there either. Against local mode
 * (http://127.0.0.1 / localhost) the principal is named with `--principal`, sent as `x-principal`.
 */

export type ApprovalCommand =
  | { readonly kind: 'list'; readonly limit?: number; readonly cursor?: string }
  | { readonly kind: 'approve'; readonly noOrder: string }
  | { readonly kind: 'deny'; readonly noOrder: string; readonly reason: string }
  | { readonly kind: 'void'; readonly noOrder: string; readonly reason?: string };

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly body?: Record<string, string>;
  /** A body sent as it is, with its media type (a batch CSV file, issue 11); wins over `body`. */
  readonly raw?: { readonly type: string; readonly text: string };
}

export function parseApprovalCommand(
  positional: readonly string[],
  options: { reason?: string; limit?: string; cursor?: string },
): ApprovalCommand {
  const [verb, noOrder, ...extra] = positional;
  if (extra.length > 0) throw new ToolError(`unexpected arguments: ${extra.join(' ')}`);
  if (verb === 'list') {
    if (noOrder !== undefined) throw new ToolError('approvals list takes no no_order');
    let limit: number | undefined;
    if (options.limit !== undefined) {
      if (!/^[0-9]{1,3}$/.test(options.limit) || Number(options.limit) < 1 || Number(options.limit) > 100) {
        throw new ToolError('--limit must be a whole number from 1 to 100');
      }
      limit = Number(options.limit);
    }
    return {
      kind: 'list',
      ...(limit ? { limit } : {}),
      ...(options.cursor ? { cursor: options.cursor } : {}),
    };
  }
  if (verb !== 'approve' && verb !== 'deny' && verb !== 'void') {
    throw new ToolError('approvals needs one of: list, approve <no_order>, deny <no_order>, void <no_order>');
  }
  if (!noOrder || !noOrderSchema.safeParse(noOrder).success) {
    throw new ToolError(`approvals ${verb} needs a no_order (1–32 letters, digits, "_" or "-")`);
  }
  if (verb === 'approve') {
    if (options.reason !== undefined) throw new ToolError('--reason is for deny and void');
    return { kind: 'approve', noOrder };
  }
  if (verb === 'deny') {
    if (!options.reason?.trim()) throw new ToolError('approvals deny needs --reason "…"');
    return { kind: 'deny', noOrder, reason: options.reason };
  }
  return { kind: 'void', noOrder, ...(options.reason?.trim() ? { reason: options.reason } : {}) };
}

export function requestFor(command: ApprovalCommand): ApiRequest {
  switch (command.kind) {
    case 'list':
      return {
        method: 'GET',
        path: '/payouts',
        query: {
          status: 'AWAITING_APPROVAL',
          ...(command.limit ? { limit: String(command.limit) } : {}),
          ...(command.cursor ? { cursor: command.cursor } : {}),
        },
      };
    case 'approve':
      return { method: 'POST', path: `/payouts/${command.noOrder}/approve` };
    case 'deny':
      return { method: 'POST', path: `/payouts/${command.noOrder}/deny`, body: { reason: command.reason } };
    case 'void':
      return {
        method: 'POST',
        path: `/payouts/${command.noOrder}/void`,
        ...(command.reason ? { body: { reason: command.reason } } : {}),
      };
  }
}

export interface ApiTarget {
  /** The API base, e.g. https://abc.execute-api.cn-north-1.amazonaws.com.cn/v1 or http://127.0.0.1:3000. */
  readonly baseUrl: string;
  /** Local mode only: the name sent as x-principal. */
  readonly principal?: string;
  /** AWS only: credentials to sign with (default: the SDK's provider chain, i.e. AWS_PROFILE & co.). */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** AWS only: the region to sign for; default: read from the execute-api host name, else AWS_REGION. */
  readonly region?: string;
  readonly fetchImpl?: typeof fetch;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const LOCAL_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

function isLocalApi(baseUrl: URL): boolean {
  return baseUrl.protocol === 'http:' && LOCAL_HOSTS.has(baseUrl.hostname);
}

/** Sends one request: x-principal to local mode, SigV4 (service execute-api) to a deployed API. */
export async function callApi(target: ApiTarget, request: ApiRequest): Promise<ApiAnswer> {
  let base: URL;
  try {
    base = new URL(target.baseUrl.endsWith('/') ? target.baseUrl : `${target.baseUrl}/`);
  } catch {
    throw new ToolError('--api must be the API base URL');
  }
  const local = isLocalApi(base);
  if (!local && base.protocol !== 'https:')
    throw new ToolError('--api must be https:// (or local mode on http://127.0.0.1)');
  if (local && target.principal !== undefined && !LOCAL_NAME.test(target.principal)) {
    throw new ToolError('--principal must be 1 to 64 of A-Z a-z 0-9 _ . @ -');
  }
  if (!local && target.principal !== undefined) {
    // In AWS nobody names themselves: API Gateway reads the principal from the signature.
    throw new ToolError('--principal is for local mode only; in AWS you are your IAM identity (AWS_PROFILE)');
  }
  const url = new URL(request.path.replace(/^\//, ''), base);
  for (const [k, v] of Object.entries(request.query ?? {})) url.searchParams.set(k, v);
  const body = request.raw?.text ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  let headers: Record<string, string> = {
    accept: 'application/json',
    ...(body === undefined ? {} : { 'content-type': request.raw?.type ?? 'application/json' }),
  };
  if (local) {
    headers['x-principal'] = target.principal ?? 'local';
  } else {
    headers = await sign(target, url, request.method, headers, body);
  }
  const response = await (target.fetchImpl ?? fetch)(url, {
    method: request.method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (a gateway error page): shown as text.
  }
  return { status: response.status, body: parsed };
}

async function sign(
  target: ApiTarget,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Record<string, string>> {
  const region = target.region ?? regionOf(url.hostname) ?? process.env.AWS_REGION;
  if (!region) throw new ToolError('cannot tell the API region: set AWS_REGION');
  const credentials =
    target.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: NodeSha256 });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    ...(body === undefined ? {} : { body }),
  });
  return signed.headers as Record<string, string>;
}

/** `abc123.execute-api.cn-north-1.amazonaws.com.cn` → `cn-north-1`. */
export function regionOf(hostname: string): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1];
}

/** The SHA-256 SigV4 needs, from node:crypto (what @smithy/hash-node does, without the extra package). */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

interface ViewLike {
  no_order?: string;
  status?: string;
  money_order?: string;
  created_by?: string | null;
  created_at?: string;
  approved_by?: string | null;
  denied_by?: string | null;
  voided_by?: string | null;
}

/** Lines for the operator; payee data never appears (the API only ever returns it masked anyway). */
export function formatAnswer(command: ApprovalCommand, answer: ApiAnswer): string[] {
  const body = answer.body as { error?: { code?: string; message?: string; fields?: unknown[] } } & Record<
    string,
    unknown
  >;
  if (answer.status >= 400) {
    const error = body?.error;
    const lines = [`HTTP ${answer.status} ${error?.code ?? ''}: ${error?.message ?? String(answer.body)}`];
    if (error?.fields?.length) lines.push(JSON.stringify(error.fields));
    return lines;
  }
  if (command.kind === 'list') {
    const items = (body.items as ViewLike[] | undefined) ?? [];
    const lines = items.map(
      (v) => `${v.no_order}  ${v.money_order}  created ${v.created_at} by ${v.created_by ?? '?'}`,
    );
    if (items.length === 0) lines.push('nothing awaits approval');
    if (typeof body.next_cursor === 'string') lines.push(`more: --cursor ${body.next_cursor}`);
    return lines;
  }
  const view = body as ViewLike;
  const by = view.approved_by ?? view.denied_by ?? view.voided_by;
  return [`${view.no_order}: ${view.status}${by ? ` (by ${by})` : ''}`];
}
