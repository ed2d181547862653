import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { signForApi } from '../../../console/src/sigv4';

/**
 * The console's SigV4 (AWS mode) against the same signer on Node's crypto: the WebCrypto hashing gives
 * the same signature, and it is made for API Gateway's host and stage path, not for the CloudFront URL
 * the request is sent to.
 */
class NodeSha256 implements Checksum {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as Uint8Array));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

// Obviously fake credentials (the documented AWS example shapes).
const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'not-a-real-session-token',
};
const API_HOST = 'abc123.execute-api.ap-southeast-1.amazonaws.com';
const date = new Date('2026-11-30T04:00:00Z');

describe('console SigV4', () => {
  it('signs for the API host and stage path, exactly as the reference signer does', async () => {
    const body = JSON.stringify({ reason: '重复付款' });
    const request = new Request('https://d111.cloudfront.net/payouts/P1/deny?x=1&a=b', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const signed = await signForApi(
      request,
      { region: 'ap-southeast-1', host: API_HOST, pathPrefix: '/v1' },
      async () => credentials,
      date,
    );
    const reference = await new SignatureV4({
      service: 'execute-api',
      region: 'ap-southeast-1',
      credentials,
      sha256: NodeSha256,
    }).sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: API_HOST,
        path: '/v1/payouts/P1/deny',
        query: { x: '1', a: 'b' },
        headers: { host: API_HOST, 'content-type': 'application/json' },
        body,
      },
      { signingDate: date },
    );
    expect(signed.url).toBe('https://d111.cloudfront.net/payouts/P1/deny?x=1&a=b');
    expect(signed.headers.get('authorization')).toBe(reference.headers.authorization);
    expect(signed.headers.get('authorization')).toContain('SignedHeaders=content-type;host;');
    expect(signed.headers.get('x-amz-security-token')).toBe(credentials.sessionToken);
    expect(signed.headers.get('x-amz-date')).toBe('20261130T040000Z');
    expect(signed.headers.get('host')).toBeNull();
    expect(await signed.text()).toBe(body);
  });

  it('a signature for another path or host is another signature (nothing is signed loosely)', async () => {
    const sign = (url: string, target: { host?: string; pathPrefix?: string }) =>
      signForApi(
        new Request(url),
        { region: 'ap-southeast-1', ...target },
        async () => credentials,
        date,
      ).then((r) => r.headers.get('authorization'));
    const base = await sign('https://d111.cloudfront.net/payouts/P1', { host: API_HOST, pathPrefix: '/v1' });
    expect(
      await sign('https://d111.cloudfront.net/payouts/P2', { host: API_HOST, pathPrefix: '/v1' }),
    ).not.toBe(base);
    expect(await sign('https://d111.cloudfront.net/payouts/P1', { host: API_HOST })).not.toBe(base);
    expect(await sign('https://d111.cloudfront.net/payouts/P1', { pathPrefix: '/v1' })).not.toBe(base);
  });
});
