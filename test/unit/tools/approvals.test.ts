import { describe, expect, it } from 'vitest';
import { callApi, formatAnswer, parseApprovalCommand, regionOf, requestFor } from '../../../tools/approvals';
import { ToolError } from '../../../tools/errors';

/** A fetch that records what it was asked and answers what the test says. */
function recordingFetch(status = 200, body: unknown = {}) {
  const calls: { url: string; method: string; headers: Record<string, string>; body?: string }[] = [];
  const fetchImpl = (async (url: URL | string, init?: RequestInit) => {
    calls.push({
      url: String(url),
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>)),
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
    });
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const AWS_API = 'https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/v1';
// The AWS documentation's example key pair: not a real credential.
const EXAMPLE_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

describe('ops approvals', () => {
  it('parses the four commands and names what is missing', () => {
    expect(parseApprovalCommand(['list'], { limit: '20' })).toEqual({ kind: 'list', limit: 20 });
    expect(parseApprovalCommand(['approve', 'A1'], {})).toEqual({ kind: 'approve', noOrder: 'A1' });
    expect(parseApprovalCommand(['deny', 'A1'], { reason: 'unknown payee' })).toEqual({
      kind: 'deny',
      noOrder: 'A1',
      reason: 'unknown payee',
    });
    expect(parseApprovalCommand(['void', 'A1'], {})).toEqual({ kind: 'void', noOrder: 'A1' });
    expect(() => parseApprovalCommand(['deny', 'A1'], {})).toThrow(/--reason/);
    expect(() => parseApprovalCommand(['approve'], {})).toThrow(/needs a no_order/);
    expect(() => parseApprovalCommand(['approve', 'bad/no'], {})).toThrow(ToolError);
    expect(() => parseApprovalCommand(['list'], { limit: '500' })).toThrow(/--limit/);
    expect(() => parseApprovalCommand(['pay', 'A1'], {})).toThrow(/list, approve/);
  });

  it('maps each command to its route of the payout API', () => {
    expect(requestFor({ kind: 'list', limit: 5, cursor: 'abc' })).toEqual({
      method: 'GET',
      path: '/payouts',
      query: { status: 'AWAITING_APPROVAL', limit: '5', cursor: 'abc' },
    });
    expect(requestFor({ kind: 'deny', noOrder: 'A1', reason: 'r' })).toEqual({
      method: 'POST',
      path: '/payouts/A1/deny',
      body: { reason: 'r' },
    });
    expect(requestFor({ kind: 'void', noOrder: 'A1' })).toEqual({ method: 'POST', path: '/payouts/A1/void' });
  });

  it('local mode: names the principal with x-principal, signs nothing', async () => {
    const { calls, fetchImpl } = recordingFetch(200, {
      no_order: 'A1',
      status: 'DENIED',
      denied_by: 'local:bob',
    });
    const answer = await callApi(
      { baseUrl: 'http://127.0.0.1:3000', principal: 'bob', fetchImpl },
      requestFor({ kind: 'deny', noOrder: 'A1', reason: 'unknown payee' }),
    );
    expect(calls).toEqual([
      {
        url: 'http://127.0.0.1:3000/payouts/A1/deny',
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json', 'x-principal': 'bob' },
        body: '{"reason":"unknown payee"}',
      },
    ]);
    expect(formatAnswer({ kind: 'deny', noOrder: 'A1', reason: 'x' }, answer)).toEqual([
      'A1: DENIED (by local:bob)',
    ]);
    await expect(
      callApi(
        { baseUrl: 'http://127.0.0.1:3000', principal: 'no spaces', fetchImpl },
        requestFor({ kind: 'list' }),
      ),
    ).rejects.toThrow(/--principal must be/);
  });

  it('deployed API: SigV4 for execute-api in the host’s region, and no way to name oneself', async () => {
    const { calls, fetchImpl } = recordingFetch(200, { items: [], next_cursor: null });
    await callApi(
      { baseUrl: AWS_API, credentials: EXAMPLE_CREDENTIALS, fetchImpl },
      requestFor({ kind: 'approve', noOrder: 'A1' }),
    );
    const sent = calls[0];
    expect(sent?.url).toBe(`${AWS_API}/payouts/A1/approve`);
    expect(sent?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/[0-9]{8}\/cn-north-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(sent?.headers['x-amz-date']).toMatch(/^[0-9]{8}T[0-9]{6}Z$/);
    expect(sent?.headers['x-principal']).toBeUndefined();

    await expect(
      callApi(
        { baseUrl: AWS_API, principal: 'alice', credentials: EXAMPLE_CREDENTIALS, fetchImpl },
        requestFor({ kind: 'list' }),
      ),
    ).rejects.toThrow(/local mode only/);
    await expect(
      callApi({ baseUrl: 'http://example.com', fetchImpl }, requestFor({ kind: 'list' })),
    ).rejects.toThrow(/https/);
    expect(calls).toHaveLength(1);
  });

  it('reads the region from an execute-api host name', () => {
    expect(regionOf('abc123.execute-api.cn-northwest-1.amazonaws.com.cn')).toBe('cn-northwest-1');
    expect(regionOf('abc123.execute-api.us-east-1.amazonaws.com')).toBe('us-east-1');
    expect(regionOf('pay.example.com')).toBeUndefined();
  });

  it('prints the API’s error code, message and fields', () => {
    const lines = formatAnswer(
      { kind: 'approve', noOrder: 'A1' },
      {
        status: 422,
        body: {
          error: {
            code: 'limit_exceeded',
            message: 'the payout would cross the daily amount limit (remaining 3.00)',
            fields: [{ field: 'money_order', limit: 'daily_amount', remaining: '3.00' }],
          },
        },
      },
    );
    expect(lines[0]).toBe(
      'HTTP 422 limit_exceeded: the payout would cross the daily amount limit (remaining 3.00)',
    );
    expect(lines[1]).toContain('"remaining":"3.00"');
    expect(formatAnswer({ kind: 'list' }, { status: 200, body: { items: [], next_cursor: null } })).toEqual([
      'nothing awaits approval',
    ]);
  });
});
