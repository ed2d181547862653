import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoSearchReader } from '../../src/adapters/dynamodb/search-reader';
import { S3ReportStore } from '../../src/adapters/s3/report-store';
import { type ExportConfig, loadExportConfig } from '../../src/config/export';
import { type Clock, systemClock } from '../../src/core/ports';
import type { ReportStore } from '../../src/core/report-store';
import type { SearchReader } from '../../src/core/search';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import { createLogger, createMetrics } from '../shared/observability';
import { exportRoute } from './route';

/**
 * The export function: `GET /payouts/export.csv` on AWS (issue 12). A function of its own so that the S3
 * client and presigner stay out of the query function's bundle and cold start, and a long export gets its
 * own timeout and memory. Its runtime is only what an export needs — the table's indexes, the reports
 * bucket, a logger and metrics: no provider client, no merchant key, no field key (it never signs and
 * never opens a payee seal; the rows are masked from the stored masked fields).
 */
export interface ExportRuntime {
  readonly config: ExportConfig;
  readonly reader: SearchReader;
  readonly reports: ReportStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

export interface ExportRuntimeOverrides {
  readonly dynamo?: DynamoDBClient;
  readonly s3?: S3Client;
  readonly reader?: SearchReader;
  readonly reports?: ReportStore;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Built once per container from the environment (src/config/env.ts loadExportConfig checks it). */
export function buildExportRuntime(
  env: Record<string, string | undefined>,
  overrides: ExportRuntimeOverrides = {},
): ExportRuntime {
  const config = loadExportConfig(env);
  const logger = overrides.logger ?? createLogger();
  const powertools = overrides.logger ? undefined : createMetrics();
  const reader =
    overrides.reader ??
    new DynamoSearchReader({
      client:
        overrides.dynamo ??
        new DynamoDBClient(config.dynamoEndpoint ? { endpoint: config.dynamoEndpoint } : {}),
      tableName: config.tableName,
    });
  const reports =
    overrides.reports ??
    new S3ReportStore({
      client: overrides.s3 ?? new S3Client({}),
      bucket: config.reportsBucket,
      ...(config.reportsKmsKeyId ? { kmsKeyId: config.reportsKmsKeyId } : {}),
    });
  return {
    config,
    reader,
    reports,
    clock: overrides.clock ?? systemClock,
    logger,
    metrics: powertools?.metrics,
  };
}

export function exportHandler(rt: () => ExportRuntime): ApiHandler {
  const runtime = rt();
  const route = exportRoute({
    reader: () => runtime.reader,
    reports: () => runtime.reports,
    now: () => runtime.clock.now(),
    logger: runtime.logger,
    ...(runtime.config.inlineMaxBytes !== undefined ? { inlineMaxBytes: runtime.config.inlineMaxBytes } : {}),
  });
  return httpHandler(runtime, (event) => route(event));
}
