import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoSearchReader } from '../../src/adapters/dynamodb/search-reader';
import {
  acknowledgeAnomalies,
  listExceptions,
  parseAckBody,
  parseExceptionsLimit,
} from '../../src/core/exceptions';
import type { ReportStore } from '../../src/core/report-store';
import { filterKeyOf, listPayouts, parseListQuery, type SearchReader } from '../../src/core/search';
import { definedParams, exportRoute } from '../export/route';
import { json, jsonBody } from '../shared/http';
import { pathNoOrder } from '../shared/path';
import { principalOf } from '../shared/principal';
import type { Runtime } from '../shared/runtime';

/**
 * The operations routes (issue 12), served by the query function (functions/query/handler.ts hands them
 * over by API Gateway resource): it already reads and updates orders, so no new function, role or cold
 * start is needed for what people do by hand. Thin: the rules are in src/core/{search,export,exceptions}.ts.
 * On AWS, GET /payouts/export.csv goes to the export function instead (functions/export: its S3 client and
 * presigner stay out of this bundle, a long export has its own timeout); both run functions/export/route.ts.
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
  /** Where large exports go (local mode: the daily close's .local/reports, signed links); absent = inline only. */
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
    // On AWS the export function serves this resource (functions/export); local mode keeps it here.
    [OPS_RESOURCES.export]: exportRoute({
      reader: searchReader,
      ...(ports.reports ? { reports: ports.reports } : {}),
      now,
      logger: runtime.logger,
      ...(runtime.config.exportInlineMaxBytes !== undefined
        ? { inlineMaxBytes: runtime.config.exportInlineMaxBytes }
        : {}),
    }),
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
