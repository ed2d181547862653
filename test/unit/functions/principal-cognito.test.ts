import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { applyHandler } from '../../../functions/apply/handler';
import { reviewHandler } from '../../../functions/review/handler';
import { MemoryMetrics } from '../../../functions/shared/observability';
import { principalOf } from '../../../functions/shared/principal';
import { buildRuntime } from '../../../functions/shared/runtime';
import { lambdaContext } from '../../../local/front';
import { FakeProvider, TEST_LOCAL_ENV } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';

/**
 * The web console's callers: Cognito identity-pool credentials, one IAM role per group, every user of a
 * role on the same session name. What API Gateway writes into the request context for them.
 */
type Identity = Partial<APIGatewayProxyEvent['requestContext']['identity']>;

const ROLE_SESSION = 'CognitoIdentityCredentials';
const operatorsRole = `arn:aws:sts::111122223333:assumed-role/Console-Operators/${ROLE_SESSION}`;
const approversRole = `arn:aws:sts::111122223333:assumed-role/Console-Approvers/${ROLE_SESSION}`;
const alice = 'ap-southeast-1:11111111-1111-4111-8111-111111111111';
const bob = 'ap-southeast-1:22222222-2222-4222-8222-222222222222';

function consoleCaller(cognitoIdentityId: string, userArn: string): Identity {
  return {
    cognitoIdentityId,
    cognitoIdentityPoolId: 'ap-southeast-1:33333333-3333-4333-8333-333333333333',
    cognitoAuthenticationType: 'authenticated',
    userArn,
    caller: `AROAEXAMPLE:${ROLE_SESSION}`,
  };
}

function event(identity: Identity, resource: string, body?: unknown, noOrder?: string): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: resource.replace('{no_order}', noOrder ?? ''),
    resource,
    pathParameters: noOrder ? { no_order: noOrder } : null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: {},
    multiValueHeaders: {},
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      resourcePath: resource,
      identity: identity as APIGatewayProxyEvent['requestContext']['identity'],
    } as APIGatewayProxyEvent['requestContext'],
  };
}

describe('the principal of a console user (Cognito identity pool)', () => {
  it('is the Cognito identity: two users of one role are two principals', () => {
    const a = principalOf(event(consoleCaller(alice, operatorsRole), '/payouts'));
    const b = principalOf(event(consoleCaller(bob, operatorsRole), '/payouts'));
    expect(a).toBe(`cognito:${alice}`);
    expect(b).toBe(`cognito:${bob}`);
    expect(a).not.toBe(b);
  });

  it('one person holding two roles is still one principal', () => {
    expect(principalOf(event(consoleCaller(alice, operatorsRole), '/payouts'))).toBe(
      principalOf(event(consoleCaller(alice, approversRole), '/payouts')),
    );
  });

  it('leaves other IAM callers named by their ARN', () => {
    expect(principalOf(event({ userArn: operatorsRole, cognitoIdentityId: null }, '/payouts'))).toBe(
      operatorsRole,
    );
    expect(principalOf(event({ userArn: operatorsRole, cognitoIdentityId: '' }, '/payouts'))).toBe(
      operatorsRole,
    );
  });

  it('keeps approver ≠ creator for people: the creator cannot approve through the approvers role, a colleague can', async () => {
    const store = new MemoryOrderStore();
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
    const body = {
      no_order: 'COGNITO1',
      money_order: '150.00',
      card_no: '6222020000000000123',
      acct_name: '测试收款人',
      flag_card: '0',
      info_order: 'console principal test',
    };
    const created = await applyHandler(() => rt)(
      event(consoleCaller(alice, operatorsRole), '/payouts', body),
      lambdaContext('apply'),
    );
    expect(created.statusCode).toBe(202);
    expect(JSON.parse(created.body)).toMatchObject({
      status: 'AWAITING_APPROVAL',
      created_by: `cognito:${alice}`,
    });

    const approve = (identity: Identity) =>
      reviewHandler(() => rt)(
        event(identity, '/payouts/{no_order}/approve', undefined, body.no_order),
        lambdaContext('review'),
      );
    const self = await approve(consoleCaller(alice, approversRole));
    expect(self.statusCode).toBe(403);
    expect(JSON.parse(self.body).error.code).toBe('same_principal');
    expect((await store.get(body.no_order))?.status).toBe('AWAITING_APPROVAL');

    const colleague = await approve(consoleCaller(bob, approversRole));
    expect(colleague.statusCode).toBe(200);
    expect(JSON.parse(colleague.body).approved_by).toBe(`cognito:${bob}`);
  });
});
