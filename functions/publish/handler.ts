import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { EventBridgePublisher } from '../../src/adapters/eventbridge/publisher';
import { publishStreamRecords } from '../../src/adapters/eventbridge/stream-publish';
import { SqsDispatchTrigger } from '../../src/adapters/sqs/dispatch-queue';
import { ENV, METRICS } from '../../src/config/contract';
import { ConfigError } from '../../src/config/env';
import type { DispatchTrigger } from '../../src/core/batch-model';
import type { PayoutEventSink } from '../../src/core/events';
import type { Log, MetricsPort } from '../../src/core/ports';
import { type LambdaHandler, lambdaHandler } from '../shared/lambda';
import { asLog, createLogger, createMetrics } from '../shared/observability';

/**
 * The table stream → payout events → EventBridge, and reconciliation's dispatch requests → the dispatch
 * queue (SQS). Delivery survives a crash between a state write and
 * its event because the stream, not the writer, drives publishing; a failed PutEvents entry reports its
 * record as a batch item failure, so Lambda retries from that record (ReportBatchItemFailures must be
 * enabled on the event source mapping) and nothing is lost. Retried records can publish an event again:
 * consumers deduplicate on detail.id.
 */

export interface PublishRuntime {
  readonly sink: PayoutEventSink;
  /** Where reconciliation's dispatch requests (a batch record's `dispatch_request`) go: the dispatch queue. */
  readonly trigger: DispatchTrigger;
  readonly logger: Logger;
  readonly log: Log;
  readonly metricsPort: MetricsPort;
  /** Powertools Metrics to flush per invocation. */
  readonly metrics?: Metrics;
}

/**
 * Built once per container. Only EVENT_BUS_NAME and DISPATCH_QUEUE_URL are needed: the publisher neither
 * signs nor reads the table, so it does not require (or get) the payout function's configuration and
 * keys. Both are required: without the queue, a dispatch request on the stream could only be dropped.
 */
export function buildPublishRuntime(
  env: Record<string, string | undefined>,
  overrides: {
    client?: EventBridgeClient;
    sqs?: SQSClient;
    logger?: Logger;
    metrics?: MetricsPort;
  } = {},
): PublishRuntime {
  const eventBusName = env[ENV.eventBusName];
  if (!eventBusName) throw new ConfigError(`invalid configuration: ${ENV.eventBusName} is required`);
  const queueUrl = env[ENV.dispatchQueueUrl];
  if (!queueUrl) throw new ConfigError(`invalid configuration: ${ENV.dispatchQueueUrl} is required`);
  const logger = overrides.logger ?? createLogger();
  const powertools = overrides.metrics ? undefined : createMetrics();
  const log = asLog(logger);
  return {
    sink: new EventBridgePublisher({
      client: overrides.client ?? new EventBridgeClient({}),
      eventBusName,
      log,
    }),
    trigger: new SqsDispatchTrigger({ client: overrides.sqs ?? new SQSClient({}), queueUrl }),
    logger,
    log,
    metricsPort: overrides.metrics ?? powertools!.port,
    metrics: powertools?.metrics,
  };
}

export type PublishHandler = LambdaHandler<DynamoDBStreamEvent, DynamoDBBatchResponse>;

export function publishHandler(rt: () => PublishRuntime): PublishHandler {
  const runtime = rt();
  return lambdaHandler(runtime, async (event) => {
    const records = event.Records ?? [];
    const outcome = await publishStreamRecords(records, runtime.sink, runtime.log, runtime.trigger);
    runtime.metricsPort.count(METRICS.eventsPublished, outcome.published);
    if (outcome.malformed > 0) runtime.metricsPort.count(METRICS.eventRecordsMalformed, outcome.malformed);
    if (outcome.dispatchRequestsFailed)
      runtime.metricsPort.count(METRICS.dispatchRequestsFailed, outcome.dispatchRequestsFailed);
    if (outcome.firstFailed === undefined) return { batchItemFailures: [] };
    const failed = records[outcome.firstFailed];
    const sequenceNumber = failed?.dynamodb?.SequenceNumber;
    runtime.metricsPort.count(METRICS.eventRecordsRetried, records.length - outcome.firstFailed);
    runtime.logger.warn('events not delivered; the stream retries from the first failed record', {
      sequenceNumber,
      retried: records.length - outcome.firstFailed,
    });
    // Without a sequence number the record cannot be named: fail the whole batch instead of losing it.
    if (!sequenceNumber) throw new Error('undelivered events for a record without a sequence number');
    // Lambda checkpoints before the lowest reported sequence number and retries from there.
    return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
  });
}

function cachedOnceSync<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/** The container-wide publish runtime of the deployed function, built on first use from process.env. */
export const processPublishRuntime = cachedOnceSync(() => buildPublishRuntime(process.env));
