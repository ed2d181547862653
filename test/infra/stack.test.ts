import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DISPATCH_MAX_RECEIVES } from '../../infra/constructs/dispatch';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { ENV, METRICS, merchantKeyContext, type ReconcileSchedulePayload } from '../../src/config/contract';
import {
  actionsOf,
  FUNCTION_KEYS,
  type FunctionKey,
  findCycle,
  functionId,
  identityStatements,
  nagErrors,
  nagWarnings,
  OID_PARTNER,
  ofType,
  resources,
  roleOfFunction,
  type Statement,
  type Synthesized,
  statementsIn,
  synthesizeAll,
  testConfig,
} from './support';

const ALLOW_LIST = ['203.0.113.0/24', '198.51.100.7/32'];
const EIPS = ['eipalloc-0123456789abcdef0', 'eipalloc-0fedcba9876543210'];
const CUSTOM_NOTIFY = 'https://pay.example.com/lianlian/notify';
/** Each provider call on its own URL, one of them on a non-default port (egress must open it). */
const SPLIT = {
  apiBase: undefined,
  applyUrl: 'https://instantpay.example.com:8443/paymentapi/payment.htm',
  queryUrl: 'https://queryapi.example.com/orderquery.htm',
  balanceUrl: 'https://queryapi.example.com:9443/traderAcctQuery.htm',
};

let s: Record<'dev' | 'prod' | 'md5' | 'egress' | 'split' | 'controls', Synthesized>;

beforeAll(() => {
  s = synthesizeAll({
    dev: testConfig('dev'),
    prod: testConfig('prod', { notifyAllowCidrs: ALLOW_LIST, alarmEmail: 'ops@example.com' }),
    md5: testConfig('dev', { signType: 'MD5', providerPublicKey: undefined }),
    egress: testConfig('prod', { egressEipAllocationIds: EIPS, notifyUrl: CUSTOM_NOTIFY }),
    split: testConfig('dev', { ...SPLIT, egressEipAllocationIds: EIPS.slice(0, 1) }),
    controls: testConfig('dev', {
      approvalMinAmount: '5000',
      dailyLimitAmount: '100000.00',
      payeeDailyLimitCount: '3',
      lowBalanceAmount: '500.00',
      fundsWaitSeconds: 3600,
    }),
  });
}, 120_000);

const all = () => Object.values(s);

function lambda(synth: Synthesized, name: FunctionKey) {
  const fn = resources(synth.json)[functionId(synth, name)];
  if (!fn?.Properties) throw new Error(`function ${name} missing`);
  return fn.Properties as {
    Runtime: string;
    Architectures: string[];
    Handler: string;
    Timeout: number;
    TracingConfig?: { Mode: string };
    Environment: { Variables: Record<string, unknown> };
    VpcConfig?: unknown;
    LoggingConfig?: { LogGroup: unknown };
  };
}

function statementsOfFunction(synth: Synthesized, name: FunctionKey): Statement[] {
  const role = roleOfFunction(synth.json, functionId(synth, name));
  return identityStatements(synth.json)
    .filter((p) => p.roles.includes(role))
    .map((p) => p.statement);
}

/** Allow statements for kms:Decrypt on the merchant-key KMS key. */
function merchantKeyDecrypts(synth: Synthesized, name: FunctionKey): Statement[] {
  const keyId = synth.stack.getLogicalId(synth.stack.keys.merchantKey.node.defaultChild as never);
  return statementsOfFunction(synth, name).filter(
    (st) =>
      st.Effect === 'Allow' &&
      actionsOf(st).some((a) => a === 'kms:Decrypt' || a === 'kms:*') &&
      JSON.stringify(st.Resource).includes(keyId),
  );
}

function methodsByPath(synth: Synthesized) {
  const res = resources(synth.json);
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (!id) return '';
    const r = res[id];
    if (r?.Type !== 'AWS::ApiGateway::Resource') return '';
    return `${pathOf(r.Properties?.ParentId)}/${String(r.Properties?.PathPart)}`;
  };
  return ofType(synth.json, 'AWS::ApiGateway::Method').map(([, m]) => ({
    method: String(m.Properties?.HttpMethod),
    path: pathOf(m.Properties?.ResourceId),
    authorization: String(m.Properties?.AuthorizationType),
  }));
}

describe('functions', () => {
  it('every function runs nodejs22.x on arm64 with active tracing and an ESM bundle', () => {
    for (const synth of all()) {
      for (const name of FUNCTION_KEYS) {
        const fn = lambda(synth, name);
        expect(fn.Runtime, name).toBe('nodejs22.x');
        expect(fn.Architectures, name).toEqual(['arm64']);
        expect(fn.TracingConfig?.Mode, name).toBe('Active');
        expect(fn.Handler, name).toBe('index.handler');
        expect(fn.LoggingConfig?.LogGroup, name).toBeDefined();
      }
      // + batches (issue 11), checked in its own tests, the daily close function
      // (infra/constructs/reports.ts) and the export function (infra/constructs/export.ts), outside
      // PayoutFunctions.
      expect(ofType(synth.json, 'AWS::Lambda::Function')).toHaveLength(FUNCTION_KEYS.length + 3);
    }
  });

  it('log groups carry the configured retention', () => {
    for (const group of ofType(s.prod.json, 'AWS::Logs::LogGroup')) {
      expect(group[1].Properties?.RetentionInDays).toBe(400);
    }
    for (const group of ofType(s.dev.json, 'AWS::Logs::LogGroup')) {
      expect(group[1].Properties?.RetentionInDays).toBe(14);
    }
  });

  it('reconcile runs longer than the API functions, which fit inside API Gateway’s 29 s', () => {
    expect(lambda(s.dev, 'reconcile').Timeout).toBe(300);
    for (const name of ['apply', 'query', 'notify'] as const) {
      expect(lambda(s.dev, name).Timeout).toBeLessThan(29);
    }
  });

  it('environment carries names and ids only, in the shared contract’s variable names', () => {
    const apply = lambda(s.dev, 'apply').Environment.Variables;
    expect(apply[ENV.keySource]).toBe('kms');
    expect(apply[ENV.oidPartner]).toBe(OID_PARTNER);
    expect(apply[ENV.signType]).toBe('RSA');
    expect(apply[ENV.merchantKeyParam]).toBe('/lianlian-payout/dev/merchant-rsa-key');
    expect(apply[ENV.md5KeyParam]).toBeUndefined();
    expect(apply[ENV.providerPublicKey]).toMatch(/^MIGf/);
    expect(apply[ENV.merchantKeyKmsKeyId]).toBeDefined();
    expect(apply[ENV.fieldKeyKmsKeyId]).toBeDefined();
    for (const secret of [ENV.merchantPrivateKey, ENV.md5Key, ENV.localFieldKey]) {
      for (const name of FUNCTION_KEYS)
        expect(lambda(s.dev, name).Environment.Variables[secret]).toBeUndefined();
    }
    // RSA notify verifies with the provider's public key and is not even told where the merchant key is.
    expect(lambda(s.dev, 'notify').Environment.Variables[ENV.merchantKeyParam]).toBeUndefined();
    const reconcile = lambda(s.dev, 'reconcile').Environment.Variables;
    for (const name of [ENV.reconcileRatePerSecond, ENV.reconcileConcurrency, ENV.stuckAfterSeconds]) {
      expect(reconcile[name], name).toMatch(/^[0-9]+$/);
    }
    // publish neither signs nor reads the table: its bus, and nothing of the payout configuration.
    const publish = lambda(s.dev, 'publish').Environment.Variables;
    expect(publish[ENV.eventBusName]).toBeDefined();
    for (const name of [ENV.oidPartner, ENV.tableName, ENV.merchantKeyKmsKeyId, ENV.fieldKeyKmsKeyId]) {
      expect(publish[name], name).toBeUndefined();
    }
  });

  it('provider endpoints: the one base by default, or each URL as configured (defect 4)', () => {
    const dev = lambda(s.dev, 'apply').Environment.Variables;
    expect(dev[ENV.apiBase]).toBe('https://yintong.com.cn');
    for (const name of [ENV.applyUrl, ENV.queryUrl, ENV.balanceUrl]) expect(dev[name], name).toBeUndefined();
    for (const name of ['apply', 'query', 'notify', 'reconcile'] as const) {
      const split = lambda(s.split, name).Environment.Variables;
      expect(split[ENV.apiBase], name).toBeUndefined();
      expect(split[ENV.applyUrl], name).toBe(SPLIT.applyUrl);
      expect(split[ENV.queryUrl], name).toBe(SPLIT.queryUrl);
      expect(split[ENV.balanceUrl], name).toBe(SPLIT.balanceUrl);
    }
  });

  it('the merchant key lifetime reaches the functions that load it', () => {
    for (const name of ['apply', 'query', 'notify', 'reconcile'] as const) {
      expect(lambda(s.dev, name).Environment.Variables[ENV.keyCacheSeconds], name).toBe('300');
    }
  });

  it('NOTIFY_URL is the API’s own notify route, or the configured override', () => {
    const own = s.dev.stack.resolve(s.dev.stack.api.notifyUrl);
    expect(lambda(s.dev, 'apply').Environment.Variables[ENV.notifyUrl]).toEqual(own);
    expect(JSON.stringify(own)).toContain('/v1/lianlian/notify');
    expect((s.dev.json.Outputs as Record<string, { Value: unknown }>).NotifyUrl?.Value).toEqual(own);
    expect(lambda(s.egress, 'apply').Environment.Variables[ENV.notifyUrl]).toBe(CUSTOM_NOTIFY);
  });

  it('the template has no dependency cycle (functions reference the API id, not its stage)', () => {
    for (const synth of all()) expect(findCycle(synth.json)).toBeUndefined();
  });
});

describe('API', () => {
  it('IAM authorization on the merchant routes, none on the provider notification route', () => {
    const methods = methodsByPath(s.dev);
    expect(methods).toEqual(
      expect.arrayContaining([
        { method: 'POST', path: '/payouts', authorization: 'AWS_IAM' },
        { method: 'GET', path: '/payouts', authorization: 'AWS_IAM' },
        { method: 'GET', path: '/payouts/{no_order}', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/payouts/{no_order}/approve', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/payouts/{no_order}/deny', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/payouts/{no_order}/void', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/lianlian/notify', authorization: 'NONE' },
        // Operations (issue 12).
        { method: 'GET', path: '/payouts/export.csv', authorization: 'AWS_IAM' },
        { method: 'GET', path: '/exceptions', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/payouts/{no_order}/anomalies/ack', authorization: 'AWS_IAM' },
        // Batches (issue 11).
        { method: 'PUT', path: '/batches/{batch_id}', authorization: 'AWS_IAM' },
        { method: 'GET', path: '/batches/{batch_id}', authorization: 'AWS_IAM' },
        { method: 'GET', path: '/batches/{batch_id}/items', authorization: 'AWS_IAM' },
        { method: 'GET', path: '/batches/{batch_id}/report.csv', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/batches/{batch_id}/approve', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/batches/{batch_id}/deny', authorization: 'AWS_IAM' },
        { method: 'POST', path: '/batches/{batch_id}/void', authorization: 'AWS_IAM' },
        // Funds (issue 13).
        { method: 'GET', path: '/balance', authorization: 'AWS_IAM' },
        // The daily close (issue 13).
        { method: 'GET', path: '/close/{date}', authorization: 'AWS_IAM' },
      ]),
    );
    expect(methods).toHaveLength(19);
  });

  it('with an allow-list, the resource policy denies the notify route to every other source IP', () => {
    const [[, api] = []] = ofType(s.prod.json, 'AWS::ApiGateway::RestApi');
    const statements = statementsIn(api?.Properties?.Policy);
    const deny = statements.find((st) => st.Effect === 'Deny');
    expect(deny).toMatchObject({
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*/POST/lianlian/notify',
      Condition: { NotIpAddress: { 'aws:SourceIp': ALLOW_LIST } },
    });
    // An Allow for "*" anywhere else would open the IAM routes to every AWS account.
    for (const st of statements.filter((x) => x.Effect === 'Allow')) {
      expect(st.Resource).toBe('execute-api:/*/POST/lianlian/notify');
    }
  });

  it('without an allow-list there is no resource policy (notify open, signature-checked)', () => {
    const [[, api] = []] = ofType(s.dev.json, 'AWS::ApiGateway::RestApi');
    expect(api?.Properties?.Policy).toBeUndefined();
  });

  it('the stage is throttled, access-logged, traced, and never logs request bodies', () => {
    s.prod.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
        }),
      ]),
    });
  });

  it('validates the merchant requests before invoking a function', () => {
    s.dev.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    s.dev.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RequestParameters: {
        'method.request.path.no_order': true,
        'method.request.querystring.refresh': false,
      },
      RequestValidatorId: Match.anyValue(),
    });
  });
});

describe('storage and keys', () => {
  it('the table: on-demand, PITR, customer-managed KMS, the shared layout, a NEW_AND_OLD_IMAGES stream', () => {
    const { partitionKey, openIndex } = PAYOUTS_TABLE;
    const keyId = s.prod.stack.getLogicalId(s.prod.stack.storage.key.node.defaultChild as never);
    s.prod.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: openIndex.name,
          KeySchema: [
            { AttributeName: openIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: openIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]),
    });
  });

  it('prod retains the table and keys and protects the table from deletion; dev does not', () => {
    s.prod.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    for (const [id, key] of ofType(s.prod.json, 'AWS::KMS::Key')) {
      expect(key.DeletionPolicy, id).toBe('Retain');
      expect(key.Properties?.EnableKeyRotation, id).toBe(true);
    }
    s.dev.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('one KMS key per purpose: table, merchant key, payee fields (and the alarm topic, the dispatch queue)', () => {
    const descriptions = ofType(s.dev.json, 'AWS::KMS::Key').map(([, k]) =>
      String(k.Properties?.Description),
    );
    // + the reports bucket's key (issue 13) and the dispatch queue's (issue 11).
    expect(descriptions).toHaveLength(6);
    expect(new Set(descriptions).size).toBe(6);
  });

  it('the merchant and field keys refuse use without their purpose context, even to administrators', () => {
    const policyOf = (key: 'merchantKey' | 'fieldKey') => {
      const id = s.dev.stack.getLogicalId(s.dev.stack.keys[key].node.defaultChild as never);
      return statementsIn(resources(s.dev.json)[id]?.Properties?.KeyPolicy);
    };
    expect(policyOf('merchantKey')).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { StringNotEquals: { 'kms:EncryptionContext:purpose': 'lianlian-payout/merchant-key' } },
      }),
    );
    expect(policyOf('fieldKey')).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { StringNotEquals: { 'kms:EncryptionContext:purpose': 'lianlian-payout/payee-fields' } },
      }),
    );
  });
});

describe('IAM', () => {
  it('no identity policy grants kms:Decrypt (or kms:*) on Resource "*"', () => {
    for (const synth of all()) {
      for (const { policy, statement } of identityStatements(synth.json)) {
        if (statement.Effect !== 'Allow') continue;
        const decrypts = actionsOf(statement).some((a) => ['kms:Decrypt', 'kms:*', '*'].includes(a));
        const resourcesOf = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        if (decrypts) expect(resourcesOf, policy).not.toContain('*');
      }
    }
  });

  it('no key policy lets an arbitrary principal decrypt', () => {
    for (const synth of all()) {
      for (const [id, key] of ofType(synth.json, 'AWS::KMS::Key')) {
        for (const st of statementsIn(key.Properties?.KeyPolicy)) {
          if (st.Effect !== 'Allow') continue;
          expect(JSON.stringify(st.Principal), id).not.toMatch(/"AWS":"\*"|^"\*"$/);
        }
      }
    }
  });

  it('RSA: merchant-key decrypt only in apply, query, review and reconcile, bound to purpose, merchant and kind', () => {
    const context = merchantKeyContext(OID_PARTNER, 'rsa');
    for (const name of ['apply', 'query', 'review', 'reconcile'] as const) {
      const grants = merchantKeyDecrypts(s.dev, name);
      expect(grants, name).toHaveLength(1);
      expect(grants[0]?.Condition, name).toEqual({
        StringEquals: {
          'kms:EncryptionContext:purpose': context.purpose,
          'kms:EncryptionContext:oid_partner': OID_PARTNER,
          'kms:EncryptionContext:kind': 'rsa',
        },
      });
    }
    expect(merchantKeyDecrypts(s.dev, 'notify')).toEqual([]);
    expect(merchantKeyDecrypts(s.dev, 'publish')).toEqual([]);
  });

  it('MD5: notify may decrypt the MD5 key (to verify) and nothing else of the merchant’s', () => {
    const grants = merchantKeyDecrypts(s.md5, 'notify');
    expect(grants).toHaveLength(1);
    expect(grants[0]?.Condition?.StringEquals?.['kms:EncryptionContext:kind']).toBe('md5');
    expect(lambda(s.md5, 'notify').Environment.Variables[ENV.md5KeyParam]).toBe(
      '/lianlian-payout/dev/merchant-md5-key',
    );
    expect(merchantKeyDecrypts(s.md5, 'publish')).toEqual([]);
  });

  it('ssm:GetParameter only on the configured merchant key parameter, only where the key is used', () => {
    for (const name of FUNCTION_KEYS) {
      const gets = statementsOfFunction(s.dev, name).filter((st) =>
        actionsOf(st).some((a) => a.startsWith('ssm:')),
      );
      if (name === 'notify' || name === 'publish') {
        expect(gets, name).toEqual([]);
        continue;
      }
      expect(gets, name).toHaveLength(1);
      expect(actionsOf(gets[0] as Statement)).toEqual(['ssm:GetParameter']);
      expect(JSON.stringify(gets[0]?.Resource)).toContain(':parameter/lianlian-payout/dev/merchant-rsa-key');
    }
  });

  it('field key: GenerateDataKey only for apply, Decrypt for apply, review and reconcile, context-bound', () => {
    const fieldKeyId = s.dev.stack.getLogicalId(s.dev.stack.keys.fieldKey.node.defaultChild as never);
    const fieldActions = (name: FunctionKey) =>
      statementsOfFunction(s.dev, name)
        .filter((st) => JSON.stringify(st.Resource).includes(fieldKeyId))
        .flatMap((st) => {
          expect(st.Condition).toEqual({
            StringEquals: { 'kms:EncryptionContext:purpose': 'lianlian-payout/payee-fields' },
          });
          return actionsOf(st);
        })
        .sort();
    expect(fieldActions('apply')).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(fieldActions('reconcile')).toEqual(['kms:Decrypt']);
    expect(fieldActions('review')).toEqual(['kms:Decrypt']);
    expect(fieldActions('query')).toEqual([]);
    expect(fieldActions('notify')).toEqual([]);
    expect(fieldActions('publish')).toEqual([]);
  });

  it('table access follows each function’s store operations: only apply creates, reconcile lists the backlog, query the approvals', () => {
    const dynamo = (name: FunctionKey) =>
      statementsOfFunction(s.dev, name)
        .flatMap((st) => actionsOf(st).map((a) => ({ action: a, resource: JSON.stringify(st.Resource) })))
        .filter((x) => x.action.startsWith('dynamodb:'));
    const actions = (name: FunctionKey) =>
      dynamo(name)
        .map((x) => x.action)
        .sort();

    expect(actions('apply')).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // query also serves the operations routes (issue 12): Query on the indexes they read, BatchGetItem.
    expect(actions('query')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(dynamo('query').find((x) => x.action === 'dynamodb:Query')?.resource).toContain(
      `/index/${PAYOUTS_TABLE.awaitingIndex.name}`,
    );
    const opsQuery = dynamo('query')
      .filter((x) => x.action === 'dynamodb:Query')
      .map((x) => x.resource)
      .join();
    for (const index of [PAYOUTS_TABLE.byDayIndex, PAYOUTS_TABLE.batchIndex, PAYOUTS_TABLE.anomalyIndex]) {
      expect(opsQuery).toContain(`/index/${index.name}`);
    }
    expect(opsQuery).not.toContain('/index/*');
    expect(actions('review')).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(actions('notify')).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // Funds (issue 13): the waiting queue and the figures' batch reads; the funds items are UpdateItem.
    expect([...new Set(actions('reconcile'))]).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    // The due index, the FUNDS queue (awaiting-approval) and (issue 11) the by-batch index for its batch
    // looks; never a wildcard.
    const queries = dynamo('reconcile').filter((x) => x.action === 'dynamodb:Query');
    expect(queries.map((q) => q.resource).join()).toContain(`/index/${PAYOUTS_TABLE.openIndex.name}`);
    expect(queries.map((q) => q.resource).join()).toContain(`/index/${PAYOUTS_TABLE.awaitingIndex.name}`);
    for (const q of queries) expect(q.resource).not.toContain('*');
    expect(actions('balance')).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query']);
  });

  it('the table key only through DynamoDB (kms:ViaService), for every function with table access (defect 9)', () => {
    for (const synth of [s.dev, s.prod]) {
      const tableKey = synth.stack.getLogicalId(synth.stack.storage.key.node.defaultChild as never);
      for (const name of ['apply', 'query', 'notify', 'reconcile'] as const) {
        const grants = statementsOfFunction(synth, name).filter(
          (st) => st.Effect === 'Allow' && JSON.stringify(st.Resource).includes(tableKey),
        );
        expect(grants, name).toHaveLength(1);
        expect(actionsOf(grants[0]!).sort(), name).toEqual(
          ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'].sort(),
        );
        expect(grants[0]?.Condition, name).toEqual({
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        });
      }
    }
    // The field key is a different key, used directly by apply and reconcile for data keys: no ViaService.
    const fieldKey = s.dev.stack.getLogicalId(s.dev.stack.keys.fieldKey.node.defaultChild as never);
    const storageKey = s.dev.stack.getLogicalId(s.dev.stack.storage.key.node.defaultChild as never);
    expect(fieldKey).not.toBe(storageKey);
    const fieldGrant = statementsOfFunction(s.dev, 'apply').find((st) =>
      JSON.stringify(st.Resource).includes(fieldKey),
    );
    expect(JSON.stringify(fieldGrant?.Condition)).not.toContain('kms:ViaService');
  });

  it('publish: events:PutEvents on the payout bus only, and no table item access', () => {
    const statements = statementsOfFunction(s.dev, 'publish');
    const busId = s.dev.stack.getLogicalId(s.dev.stack.events.bus.node.defaultChild as never);
    const puts = statements.filter((st) => actionsOf(st).includes('events:PutEvents'));
    expect(puts).toHaveLength(1);
    expect(puts[0]?.Resource).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
    const itemActions = statements
      .flatMap(actionsOf)
      .filter((a) => /dynamodb:(Get|Put|Update|Delete)Item/.test(a));
    expect(itemActions).toEqual([]);
  });
});

describe('schedule and events', () => {
  it('the schedule invokes reconcile every configured period with the typed payload', () => {
    const payload: ReconcileSchedulePayload = { kind: 'reconcile' };
    s.dev.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId(s.dev, 'reconcile'), 'Arn'] },
          Input: JSON.stringify(payload),
        }),
      ],
    });
  });

  it('the stream feeds publish with retries, bisection and an SQS on-failure destination', () => {
    const dlq = s.dev.stack.getLogicalId(s.dev.stack.events.deadLetterQueue.node.defaultChild as never);
    s.dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId(s.dev, 'publish') },
      EventSourceArn: Match.anyValue(),
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
  });
});

describe('monitoring', () => {
  const alarmJson = (synth: Synthesized) =>
    ofType(synth.json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

  it('alarms on stuck payouts, anomalies, unknown codes, reconcile errors, unreadable stream records and unsent dispatch requests', () => {
    const expressions = alarmJson(s.dev)
      .flatMap((p) => (p?.Metrics as { Expression?: string }[] | undefined) ?? [])
      .map((m) => m.Expression ?? '');
    for (const metric of [
      METRICS.stuck,
      METRICS.anomalies,
      METRICS.unknownCodes,
      METRICS.reconcileErrors,
      METRICS.eventRecordsMalformed,
      METRICS.dispatchRequestsFailed,
    ]) {
      expect(expressions).toContain(`SELECT SUM(${metric}) FROM ${METRICS.namespace}`);
    }
  });

  it('funds (issue 13): balance below LOW_BALANCE_AMOUNT (when set) and below the waiting amount alarm', () => {
    const alarms = (synth: Synthesized) =>
      ofType(synth.json, 'AWS::CloudWatch::Alarm').map(([id, a]) => ({ id, p: a.Properties ?? {} }));
    const low = alarms(s.controls).find((a) => a.id.includes('LowBalance'));
    expect(low?.p).toMatchObject({
      MetricName: METRICS.availableBalance,
      Threshold: 500,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarms(s.dev).some((a) => a.id.includes('LowBalance'))).toBe(false);
    for (const synth of [s.dev, s.controls]) {
      const below = alarms(synth).find((a) => a.id.includes('BalanceBelowWaiting'));
      expect(JSON.stringify(below?.p.Metrics)).toContain('available - waiting');
      expect(JSON.stringify(below?.p.Metrics)).toContain(METRICS.waitingAmount);
    }
    const env = lambda(s.controls, 'reconcile') as unknown as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(env.Environment.Variables).toMatchObject({
      LOW_BALANCE_AMOUNT: '500.00',
      FUNDS_WAIT_SECONDS: '3600',
    });
    // Funds Low leaves through the table stream and the publisher: reconcile has no bus to send to.
    expect(env.Environment.Variables.EVENT_BUS_NAME).toBeUndefined();
  });

  it('alarms on errors and throttles of every function, the DLQ, the API and a silent schedule', () => {
    const metrics = alarmJson(s.dev).map((p) => `${String(p?.Namespace)}/${String(p?.MetricName)}`);
    // + batches (issue 11), the daily close function and the export function (issue 12).
    expect(metrics.filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(FUNCTION_KEYS.length + 3);
    expect(metrics.filter((m) => m === 'AWS/Lambda/Throttles')).toHaveLength(FUNCTION_KEYS.length + 3);
    expect(metrics).toContain('AWS/SQS/ApproximateNumberOfMessagesVisible');
    expect(metrics).toContain('AWS/ApiGateway/5XXError');
    s.dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    for (const p of alarmJson(s.dev)) expect(p?.AlarmActions).toHaveLength(1);
  });

  it('any signature failure, of any kind, pages within five minutes (defect 5)', () => {
    const alarm = alarmJson(s.dev).find((p) =>
      ((p?.Metrics as { Expression?: string }[] | undefined) ?? []).some(
        (m) => m.Expression === `SELECT SUM(${METRICS.signatureFailures}) FROM ${METRICS.namespace}`,
      ),
    );
    expect(alarm).toBeDefined();
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(((alarm?.Metrics ?? []) as { Period?: number }[])[0]?.Period).toBe(300);
    const topic = s.dev.stack.getLogicalId(s.dev.stack.monitoring.topic.node.defaultChild as never);
    expect(alarm?.AlarmActions).toEqual([{ Ref: topic }]);
    // The dashboard shows which kind failed.
    const dashboard = JSON.stringify(ofType(s.dev.json, 'AWS::CloudWatch::Dashboard')[0]?.[1].Properties);
    expect(dashboard).toContain(
      `SELECT SUM(${METRICS.signatureFailures}) FROM ${METRICS.namespace} GROUP BY kind`,
    );
  });

  it('a dashboard, and the outputs an operator needs', () => {
    expect(ofType(s.dev.json, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(Object.keys(s.dev.json.Outputs as object)).toEqual(
      expect.arrayContaining(['ApiUrl', 'NotifyUrl', 'MerchantKeyKmsKeyArn', 'MerchantKeyParameter']),
    );
  });
});

describe('fixed egress (optional VPC)', () => {
  it('only the functions that call the provider join the VPC behind NAT gateways on the given EIPs', () => {
    for (const name of ['apply', 'query', 'review', 'reconcile'] as const)
      expect(lambda(s.egress, name).VpcConfig).toBeDefined();
    for (const name of ['notify', 'publish'] as const)
      expect(lambda(s.egress, name).VpcConfig).toBeUndefined();
    const allocations = ofType(s.egress.json, 'AWS::EC2::NatGateway').map(
      ([, n]) => n.Properties?.AllocationId,
    );
    expect(allocations.sort()).toEqual([...EIPS].sort());
    expect(ofType(s.dev.json, 'AWS::EC2::VPC')).toEqual([]);
  });

  it('opens the port of every configured provider URL, and only those besides 443', () => {
    const ports = (synth: Synthesized) =>
      ofType(synth.json, 'AWS::EC2::SecurityGroup')
        .flatMap(([, g]) => (g.Properties?.SecurityGroupEgress as { FromPort?: number }[] | undefined) ?? [])
        .map((e) => e.FromPort)
        .sort();
    expect(ports(s.egress)).toEqual([443]);
    expect(ports(s.split)).toEqual([443, 8443, 9443]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unsuppressed error (nor warning) in any variant', () => {
    for (const synth of all()) {
      expect(nagErrors(synth.stack)).toEqual([]);
      expect(nagWarnings(synth.stack)).toEqual([]);
    }
    // Five variants of annotations on a shared 2-core machine: the default 30 s is not always enough.
  }, 120_000);

  it('every suppression carries a written reason', () => {
    let count = 0;
    for (const synth of all()) {
      for (const [id, r] of Object.entries(resources(synth.json))) {
        const rules = (r.Metadata as { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } })
          ?.cdk_nag?.rules_to_suppress;
        for (const rule of rules ?? []) {
          count++;
          expect(rule.reason.length, `${id} ${rule.id}`).toBeGreaterThanOrEqual(60);
          expect(rule.reason, `${id} ${rule.id}`).toMatch(/\s/);
        }
      }
    }
    expect(count).toBeGreaterThan(0);
  });

  it('no account id or region is hard-coded', () => {
    for (const synth of all()) {
      const text = JSON.stringify(synth.json);
      expect(text).not.toMatch(/arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:/);
      expect(text).not.toMatch(/"(us|eu|ap|cn|sa|ca|me|af)-[a-z]+-[0-9]"/);
    }
  });
});

describe('spending controls', () => {
  /** The routes a managed policy allows, as `METHOD /path` read off the execute-api ARNs. */
  function routesOf(synth: Synthesized, policyId: string): string[] {
    const policy = resources(synth.json)[policyId];
    expect(policy?.Type).toBe('AWS::IAM::ManagedPolicy');
    return statementsIn(policy?.Properties?.PolicyDocument).flatMap((st) => {
      expect(st.Effect).toBe('Allow');
      expect(actionsOf(st)).toEqual(['execute-api:Invoke']);
      const arns = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      return arns.map((arn) => {
        const text = JSON.stringify(arn);
        const match = /\/v1\/(GET|POST|PUT)(\/[^"]*)"/.exec(text);
        if (!match) throw new Error(`not a stage route ARN: ${text}`);
        return `${match[1]} ${match[2]}`;
      });
    });
  }
  const id = (synth: Synthesized, construct: { node: { defaultChild?: unknown } }) =>
    synth.stack.getLogicalId(construct.node.defaultChild as never);

  it('submitters create and read; approvers approve, deny, void and read; neither gets the other’s routes', () => {
    const policies = ofType(s.dev.json, 'AWS::IAM::ManagedPolicy').map(([logicalId]) => logicalId);
    const submitters = policies.find((p) => p.includes('Submitters'));
    const approvers = policies.find((p) => p.includes('Approvers'));
    if (!submitters || !approvers) throw new Error('managed policies missing');

    expect(routesOf(s.dev, submitters).sort()).toEqual([
      'GET /balance',
      'GET /batches/*',
      'GET /exceptions',
      'GET /payouts',
      'GET /payouts/*',
      'POST /payouts',
      'POST /payouts/*/anomalies/ack',
      'PUT /batches/*',
    ]);
    expect(routesOf(s.dev, approvers).sort()).toEqual([
      'GET /balance',
      'GET /batches/*',
      'GET /exceptions',
      'GET /payouts',
      'GET /payouts/*',
      'POST /batches/*/approve',
      'POST /batches/*/deny',
      'POST /batches/*/void',
      'POST /payouts/*/approve',
      'POST /payouts/*/deny',
      'POST /payouts/*/void',
    ]);
    // Attached to nobody by the stack: the operator decides who holds which (docs/controls.md).
    for (const p of [submitters, approvers]) {
      const props = resources(s.dev.json)[p]?.Properties ?? {};
      expect(props.Roles ?? props.Users ?? props.Groups).toBeUndefined();
    }
    expect(Object.keys(s.dev.json.Outputs as object)).toEqual(
      expect.arrayContaining(['SubmittersPolicyArn', 'ApproversPolicyArn']),
    );
  });

  it('the table expires counters by TTL and has the sparse awaiting-approval index', () => {
    s.dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: PAYOUTS_TABLE.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: PAYOUTS_TABLE.awaitingIndex.name,
          KeySchema: [
            { AttributeName: PAYOUTS_TABLE.awaitingIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: PAYOUTS_TABLE.awaitingIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        }),
      ]),
    });
  });

  it('no policy set: no controls in any environment and no payee key', () => {
    for (const name of FUNCTION_KEYS) {
      const vars = lambda(s.dev, name).Environment.Variables;
      for (const v of [ENV.approvalMinAmount, ENV.dailyLimitAmount, ENV.payeeHmacKmsKeyId]) {
        expect(vars[v], `${name} ${v}`).toBeUndefined();
      }
    }
    expect(s.dev.stack.keys.payeeKey).toBeUndefined();
  });

  it('a policy reaches every payout function; the payee HMAC key is usable (GenerateMac) only by apply and review', () => {
    const payeeKey = s.controls.stack.keys.payeeKey;
    if (!payeeKey) throw new Error('payee key missing');
    s.controls.template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
    });
    const keyId = id(s.controls, payeeKey);
    for (const name of ['apply', 'query', 'review', 'notify', 'reconcile'] as const) {
      const vars = lambda(s.controls, name).Environment.Variables;
      expect(vars[ENV.approvalMinAmount], name).toBe('5000');
      expect(vars[ENV.dailyLimitAmount], name).toBe('100000.00');
      expect(vars[ENV.payeeDailyLimitCount], name).toBe('3');
      expect(JSON.stringify(vars[ENV.payeeHmacKmsKeyId]), name).toContain(keyId);
      const onKey = statementsOfFunction(s.controls, name).filter((st) =>
        JSON.stringify(st.Resource).includes(keyId),
      );
      if (name === 'apply' || name === 'review') {
        expect(onKey.flatMap(actionsOf), name).toEqual(['kms:GenerateMac']);
      } else {
        expect(onKey, name).toEqual([]);
      }
    }
    expect(lambda(s.controls, 'publish').Environment.Variables[ENV.approvalMinAmount]).toBeUndefined();
  });
});

describe('batches (issue 11)', () => {
  it('the batches function: batch-store actions only, the by-batch index, field key to seal, no merchant key', () => {
    const statements = statementsOfFunction(s.dev, 'batches');
    const actions = statements.flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:DeleteItem']),
    );
    expect(actions.some((a) => a.startsWith('ssm:'))).toBe(false);
    expect(actions).not.toContain('dynamodb:Scan');
    const query = statements.find((st) => actionsOf(st).includes('dynamodb:Query'));
    expect(JSON.stringify(query?.Resource)).toContain(`/index/${PAYOUTS_TABLE.batchIndex.name}`);
  });
});

// Batch dispatch (issue 11): SQS FIFO + DLQ + alarm, the worker and its grants, on the dev synth above.
const dispatchId = (element: unknown) => s.dev.stack.getLogicalId(element as CfnElement);
const queueId = () => dispatchId(s.dev.stack.dispatch.queue.node.defaultChild);
const dlqId = () => dispatchId(s.dev.stack.dispatch.deadLetterQueue.node.defaultChild);
const keyId = () => dispatchId(s.dev.stack.dispatch.key.node.defaultChild);
const workerId = () => dispatchId(s.dev.stack.functions.dispatch.function.node.defaultChild);

function statementsOfDispatch(fnId: string) {
  const role = roleOfFunction(s.dev.json, fnId);
  return identityStatements(s.dev.json)
    .filter((e) => e.roles.includes(role))
    .map((e) => e.statement);
}

describe('batch dispatch on AWS (issue 11)', () => {
  it('an SQS FIFO queue encrypted with its own rotated key, SSL only, with a FIFO DLQ after 5 receives', () => {
    const queue = resources(s.dev.json)[queueId()]!.Properties!;
    expect(queue).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] },
      VisibilityTimeout: 900,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(), 'Arn'] },
        maxReceiveCount: DISPATCH_MAX_RECEIVES,
      },
    });
    expect(resources(s.dev.json)[dlqId()]!.Properties).toMatchObject({
      FifoQueue: true,
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] },
    });
    expect(resources(s.dev.json)[keyId()]!.Properties).toMatchObject({ EnableKeyRotation: true });
    const policies = ofType(s.dev.json, 'AWS::SQS::QueuePolicy').map(([, r]) => JSON.stringify(r.Properties));
    expect(policies.filter((p) => p.includes('aws:SecureTransport') && p.includes(queueId()))).toHaveLength(
      1,
    );
  });

  it('the worker consumes it one message at a time, reporting failures per message', () => {
    const mappings = ofType(s.dev.json, 'AWS::Lambda::EventSourceMapping').filter(([, r]) =>
      JSON.stringify(r.Properties?.EventSourceArn).includes(queueId()),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toMatchObject({
      FunctionName: { Ref: workerId() },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const env = (
      resources(s.dev.json)[workerId()]!.Properties!.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(env).toMatchObject({
      [ENV.providerRatePerSecond]: '60',
      [ENV.dispatchRatePerSecond]: '50',
      [ENV.reconcileRatePerSecond]: '10',
      [ENV.dispatchQueueUrl]: { Ref: queueId() },
    });
    expect(resources(s.dev.json)[workerId()]!.Properties!.Timeout).toBe(300);
  });

  it('least privilege: the worker claims (UpdateItem + ConditionCheckItem) and reads the by-batch index, nothing wider', () => {
    const statements = statementsOfDispatch(workerId());
    const actions = statements.flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']),
    );
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions.some((a) => a === '*' || a === 'dynamodb:*' || a === 'sqs:*')).toBe(false);
    const query = statements.find((st) => actionsOf(st).includes('dynamodb:Query'));
    expect(JSON.stringify(query?.Resource)).toContain(`/index/${PAYOUTS_TABLE.batchIndex.name}`);
  });

  it("the publisher sends reconciliation's re-triggers to the queue and is told its URL; reconcile and the API functions are not", () => {
    const reconcileId = dispatchId(s.dev.stack.functions.reconcile.function.node.defaultChild);
    const publishId = dispatchId(s.dev.stack.functions.publish.function.node.defaultChild);
    const sends = (fnId: string) => statementsOfDispatch(fnId).flatMap(actionsOf).includes('sqs:SendMessage');
    // Reconciliation writes a dispatch request on the batch record; the stream's publisher sends it.
    expect(sends(publishId)).toBe(true);
    expect(sends(reconcileId)).toBe(false);
    expect(sends(workerId())).toBe(true);
    expect(sends(dispatchId(s.dev.stack.functions.apply.function.node.defaultChild))).toBe(false);
    const variables = (id: string) =>
      (resources(s.dev.json)[id]!.Properties!.Environment as { Variables: Record<string, unknown> })
        .Variables;
    expect(variables(publishId)[ENV.dispatchQueueUrl]).toEqual({ Ref: queueId() });
    expect(variables(reconcileId)[ENV.dispatchQueueUrl]).toBeUndefined();
    // Its batch looks read a batch's items (completion) through the by-batch index.
    const queries = statementsOfDispatch(reconcileId).filter((st) =>
      actionsOf(st).includes('dynamodb:Query'),
    );
    expect(JSON.stringify(queries.map((q) => q.Resource))).toContain(
      `/index/${PAYOUTS_TABLE.batchIndex.name}`,
    );
  });

  it('the DLQ alarms, and cdk-nag has nothing to say', () => {
    const alarms = ofType(s.dev.json, 'AWS::CloudWatch::Alarm').filter(([, r]) =>
      JSON.stringify(r.Properties?.Dimensions ?? r.Properties?.Metrics).includes(dlqId()),
    );
    expect(alarms.length).toBeGreaterThanOrEqual(1);
    expect(nagErrors(s.dev.stack)).toEqual([]);
    expect(nagWarnings(s.dev.stack)).toEqual([]);
  });
});

describe('exports (issue 12): GET /payouts/export.csv on a function of its own', () => {
  const exportId = (synth: Synthesized) =>
    synth.stack.getLogicalId(synth.stack.exporter.fn.function.node.defaultChild as CfnElement);
  const exportStatements = (synth: Synthesized) => {
    const role = roleOfFunction(synth.json, exportId(synth));
    return identityStatements(synth.json)
      .filter((p) => p.roles.includes(role))
      .map((p) => p.statement);
  };
  const logicalId = (synth: Synthesized, construct: { node: { defaultChild?: unknown } }) =>
    synth.stack.getLogicalId(construct.node.defaultChild as CfnElement);

  it('the route goes to the export function, IAM-authorized, and no longer to the query function', () => {
    const res = resources(s.dev.json);
    const [[resourceId] = []] = Object.entries(res).filter(
      ([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties?.PathPart === 'export.csv',
    );
    if (!resourceId) throw new Error('no export.csv resource');
    const methods = ofType(s.dev.json, 'AWS::ApiGateway::Method').filter(
      ([, m]) => (m.Properties?.ResourceId as { Ref?: string } | undefined)?.Ref === resourceId,
    );
    expect(methods).toHaveLength(1);
    const [, method] = methods[0]!;
    expect(method.Properties?.HttpMethod).toBe('GET');
    expect(method.Properties?.AuthorizationType).toBe('AWS_IAM');
    const uri = JSON.stringify((method.Properties?.Integration as { Uri?: unknown } | undefined)?.Uri);
    expect(uri).toContain(`"${exportId(s.dev)}"`);
    expect(uri).not.toContain(`"${functionId(s.dev, 'query')}"`);
    // API Gateway may invoke it for exactly that route.
    const permissions = ofType(s.dev.json, 'AWS::Lambda::Permission').filter(([, p]) =>
      JSON.stringify(p.Properties?.FunctionName).includes(exportId(s.dev)),
    );
    expect(permissions.map(([, p]) => JSON.stringify(p.Properties?.SourceArn)).join()).toContain(
      '/GET/payouts/export.csv',
    );
  });

  it('the read policies (submitters, approvers, console readers) cover it through GET /payouts/*', () => {
    const readPolicies = ofType(s.dev.json, 'AWS::IAM::ManagedPolicy').filter(([id]) =>
      /Submitters|Approvers|Readers/.test(id),
    );
    expect(readPolicies).toHaveLength(3);
    for (const [id, policy] of readPolicies) {
      expect(JSON.stringify(policy.Properties?.PolicyDocument), id).toContain('/v1/GET/payouts/*');
    }
  });

  it('S3: PutObject and GetObject on exports/* of the reports bucket only; the query function has no S3', () => {
    for (const synth of [s.dev, s.prod]) {
      const bucket = logicalId(synth, synth.stack.reports.bucket);
      const s3 = exportStatements(synth).filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
      expect(s3).toHaveLength(1);
      expect(s3[0]).toEqual({
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/exports/*']] },
      });
      const queryS3 = statementsOfFunction(synth, 'query').filter((st) =>
        actionsOf(st).some((a) => a.startsWith('s3:')),
      );
      expect(queryS3).toEqual([]);
    }
  });

  it('KMS: the reports key through S3 only (encrypt a put, decrypt a presigned GET), the table key through DynamoDB; no other key', () => {
    for (const synth of [s.dev, s.prod]) {
      const reportsKey = logicalId(synth, synth.stack.reports.key);
      const tableKey = logicalId(synth, synth.stack.storage.key);
      const kms = exportStatements(synth).filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
      expect(kms).toHaveLength(2);
      expect(kms).toContainEqual({
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: { 'Fn::GetAtt': [reportsKey, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      });
      expect(kms).toContainEqual({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:DescribeKey'],
        Resource: { 'Fn::GetAtt': [tableKey, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      });
      // Never signs, never opens a payee seal: no SSM, no merchant or field key.
      const all = exportStatements(synth).flatMap(actionsOf);
      expect(all.filter((a) => a.startsWith('ssm:'))).toEqual([]);
      const keys = JSON.stringify(exportStatements(synth).map((st) => st.Resource));
      expect(keys).not.toContain(logicalId(synth, synth.stack.keys.merchantKey));
      expect(keys).not.toContain(logicalId(synth, synth.stack.keys.fieldKey));
    }
  });

  it('DynamoDB: Query on the three indexes a search reads and BatchGetItem on the table, nothing else', () => {
    const dynamo = exportStatements(s.dev)
      .flatMap((st) => actionsOf(st).map((a) => ({ action: a, resource: JSON.stringify(st.Resource) })))
      .filter((x) => x.action.startsWith('dynamodb:'));
    expect(dynamo.map((x) => x.action).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query']);
    const indexes = dynamo.find((x) => x.action === 'dynamodb:Query')?.resource ?? '';
    for (const index of [PAYOUTS_TABLE.byDayIndex, PAYOUTS_TABLE.batchIndex, PAYOUTS_TABLE.awaitingIndex]) {
      expect(indexes).toContain(`/index/${index.name}`);
    }
    expect(indexes).not.toContain('/index/*');
  });

  it('its environment names the table and the reports bucket and key, 29 s and 1024 MB', () => {
    const fn = resources(s.dev.json)[exportId(s.dev)]?.Properties as {
      Timeout: number;
      MemorySize: number;
      Environment: { Variables: Record<string, unknown> };
    };
    expect(fn.Timeout).toBe(29);
    expect(fn.MemorySize).toBe(1024);
    expect(Object.keys(fn.Environment.Variables)).toEqual(
      expect.arrayContaining([ENV.tableName, ENV.reportsBucket, ENV.reportsKmsKeyId]),
    );
    expect(fn.Environment.Variables[ENV.keySource]).toBeUndefined();
    expect(fn.Environment.Variables[ENV.merchantKeyParam]).toBeUndefined();
  });
});
