import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ExportTooLargeError, exportPayouts } from '../../src/core/export';
import type { ReportStore } from '../../src/core/report-store';
import { EXPORT_PARAMETERS, filterKeyOf, parseListQuery, type SearchReader } from '../../src/core/search';
import { HttpError, json } from '../shared/http';

/**
 * `GET /payouts/export.csv?status=&from=&to=&batch_id=` (issue 12), written once for both places that
 * serve it: the export function on AWS (functions/export/handler.ts) and the query function's operations
 * routes (functions/ops/handler.ts), which local mode uses. It imports no AWS client: the reader and the
 * report store are given, so the query function's bundle does not carry the S3 client and presigner.
 */
export interface ExportRouteDeps {
  readonly reader: () => SearchReader;
  /** Where large exports go; absent (or undefined) = inline only, a larger export is a 413. */
  readonly reports?: () => ReportStore | undefined;
  readonly now: () => Date;
  readonly logger: Pick<Logger, 'info'>;
  /** EXPORT_INLINE_MAX_BYTES; undefined = the export's default (INLINE_MAX_BYTES). */
  readonly inlineMaxBytes?: number;
}

export function exportRoute(
  deps: ExportRouteDeps,
): (event: Pick<APIGatewayProxyEvent, 'queryStringParameters'>) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const params = definedParams(event);
    const query = parseListQuery(params, deps.now(), EXPORT_PARAMETERS);
    let result: Awaited<ReturnType<typeof exportPayouts>>;
    try {
      const reports = deps.reports?.();
      result = await exportPayouts(
        {
          reader: deps.reader(),
          now: deps.now,
          ...(reports ? { reports } : {}),
          ...(deps.inlineMaxBytes !== undefined ? { inlineMaxBytes: deps.inlineMaxBytes } : {}),
        },
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
    deps.logger.info('payouts exported', { rows: result.rows, delivery: result.kind });
    // A link is answered as JSON with 200, not a redirect: see src/core/export.ts.
    if (result.kind === 'link') {
      // The URL is a credential for as long as it lives: no cache keeps it.
      return json(
        200,
        { url: result.url, expires_at: result.expires_at, rows: result.rows },
        { 'cache-control': 'no-store' },
      );
    }
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/csv;charset=utf-8',
        'content-disposition': `attachment; filename="payouts-${deps.now().toISOString().slice(0, 10)}.csv"`,
        'cache-control': 'no-store',
      },
      body: result.csv,
    };
  };
}

/** The query string without API Gateway's undefined values. */
export function definedParams(
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters'>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}
