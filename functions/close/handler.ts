import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoCloseReader } from '../../src/adapters/dynamodb/close-reader';
import { EventBridgePublisher } from '../../src/adapters/eventbridge/publisher';
import { S3ReportStore } from '../../src/adapters/s3/report-store';
import { type CloseSchedulePayload, ENV } from '../../src/config/contract';
import { ConfigError } from '../../src/config/env';
import {
  type CloseDeps,
  type CloseResult,
  closeDay,
  closeKeys,
  parseCloseDate,
  type VersionedReportStore,
  yesterday,
} from '../../src/core/close';
import { NotFoundError } from '../../src/core/errors';
import type { PayoutEventSink } from '../../src/core/events';
import { type Clock, systemClock } from '../../src/core/ports';
import { json } from '../shared/http';
import { type ApiHandler, httpHandler, type LambdaHandler, lambdaHandler } from '../shared/lambda';
import { asLog, createLogger, createMetrics } from '../shared/observability';

/**
 * The daily close function: run by a daily schedule for yesterday's China day (or the payload's `date`),
 * and `GET /close/{date}` through API Gateway, which answers the statement last written for that day.
 * One function for both: they need the same reader, store and permissions-to-read; only the schedule
 * writes and publishes.
 */

export interface CloseRuntime {
  readonly deps: CloseDeps;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

export interface CloseRuntimeOverrides {
  readonly dynamo?: DynamoDBClient;
  readonly reports?: VersionedReportStore;
  readonly events?: PayoutEventSink;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly s3?: S3Client;
  readonly eventBridge?: EventBridgeClient;
}

/** Built once per container from the environment; only what the close needs, no merchant keys. */
export function buildCloseRuntime(
  env: Record<string, string | undefined>,
  overrides: CloseRuntimeOverrides = {},
): CloseRuntime {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new ConfigError(`invalid configuration: ${name} is required`);
    return value;
  };
  const tableName = required(ENV.tableName);
  const logger = overrides.logger ?? createLogger();
  const powertools = overrides.logger ? undefined : createMetrics();
  const endpoint = env[ENV.dynamoEndpoint];
  const dynamo = overrides.dynamo ?? new DynamoDBClient(endpoint ? { endpoint } : {});
  const reports =
    overrides.reports ??
    new S3ReportStore({
      client: overrides.s3 ?? new S3Client({}),
      bucket: required(ENV.reportsBucket),
      ...(env[ENV.reportsKmsKeyId] ? { kmsKeyId: env[ENV.reportsKmsKeyId] } : {}),
    });
  const log = asLog(logger);
  const events =
    overrides.events ??
    new EventBridgePublisher({
      client: overrides.eventBridge ?? new EventBridgeClient({}),
      eventBusName: required(ENV.eventBusName),
      log,
    });
  return {
    deps: {
      reader: new DynamoCloseReader({ client: dynamo, tableName }),
      reports,
      events,
      clock: overrides.clock ?? systemClock,
      log,
    },
    logger,
    metrics: powertools?.metrics,
  };
}

export class CloseSchedulePayloadError extends Error {
  override readonly name = 'CloseSchedulePayloadError';
}

/** The schedule's payload, checked: a misconfigured schedule fails loudly rather than closing a made-up day. */
export function parseCloseSchedulePayload(event: unknown): CloseSchedulePayload {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new CloseSchedulePayloadError('the schedule payload must be an object');
  }
  const { kind, date } = event as Record<string, unknown>;
  if (kind !== 'close') throw new CloseSchedulePayloadError('the schedule payload kind must be "close"');
  return date === undefined ? { kind } : { kind, date: parseCloseDate(date) };
}

/** GET /close/{date}: the statement last written for the day (404 before it is closed). */
export async function readClose(deps: CloseDeps, date: unknown): Promise<Record<string, unknown>> {
  const day = parseCloseDate(date);
  const current = await deps.reports.current(closeKeys(day).json);
  if (!current) throw new NotFoundError(`${day} has not been closed yet`);
  return { ...(JSON.parse(current.body) as Record<string, unknown>), version: current.version };
}

export type CloseEvent = CloseSchedulePayload | APIGatewayProxyEvent;
export type CloseHandler = LambdaHandler<CloseEvent, CloseResult['versions'] | APIGatewayProxyResult>;

function isApiEvent(event: unknown): event is APIGatewayProxyEvent {
  return typeof event === 'object' && event !== null && 'httpMethod' in event;
}

/** GET /close/{date} alone (the local front routes it; the deployed function dispatches to it). */
export function closeApiHandler(rt: () => CloseRuntime): ApiHandler {
  const runtime = rt();
  return httpHandler(runtime, async (event) =>
    json(200, await readClose(runtime.deps, event.pathParameters?.date)),
  );
}

export function closeHandler(rt: () => CloseRuntime): CloseHandler {
  const runtime = rt();
  const api = closeApiHandler(() => runtime);
  // No error mapping for the schedule: a failed close throws, Lambda counts an error (and retries).
  const scheduled = lambdaHandler<CloseSchedulePayload, CloseResult['versions']>(runtime, async (event) => {
    const payload = parseCloseSchedulePayload(event);
    const day = payload.date ?? yesterday(runtime.deps.clock.now());
    const result = await closeDay(runtime.deps, day);
    return result.versions;
  });
  return (event: CloseEvent, context: Context) =>
    isApiEvent(event) ? api(event, context) : scheduled(event, context);
}
