import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  buildCloseRuntime,
  CloseSchedulePayloadError,
  closeHandler,
  parseCloseSchedulePayload,
} from '../../../functions/close/handler';
import type { PayoutEvent } from '../../../src/core/events';
import { DAY, MemoryCloseReader, MemoryReportStore, seedCloseScenario } from '../../support/close-fixtures';
import { MemoryOrderStore } from '../../support/memory-order-store';

const context = {
  functionName: 'close',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

function apiEvent(date: string | undefined): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET',
    resource: '/close/{date}',
    path: `/close/${date ?? ''}`,
    pathParameters: date === undefined ? null : { date },
    body: null,
    headers: {},
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
}

async function setup() {
  const store = new MemoryOrderStore();
  await seedCloseScenario(store);
  const reports = new MemoryReportStore();
  const published: PayoutEvent[] = [];
  const runtime = buildCloseRuntime(
    { TABLE_NAME: 'payouts' },
    {
      reports,
      events: {
        publish: async (events) => {
          published.push(...events);
          return { failed: [] };
        },
      },
      clock: { now: () => new Date('2026-11-27T16:30:00.000Z') },
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    },
  );
  // The DynamoDB reader is replaced by the memory one: this test is about the handler.
  const rt = { ...runtime, deps: { ...runtime.deps, reader: new MemoryCloseReader(store) } };
  return { handler: closeHandler(() => rt), reports, published };
}

describe('the close function', () => {
  it('closes yesterday (China time) on the schedule, then GET /close/{date} answers it', async () => {
    const { handler, reports, published } = await setup();
    const before = await handler(apiEvent(DAY), context);
    expect(before).toMatchObject({ statusCode: 404 });
    expect(JSON.parse((before as { body: string }).body)).toEqual({
      error: { code: 'not_found', message: `${DAY} has not been closed yet` },
    });

    await expect(handler({ kind: 'close' }, context)).resolves.toEqual({ json: '1', csv: '1' });
    expect(await reports.get(`close/${DAY}.json`)).toBeDefined();
    expect(published.map((e) => e.detailType)).toEqual(['Day Closed']);

    const after = (await handler(apiEvent(DAY), context)) as { statusCode: number; body: string };
    expect(after.statusCode).toBe(200);
    const body = JSON.parse(after.body);
    expect(body).toMatchObject({ date: DAY, version: '1', created: { count: 4 }, returns: { count: 1 } });
    expect(body.generated_at).toBe('2026-11-27T16:30:00.000Z');
  });

  it('answers 400 naming date when it is not yyyy-mm-dd', async () => {
    const { handler } = await setup();
    for (const date of ['2026-1-01', 'yesterday', '2026-02-30', undefined]) {
      const out = (await handler(apiEvent(date), context)) as { statusCode: number; body: string };
      expect(out.statusCode).toBe(400);
      expect(JSON.parse(out.body).error).toMatchObject({
        code: 'invalid_request',
        fields: [{ field: 'date', message: expect.any(String) }],
      });
    }
  });

  it('closes the payload date when the schedule names one, and fails loudly on a bad payload', async () => {
    const { handler, reports } = await setup();
    await handler({ kind: 'close', date: '2026-11-26' }, context);
    expect(await reports.get('close/2026-11-26.json')).toBeDefined();
    await expect(handler({ kind: 'reconcile' } as never, context)).rejects.toThrow(CloseSchedulePayloadError);
    expect(() => parseCloseSchedulePayload({ kind: 'close', date: '26.11.2026' })).toThrow(/date/);
  });

  it('needs its table, bucket and bus named in the environment', () => {
    expect(() => buildCloseRuntime({})).toThrow(/TABLE_NAME/);
    expect(() => buildCloseRuntime({ TABLE_NAME: 't', EVENT_BUS_NAME: 'b' })).toThrow(/REPORTS_BUCKET/);
    expect(() => buildCloseRuntime({ TABLE_NAME: 't', REPORTS_BUCKET: 'r' })).toThrow(/EVENT_BUS_NAME/);
  });
});
