import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { DISPATCH_MAX_RECEIVES } from '../../infra/constructs/dispatch';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { ENV } from '../../src/config/contract';
import {
  actionsOf,
  identityStatements,
  nagErrors,
  nagWarnings,
  ofType,
  resources,
  roleOfFunction,
  type Synthesized,
  synthesizeAll,
  testConfig,
} from './support';

/** The batch dispatch resources (issue 11): SQS FIFO + DLQ + alarm, the worker and its grants. */

let s: Synthesized;

beforeAll(() => {
  s = synthesizeAll({ dev: testConfig('dev') }).dev;
});

const id = (element: unknown) => s.stack.getLogicalId(element as CfnElement);
const queueId = () => id(s.stack.dispatch.queue.node.defaultChild);
const dlqId = () => id(s.stack.dispatch.deadLetterQueue.node.defaultChild);
const keyId = () => id(s.stack.dispatch.key.node.defaultChild);
const workerId = () => id(s.stack.functions.dispatch.function.node.defaultChild);

function statementsOfFunction(fnId: string) {
  const role = roleOfFunction(s.json, fnId);
  return identityStatements(s.json)
    .filter((e) => e.roles.includes(role))
    .map((e) => e.statement);
}

describe('batch dispatch on AWS', () => {
  it('an SQS FIFO queue encrypted with its own rotated key, SSL only, with a FIFO DLQ after 5 receives', () => {
    const queue = resources(s.json)[queueId()]!.Properties!;
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
    expect(resources(s.json)[dlqId()]!.Properties).toMatchObject({
      FifoQueue: true,
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] },
    });
    expect(resources(s.json)[keyId()]!.Properties).toMatchObject({ EnableKeyRotation: true });
    const policies = ofType(s.json, 'AWS::SQS::QueuePolicy').map(([, r]) => JSON.stringify(r.Properties));
    expect(policies.filter((p) => p.includes('aws:SecureTransport') && p.includes(queueId()))).toHaveLength(
      1,
    );
  });

  it('the worker consumes it one message at a time, reporting failures per message', () => {
    const mappings = ofType(s.json, 'AWS::Lambda::EventSourceMapping').filter(([, r]) =>
      JSON.stringify(r.Properties?.EventSourceArn).includes(queueId()),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toMatchObject({
      FunctionName: { Ref: workerId() },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const env = (
      resources(s.json)[workerId()]!.Properties!.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(env).toMatchObject({
      [ENV.providerRatePerSecond]: '60',
      [ENV.dispatchRatePerSecond]: '50',
      [ENV.reconcileRatePerSecond]: '10',
      [ENV.dispatchQueueUrl]: { Ref: queueId() },
    });
    expect(resources(s.json)[workerId()]!.Properties!.Timeout).toBe(300);
  });

  it('least privilege: the worker claims (UpdateItem + ConditionCheckItem) and reads the by-batch index, nothing wider', () => {
    const statements = statementsOfFunction(workerId());
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

  it('reconciliation may send to the queue (re-trigger) and is told its URL; the API functions are not', () => {
    const reconcileId = id(s.stack.functions.reconcile.function.node.defaultChild);
    const sends = (fnId: string) => statementsOfFunction(fnId).flatMap(actionsOf).includes('sqs:SendMessage');
    expect(sends(reconcileId)).toBe(true);
    expect(sends(workerId())).toBe(true);
    expect(sends(id(s.stack.functions.apply.function.node.defaultChild))).toBe(false);
    const env = (
      resources(s.json)[reconcileId]!.Properties!.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(env[ENV.dispatchQueueUrl]).toEqual({ Ref: queueId() });
  });

  it('the DLQ alarms, and cdk-nag has nothing to say', () => {
    const alarms = ofType(s.json, 'AWS::CloudWatch::Alarm').filter(([, r]) =>
      JSON.stringify(r.Properties?.Dimensions ?? r.Properties?.Metrics).includes(dlqId()),
    );
    expect(alarms.length).toBeGreaterThanOrEqual(1);
    expect(nagErrors(s.stack)).toEqual([]);
    expect(nagWarnings(s.stack)).toEqual([]);
  });
});
