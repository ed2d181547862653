import 'aws-sdk-client-mock-vitest/extend';
import {
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GenerateDataKeyCommand, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { GetParameterCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEvent, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyHandler } from '../../../functions/apply/handler';
import { notifyHandler } from '../../../functions/notify/handler';
import { buildPublishRuntime, publishHandler } from '../../../functions/publish/handler';
import { queryHandler } from '../../../functions/query/handler';
import { reconcileHandler } from '../../../functions/reconcile/handler';
import { RETRY_AFTER_SECONDS } from '../../../functions/shared/http';
import { parameterStoreKeys } from '../../../functions/shared/merchant-key-loader';
import { createLogger, MemoryMetrics } from '../../../functions/shared/observability';
import { buildRuntime, type RuntimeOverrides } from '../../../functions/shared/runtime';
import { EnvelopeFieldCipher, KmsDataKeySource } from '../../../src/adapters/crypto/field-cipher';
import { FIELD_KEY_CONTEXT, METRICS } from '../../../src/config/contract';
import { DependencyError } from '../../../src/core/errors';
import type { OrderStore } from '../../../src/core/ports';
import { signFields } from '../../../src/lianlian/sign';
import { FakeProvider, TEST_OID_PARTNER } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder, testNoOrder } from '../../support/order-fixtures';

/**
 * Every function, when a dependency fails and when something unexpected fails. HTTP functions answer a
 * retryable 503 with Retry-After for the first and a generic 500 for the second, leaking nothing; notify
 * answers in the provider's format; reconcile and publish hand the failure to Lambda so it retries. No
 * answer and no log line carries payee data.
 */

const CARD = '6222020000000000123';
const NAME = '测试收款人';
const MD5_KEY = 'md5-test-key';
const FIELD_KEY_ID = 'arn:aws:kms:ap-east-1:111122223333:key/field-test';

const ENV = {
  KEY_SOURCE: 'env',
  TABLE_NAME: 'payouts',
  LLP_API_BASE: 'http://127.0.0.1:9',
  LLP_OID_PARTNER: TEST_OID_PARTNER,
  LLP_SIGN_TYPE: 'MD5',
  LLP_MD5_KEY: MD5_KEY,
  LOCAL_FIELD_KEY: Buffer.alloc(32, 1).toString('base64'),
  NOTIFY_URL: 'http://127.0.0.1:3000/lianlian/notify',
  LLP_TIMEOUT_MS: '2000',
};

const throttled = () =>
  new ProvisionedThroughputExceededException({
    $metadata: { httpStatusCode: 400 },
    message: `Throughput exceeded for ${CARD}`,
  });

/** Whatever the functions log (Powertools writes info to stdout, warnings and errors to stderr). */
const logged: string[] = [];
let restore: (() => void) | undefined;
beforeEach(() => {
  logged.length = 0;
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = ((chunk: string | Uint8Array) => {
    logged.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  // Patched by hand: the config's restoreMocks would undo a spy before each test.
  process.stdout.write = capture;
  process.stderr.write = capture;
  restore = () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
});
afterEach(() => restore?.());

function logText(): string {
  return logged.join('');
}

function expectNoPayeeData(text: string): void {
  expect(text).not.toContain(CARD);
  expect(text).not.toContain(NAME);
}

const dynamo = new DynamoDBClient({
  region: 'ap-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const dynamoMock = mockClient(dynamo);
beforeEach(() => dynamoMock.reset());

function runtime(overrides: RuntimeOverrides = {}) {
  return () =>
    buildRuntime(ENV, {
      dynamo,
      provider: new FakeProvider(),
      metrics: new MemoryMetrics(),
      logger: createLogger('test'),
      ...overrides,
    });
}

/** A store whose every method fails with an unexpected error (a bug, not an outage). */
function brokenStore(): OrderStore {
  const boom = async (): Promise<never> => {
    throw new TypeError(`cannot read properties of undefined (card ${CARD}, ${NAME})`);
  };
  return { create: boom, get: boom, update: boom, listDue: boom, listAwaitingApproval: boom };
}

function apiEvent(partial: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET',
    path: '/',
    resource: '/',
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: {},
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    // The caller as API Gateway's IAM authorization names it (every merchant route requires one).
    requestContext: {
      identity: { userArn: 'arn:aws:iam::000000000000:user/maker' },
    } as APIGatewayProxyEvent['requestContext'],
    ...partial,
  };
}

const context = {
  functionName: 'test',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

function applyEvent(noOrder = testNoOrder('D')) {
  return apiEvent({
    httpMethod: 'POST',
    path: '/payouts',
    resource: '/payouts',
    body: JSON.stringify({
      no_order: noOrder,
      money_order: '10.00',
      card_no: CARD,
      acct_name: NAME,
      flag_card: '0',
      info_order: 'test payout',
    }),
  });
}

function queryEvent(noOrder: string) {
  return apiEvent({
    path: `/payouts/${noOrder}`,
    resource: '/payouts/{no_order}',
    pathParameters: { no_order: noOrder },
  });
}

function notifyEvent(noOrder: string) {
  const fields = signFields(
    {
      oid_partner: TEST_OID_PARTNER,
      no_order: noOrder,
      dt_order: '20261127120000',
      money_order: '10.00',
      oid_paybill: '2026112700000001',
      result_pay: 'SUCCESS',
      settle_date: '20261127',
      info_order: 'test payout',
    },
    { signType: 'MD5', md5Key: MD5_KEY },
  );
  return apiEvent({
    httpMethod: 'POST',
    path: '/lianlian/notify',
    resource: '/lianlian/notify',
    body: JSON.stringify(fields),
  });
}

function expect503(result: { statusCode: number; headers?: Record<string, unknown>; body: string }) {
  expect(result.statusCode).toBe(503);
  expect(result.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
  expect(JSON.parse(result.body)).toEqual({
    error: { code: 'dependency_unavailable', message: 'a dependency is unavailable; retry later' },
  });
}

function expect500(result: { statusCode: number; headers?: Record<string, unknown>; body: string }) {
  expect(result.statusCode).toBe(500);
  expect(result.headers?.['retry-after']).toBeUndefined();
  expect(JSON.parse(result.body)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
}

describe('apply', () => {
  it('answers 503 with Retry-After when DynamoDB throttles the create, and leaks nothing', async () => {
    dynamoMock.on(PutItemCommand).rejects(throttled());
    const provider = new FakeProvider();
    const result = await applyHandler(runtime({ provider }))(applyEvent(), context);
    expect503(result);
    expect(dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
    // Nothing recorded, so nothing may be sent.
    expect(provider.applies).toHaveLength(0);
    expect(logText()).toContain('ProvisionedThroughputExceededException');
    expectNoPayeeData(result.body + logText());
  });

  it('answers 503 when KMS cannot give a field data key; the order is not recorded', async () => {
    const kms = new KMSClient({
      region: 'ap-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    const kmsMock = mockClient(kms);
    kmsMock.on(GenerateDataKeyCommand).rejects(
      new KMSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    const store = new MemoryOrderStore();
    const provider = new FakeProvider();
    const cipher = new EnvelopeFieldCipher(new KmsDataKeySource({ kms, keyId: FIELD_KEY_ID }));
    const noOrder = testNoOrder('K');
    const result = await applyHandler(runtime({ store, provider, cipher }))(applyEvent(noOrder), context);
    expect503(result);
    expect(kmsMock).toHaveReceivedCommandExactlyOnceWith(GenerateDataKeyCommand, {
      KeyId: FIELD_KEY_ID,
      KeySpec: 'AES_256',
      EncryptionContext: { ...FIELD_KEY_CONTEXT },
    });
    expect(await store.get(noOrder)).toBeUndefined();
    expect(provider.applies).toHaveLength(0);
    expectNoPayeeData(result.body + logText());
  });

  it('answers a generic 500 for an unexpected error, and leaks nothing', async () => {
    const result = await applyHandler(runtime({ store: brokenStore() }))(applyEvent(), context);
    expect500(result);
    expect(logText()).toContain('TypeError');
    expectNoPayeeData(result.body + logText());
  });
});

describe('query', () => {
  it('answers 503 with Retry-After when DynamoDB throttles the read', async () => {
    dynamoMock.on(GetItemCommand).rejects(throttled());
    const result = await queryHandler(runtime())(queryEvent(testNoOrder('Q')), context);
    expect503(result);
    expect(dynamoMock).toHaveReceivedCommandTimes(GetItemCommand, 1);
    expectNoPayeeData(result.body + logText());
  });

  it('answers 503 when DynamoDB is unreachable', async () => {
    dynamoMock
      .on(GetItemCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect503(await queryHandler(runtime())(queryEvent(testNoOrder('Q')), context));
  });

  it('answers a generic 500 for an unexpected error', async () => {
    const result = await queryHandler(runtime({ store: brokenStore() }))(
      queryEvent(testNoOrder('Q')),
      context,
    );
    expect500(result);
    expectNoPayeeData(result.body + logText());
  });
});

describe('notify', () => {
  const BUSY = { ret_code: '9999', ret_msg: '系统繁忙' };

  it('answers 503 in the provider format, with Retry-After, when DynamoDB throttles', async () => {
    dynamoMock.on(GetItemCommand).rejects(throttled());
    const result = await notifyHandler(runtime())(notifyEvent(testNoOrder('N')), context);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(JSON.parse(result.body)).toEqual(BUSY);
    expectNoPayeeData(result.body + logText());
  });

  it('answers 500 in the provider format (not 0000: the provider retries) for an unexpected error', async () => {
    const result = await notifyHandler(runtime({ store: brokenStore() }))(
      notifyEvent(testNoOrder('N')),
      context,
    );
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual(BUSY);
    expect(logText()).toContain('TypeError');
    expectNoPayeeData(result.body + logText());
  });
});

describe('merchant keys from SSM (KEY_SOURCE=kms)', () => {
  const KMS_ENV = {
    ...ENV,
    KEY_SOURCE: 'kms',
    LOCAL_FIELD_KEY: undefined,
    LLP_MD5_KEY: undefined,
    LLP_MD5_KEY_PARAM: '/payouts/md5-key',
    MERCHANT_KEY_KMS_KEY_ID: 'arn:aws:kms:ap-east-1:111122223333:key/merchant-test',
    FIELD_KEY_KMS_KEY_ID: FIELD_KEY_ID,
  };
  const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
  const ssm = new SSMClient({ region: 'ap-east-1', credentials });
  const ssmMock = mockClient(ssm);
  beforeEach(() => {
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).rejects(
      new SSMServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
  });
  const kmsRuntime = () => () =>
    buildRuntime(KMS_ENV, {
      dynamo,
      kmsMerchantKeys: parameterStoreKeys(() => ssm),
      kms: new KMSClient({ region: 'ap-east-1', credentials }),
      provider: new FakeProvider(),
      metrics: new MemoryMetrics(),
      logger: createLogger('test'),
    });

  it('apply answers 503 when SSM throttles, before anything is recorded', async () => {
    const result = await applyHandler(kmsRuntime())(applyEvent(), context);
    expect503(result);
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: '/payouts/md5-key' });
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
    expectNoPayeeData(result.body + logText());
  });

  it('notify answers 503 in the provider format when SSM throttles loading the MD5 key', async () => {
    const result = await notifyHandler(kmsRuntime())(notifyEvent(testNoOrder('N')), context);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(JSON.parse(result.body)).toEqual({ ret_code: '9999', ret_msg: '系统繁忙' });
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: '/payouts/md5-key' });
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
  });
});

describe('reconcile', () => {
  it('throws the dependency error when DynamoDB throttles, so Lambda counts a failed run', async () => {
    dynamoMock.on(QueryCommand).rejects(throttled());
    const handler = reconcileHandler(runtime());
    await expect(handler({ kind: 'reconcile' }, context)).rejects.toBeInstanceOf(DependencyError);
    expectNoPayeeData(logText());
  });

  it('throws an unexpected error as it is', async () => {
    const handler = reconcileHandler(runtime({ store: brokenStore() }));
    await expect(handler({ kind: 'reconcile' }, context)).rejects.toBeInstanceOf(TypeError);
    expectNoPayeeData(logText());
  });
});

describe('publish', () => {
  const eventBridge = new EventBridgeClient({
    region: 'ap-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const ebMock = mockClient(eventBridge);
  beforeEach(() => ebMock.reset());

  function finalRecord(sequence: string): DynamoDBRecord {
    const before = makeOrder({ status: 'ACCEPTED', version: 2 });
    const after = { ...before, status: 'SUCCESS', version: 3 };
    return {
      eventID: `e-${sequence}`,
      eventName: 'MODIFY',
      dynamodb: {
        SequenceNumber: sequence,
        OldImage: marshall(before, { removeUndefinedValues: true }) as never,
        NewImage: marshall(after, { removeUndefinedValues: true }) as never,
      },
    };
  }

  function publisher() {
    const metrics = new MemoryMetrics();
    const handler = publishHandler(() =>
      buildPublishRuntime(
        { EVENT_BUS_NAME: 'payouts', DISPATCH_QUEUE_URL: 'https://sqs.example/dispatch.fifo' },
        { client: eventBridge, logger: createLogger('test'), metrics },
      ),
    );
    return { handler, metrics };
  }

  it('reports the batch from the first record when EventBridge throttles, so the stream retries it', async () => {
    ebMock.on(PutEventsCommand).rejects(new Error('ThrottlingException'));
    const event: DynamoDBStreamEvent = {
      Records: [finalRecord('400000000000000000001'), finalRecord('400000000000000000002')],
    };
    const { handler, metrics } = publisher();
    const result = await handler(event, context);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '400000000000000000001' }] });
    expect(metrics.get(METRICS.eventRecordsRetried)).toBe(2);
    // The sequence number survives the redactor: the failed record can be found.
    expect(logText()).toContain('400000000000000000001');
    expectNoPayeeData(logText());
  });

  it('throws when the failed record cannot be named, so Lambda retries the whole batch', async () => {
    ebMock.on(PutEventsCommand).rejects(new Error('ServiceUnavailable'));
    const record = finalRecord('1');
    delete record.dynamodb?.SequenceNumber;
    const { handler } = publisher();
    await expect(handler({ Records: [record] }, context)).rejects.toThrow(/sequence number/);
  });
});
