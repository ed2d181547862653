import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types';

/**
 * SigV4 for the console's API calls (AWS mode), with WebCrypto only (no crypto library shipped).
 * Kept apart from the sign-in so it can be checked outside a browser (test/unit/console/sigv4.test.ts).
 */

/** SHA-256, or HMAC-SHA-256 when given a secret, as the signer's `Checksum` constructor. */
export class WebSha256 implements Checksum {
  private chunks: Uint8Array[] = [];
  constructor(private readonly secret?: SourceData) {}
  update(data: Uint8Array): void {
    this.chunks.push(data);
  }
  async digest(): Promise<Uint8Array> {
    const size = this.chunks.reduce((n, c) => n + c.length, 0);
    const data = new Uint8Array(size);
    let at = 0;
    for (const c of this.chunks) {
      data.set(c, at);
      at += c.length;
    }
    if (this.secret === undefined) return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    const secret = this.secret;
    // A copy on its own ArrayBuffer: what WebCrypto accepts whatever the signer passed in.
    const raw =
      typeof secret === 'string'
        ? new TextEncoder().encode(secret)
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength).slice()
          : new Uint8Array(secret).slice();
    const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  }
  reset(): void {
    this.chunks = [];
  }
}

export interface SignTarget {
  readonly region: string;
  /** The host API Gateway sees (the console sends to CloudFront, which forwards with this Host). */
  readonly host?: string;
  /** The stage path API Gateway sees in front of the route (`/v1`). */
  readonly pathPrefix?: string;
}

/**
 * The same request with SigV4 headers for `execute-api`, signed for `target.host` and
 * `target.pathPrefix + path` — what API Gateway verifies — while still sent to the request's own URL.
 */
export async function signForApi(
  request: Request,
  target: SignTarget,
  credentials: () => Promise<AwsCredentialIdentity>,
  signingDate?: Date,
): Promise<Request> {
  const url = new URL(request.url);
  const body = request.body ? await request.text() : undefined;
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => {
    headers[k] = v;
  });
  headers.host = target.host ?? url.host;
  const signer = new SignatureV4({
    service: 'execute-api',
    region: target.region,
    credentials,
    sha256: WebSha256,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: target.host ?? url.hostname,
      path: `${target.pathPrefix ?? ''}${url.pathname}`,
      query: Object.fromEntries(url.searchParams.entries()),
      headers,
      body,
    },
    signingDate ? { signingDate } : {},
  );
  const out = new Headers();
  // Host is the browser's to set (a forbidden header); everything else signed travels as signed.
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') out.set(k, String(v));
  const init: RequestInit = { method: request.method, headers: out };
  if (body !== undefined) init.body = body;
  return new Request(url, init);
}
