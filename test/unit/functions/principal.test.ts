import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { applyHandler } from '../../../functions/apply/handler';
import { reviewHandler } from '../../../functions/review/handler';
import { MemoryMetrics } from '../../../functions/shared/observability';
import { principalOf } from '../../../functions/shared/principal';
import { buildRuntime } from '../../../functions/shared/runtime';
import { lambdaContext, localPrincipal } from '../../../local/front';
import { FakeProvider, TEST_LOCAL_ENV } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';

type Identity = Partial<APIGatewayProxyEvent['requestContext']['identity']>;

function event(
  identity: Identity,
  options: { headers?: Record<string, string>; resource?: string; body?: unknown; noOrder?: string } = {},
): APIGatewayProxyEvent {
  const resource = options.resource ?? '/payouts';
  return {
    httpMethod: 'POST',
    path: resource.replace('{no_order}', options.noOrder ?? ''),
    resource,
    pathParameters: options.noOrder ? { no_order: options.noOrder } : null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: options.headers ?? {},
    multiValueHeaders: {},
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      resourcePath: resource,
      identity: identity as APIGatewayProxyEvent['requestContext']['identity'],
    } as APIGatewayProxyEvent['requestContext'],
  };
}

/** The functions' runtime on in-memory ports (MD5 sign type: no provider key needed), approval from 100 yuan. */
function runtime(store = new MemoryOrderStore()) {
  const rt = buildRuntime(
    {
      ...TEST_LOCAL_ENV,
      APPROVAL_MIN_AMOUNT: '100',
    },
    {
      store,
      provider: new FakeProvider(),
      metrics: new MemoryMetrics(),
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    },
  );
  return { rt, store };
}

const body = {
  no_order: 'PRINCIPAL1',
  money_order: '150.00',
  card_no: '6222020000000000123',
  acct_name: '测试收款人',
  flag_card: '0',
  info_order: 'principal test',
};

describe('the principal', () => {
  it('is the IAM caller from the request context: the user ARN, else the caller id', () => {
    expect(
      principalOf(event({ userArn: 'arn:aws:sts::1:assumed-role/Approver/alice', caller: 'AROA:alice' })),
    ).toBe('arn:aws:sts::1:assumed-role/Approver/alice');
    expect(principalOf(event({ userArn: null, caller: 'AIDAEXAMPLE' }))).toBe('AIDAEXAMPLE');
  });

  it('in local mode, the front names it from x-principal (default local), valid names only', () => {
    expect(localPrincipal('bob')).toBe('local:bob');
    expect(localPrincipal(undefined)).toBe('local:local');
    expect(localPrincipal('')).toBe('local:local');
    expect(localPrincipal('ops.team@example-1_x')).toBe('local:ops.team@example-1_x');
    expect(localPrincipal('two words')).toBeUndefined();
    expect(localPrincipal('a'.repeat(65))).toBeUndefined();
    expect(localPrincipal('local:admin')).toBeUndefined();
  });

  it('can never come from a header outside local mode', () => {
    const forged = event({}, { headers: { 'x-principal': 'alice', 'X-Principal': 'alice' } });
    expect(() => principalOf(forged)).toThrow(/no authenticated caller/);
  });

  it('refuses a payout without an authenticated caller (403), whatever the headers say', async () => {
    const { rt, store } = runtime();
    const handler = applyHandler(() => rt);
    const answer = await handler(
      event({}, { headers: { 'x-principal': 'alice' }, body }),
      lambdaContext('apply'),
    );
    expect(answer.statusCode).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'no_principal', message: 'the request carries no authenticated caller' },
    });
    expect(await store.get(body.no_order)).toBeUndefined();
  });

  it('records the creator from the context, and a header cannot make the creator someone else to approve', async () => {
    const { rt, store } = runtime();
    const creator = { userArn: 'arn:aws:iam::1:user/maker' };
    const created = await applyHandler(() => rt)(event(creator, { body }), lambdaContext('apply'));
    expect(created.statusCode).toBe(202);
    expect(JSON.parse(created.body)).toMatchObject({
      status: 'AWAITING_APPROVAL',
      created_by: creator.userArn,
    });

    const review = reviewHandler(() => rt);
    const approve = (identity: Identity, headers: Record<string, string> = {}) =>
      review(
        event(identity, { resource: '/payouts/{no_order}/approve', noOrder: body.no_order, headers }),
        lambdaContext('review'),
      );
    const self = await approve(creator, { 'x-principal': 'someone-else' });
    expect(self.statusCode).toBe(403);
    expect(JSON.parse(self.body).error.code).toBe('same_principal');
    expect((await store.get(body.no_order))?.status).toBe('AWAITING_APPROVAL');
  });
});
