import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { json } from '../../../functions/shared/http';
import { httpHandler, lambdaHandler } from '../../../functions/shared/lambda';
import { DependencyError } from '../../../src/core/errors';

/** The one middy chain: metrics flushed whatever happens, errors mapped only where an HTTP answer applies. */

const context = {
  functionName: 'test',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 1_000,
} as unknown as Context;
const event = { body: null } as APIGatewayProxyEvent;

/** Records flushes; stands in for Powertools Metrics, of which the chain uses these two methods. */
function recordingMetrics() {
  const state = { stored: true, flushes: 0 };
  const metrics = {
    hasStoredMetrics: () => state.stored,
    publishStoredMetrics: () => {
      state.flushes += 1;
      state.stored = false;
    },
  } as unknown as Metrics;
  return { metrics, state };
}

const logger = () => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

describe('lambdaHandler (event functions)', () => {
  it('returns the result and flushes the metrics', async () => {
    const { metrics, state } = recordingMetrics();
    const handler = lambdaHandler({ logger: logger(), metrics }, async (e: { n: number }) => e.n + 1);
    await expect(handler({ n: 1 }, context)).resolves.toBe(2);
    expect(state.flushes).toBe(1);
  });

  it('rethrows a failure, so Lambda retries, after flushing the metrics', async () => {
    const { metrics, state } = recordingMetrics();
    const failure = new DependencyError('DynamoDB listDue failed: ThrottlingException');
    const handler = lambdaHandler({ logger: logger(), metrics }, async () => {
      throw failure;
    });
    await expect(handler({}, context)).rejects.toBe(failure);
    expect(state.flushes).toBe(1);
  });

  it('stays silent when nothing was counted', async () => {
    const { metrics, state } = recordingMetrics();
    state.stored = false;
    await lambdaHandler({ logger: logger(), metrics }, async () => 'ok')({}, context);
    expect(state.flushes).toBe(0);
  });
});

describe('httpHandler', () => {
  it('answers the handler result', async () => {
    const handler = httpHandler({ logger: logger() }, async () => json(202, { ok: true }));
    await expect(handler(event, context)).resolves.toMatchObject({ statusCode: 202, body: '{"ok":true}' });
  });

  it('maps a failure to an HTTP answer and still flushes the metrics', async () => {
    const { metrics, state } = recordingMetrics();
    const handler = httpHandler({ logger: logger(), metrics }, async () => {
      throw new DependencyError('KMS GenerateDataKey of a field data key failed: ThrottlingException');
    });
    const result = await handler(event, context);
    expect(result.statusCode).toBe(503);
    expect(result.body).not.toContain('KMS');
    expect(state.flushes).toBe(1);
  });
});
