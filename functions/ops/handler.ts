import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoSearchReader } from '../../src/adapters/dynamodb/search-reader';
import {
  acknowledgeAnomalies,
  listExceptions,
  parseAckBody,
  parseExceptionsLimit,
} from '../../src/core/exceptions';
import { ExportTooLargeError, exportPayouts } from '../../src/core/export';
import type { ReportStore } from '../../src/core/report-store';
import {
  EXPORT_PARAMETERS,
  filterKeyOf,
  listPayouts,
  parseListQuery,
  type SearchReader,
} from '../../src/core/search';
import { HttpError, json, jsonBody } from '../shared/http';
import { pathNoOrder } from '../shared/path';
import { principalOf } from '../shared/principal';
import type { Runtime } from '../shared/runtime';

/**
 * The operations routes (issue 12), served by the query function (functions/query/handler.ts hands them
 * over by API Gateway resource): it already reads and updates orders, so no new function, role or cold
 * start is needed for what people do by hand. Thin: the rules are in src/core/{search,export,exceptions}.ts.
 *
 * - GET /payouts?status=&from=&to=&batch_id=&limit=&cursor=
 * - GET /payouts/export.csv?status=&from=&to=&batch_id=
 * - GET /exceptions[?limit=]
 * - POST /payouts/{no_order}/anomalies/ack {"note": "…"}
 */
export const OPS_RESOURCES = {
  list: '/payouts',
  export: '/payouts/export.csv',
  exceptions: '/exceptions',
  ack: '/payouts/{no_order}/anomalies/ack',
} as const;

export interface OpsPorts {
  /** Index reads; default: the DynamoDB reader on the runtime's table. */
  readonly reader?: SearchReader;
  /** Where large exports go (the daily close's ReportStore: S3, or .local/reports); absent = inline only. */
  readonly reports?: () => ReportStore | undefined;
}

export type OpsRoute = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** The route for the event's resource, or undefined when it is not an operations route. */
export function opsRoutes(
  runtime: Runtime,
  ports: OpsPorts = {},
): (resource: string) => OpsRoute | undefined {
  let reader = ports.reader;
  const searchReader = (): SearchReader => {
    reader ??= new DynamoSearchReader({
      client:
        runtime.dynamo ??
        new DynamoDBClient(runtime.config.dynamoEndpoint ? { endpoint: runtime.config.dynamoEndpoint } : {}),
      tableName: runtime.config.tableName,
    });
    return reader;
  };
  const now = () => runtime.deps.clock.now();
  const routes: Record<string, OpsRoute> = {
    [OPS_RESOURCES.list]: async (event) => {
      const params = definedParams(event);
      const query = parseListQuery(params, now());
      return json(200, await listPayouts(searchReader(), query, filterKeyOf(params)));
    },
    [OPS_RESOURCES.export]: async (event) => {
      const params = definedParams(event);
      const query = parseListQuery(params, now(), EXPORT_PARAMETERS);
      let result: Awaited<ReturnType<typeof exportPayouts>>;
      try {
        const reports = ports.reports?.();
        result = await exportPayouts(
          { reader: searchReader(), now, ...(reports ? { reports } : {}) },
          query,
          filterKeyOf(params),
        );
      } catch (error) {
        if (error instanceof ExportTooLargeError) {
          throw new HttpError(
            413,
            'export_too_large',
            'the export is too large to answer inline; narrow the filters',
          );
        }
        throw error;
      }
      runtime.logger.info('payouts exported', { rows: result.rows, delivery: result.kind });
      if (result.kind === 'link') return json(200, { url: result.url, expires_at: result.expires_at });
      return {
        statusCode: 200,
        headers: {
          'content-type': 'text/csv;charset=utf-8',
          'content-disposition': `attachment; filename="payouts-${now().toISOString().slice(0, 10)}.csv"`,
          'cache-control': 'no-store',
        },
        body: result.csv,
      };
    },
    [OPS_RESOURCES.exceptions]: async (event) => {
      const limit = parseExceptionsLimit(definedParams(event));
      return json(
        200,
        await listExceptions(searchReader(), {
          now: now(),
          limit,
          stuckAfterMs: runtime.config.reconcile.stuckAfterMs,
        }),
      );
    },
    [OPS_RESOURCES.ack]: async (event) => {
      const noOrder = pathNoOrder(event);
      runtime.logger.appendKeys({ no_order: noOrder });
      const principal = principalOf(event);
      const note = parseAckBody(jsonBody(event));
      return json(200, await acknowledgeAnomalies(runtime.deps, noOrder, principal, note));
    },
  };
  return (resource) => routes[resource];
}

function definedParams(event: Pick<APIGatewayProxyEvent, 'queryStringParameters'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}
