import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { BatchBody } from '../../src/core/batch-input';
import type { DispatchTrigger } from '../../src/core/batch-model';
import {
  acceptBatch,
  approveBatch,
  type BatchDeps,
  type BatchWriteStore,
  batchReportCsv,
  denyBatch,
  getBatchView,
  listBatchItems,
  voidBatch,
} from '../../src/core/batches';
import { ValidationError } from '../../src/core/errors';
import { awsBatchParts } from '../dispatch/wiring';
import { HttpError, json, rawBody, reasonOf } from '../shared/http';
import { type ApiHandler, httpHandler } from '../shared/lambda';
import { principalOf } from '../shared/principal';
import type { Runtime } from '../shared/runtime';

/**
 * The batch routes (issue 11), thin: the rules are in src/core/batches.ts.
 *   PUT  /batches/{batch_id}                    JSON {"items":[…]} or text/csv → 202 new / 200 repeat
 *   GET  /batches/{batch_id}                    the batch view
 *   GET  /batches/{batch_id}/items              ?status=&limit=&cursor=
 *   GET  /batches/{batch_id}/report.csv         masked, one line per item
 *   POST /batches/{batch_id}/approve|deny|void  the second person's decisions
 */

/**
 * A batch body's cap: 5,000 rows of ~200 bytes are ~1 MB, so 5 MB leaves room for long free text and
 * Chinese names, and stays under Lambda's 6 MB synchronous payload (API Gateway itself allows 10 MB).
 */
export const MAX_BATCH_BODY_BYTES = 5 * 1024 * 1024;

export interface BatchPorts {
  readonly batches: BatchWriteStore;
  readonly dispatch: DispatchTrigger;
}

/**
 * Until the dispatcher's trigger is wired in (wt/dispatch: SQS on AWS, in-process locally), a committed
 * batch is found by the due-index look at it (next_check_at), so nothing is lost: this only logs.
 */
export function loggingTrigger(runtime: Runtime): DispatchTrigger {
  return {
    batchReady: async (batchId) => runtime.logger.info('batch ready for dispatch', { batch_id: batchId }),
  };
}

/** On AWS: the batch store and the dispatch queue (SQS FIFO, DISPATCH_QUEUE_URL) the dispatcher reads. */
export function defaultBatchPorts(runtime: Runtime): BatchPorts {
  const { batches, trigger } = awsBatchParts(runtime);
  return { batches, dispatch: trigger };
}

const BATCH_ID = /^[A-Za-z0-9_-]{1,32}$/;
const ITEMS_PARAMETERS = new Set(['status', 'limit', 'cursor']);

export function batchesHandler(rt: () => Runtime, ports?: (runtime: Runtime) => BatchPorts): ApiHandler {
  const runtime = rt();
  const made = (ports ?? defaultBatchPorts)(runtime);
  const deps: BatchDeps = { ...runtime.deps, ...made };
  return httpHandler(runtime, async (event) => {
    const batchId = event.pathParameters?.batch_id ?? '';
    if (!BATCH_ID.test(batchId)) {
      throw new ValidationError([{ field: 'batch_id', message: 'must be 1–32 of A-Z a-z 0-9 _ -' }]);
    }
    runtime.logger.appendKeys({ batch_id: batchId });
    const method = event.httpMethod;
    const last = (event.resource || event.path || '').split('/').pop();
    if (method === 'PUT' && last === '{batch_id}') {
      const result = await acceptBatch(deps, batchId, bodyOf(event), principalOf(event));
      return json(result.created ? 202 : 200, result.view);
    }
    if (method === 'GET' && last === '{batch_id}') return json(200, await getBatchView(deps, batchId));
    if (method === 'GET' && last === 'items')
      return json(200, await listBatchItems(deps, batchId, itemsQuery(event)));
    if (method === 'GET' && last === 'report.csv') {
      return {
        statusCode: 200,
        headers: {
          'content-type': 'text/csv;charset=utf-8',
          'content-disposition': `attachment; filename="${batchId}-report.csv"`,
        },
        body: await batchReportCsv(deps, batchId),
      };
    }
    if (method === 'POST' && (last === 'approve' || last === 'deny' || last === 'void')) {
      const principal = principalOf(event);
      if (last === 'approve') return json(200, await approveBatch(deps, batchId, principal));
      const reason = reasonOf(event, last === 'deny');
      if (last === 'deny') return json(200, await denyBatch(deps, batchId, principal, reason ?? ''));
      return json(200, await voidBatch(deps, batchId, principal, reason));
    }
    throw new HttpError(404, 'not_found', 'no such route');
  });
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

/** The body by its media type: JSON `{"items":[…]}` or a CSV file (UTF-8). */
function bodyOf(event: APIGatewayProxyEvent): BatchBody {
  const type = (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const text = rawBody(event, MAX_BATCH_BODY_BYTES);
  if (type === 'text/csv') return { kind: 'csv', text };
  if (type === 'application/json') {
    try {
      return { kind: 'json', value: JSON.parse(text) };
    } catch {
      throw new HttpError(400, 'invalid_json', 'the body must be a JSON object {"items":[…]}');
    }
  }
  throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json or text/csv');
}

function itemsQuery(event: APIGatewayProxyEvent): { status?: string; limit?: string; cursor?: string } {
  const params = event.queryStringParameters ?? {};
  const unknown = Object.keys(params).filter((name) => !ITEMS_PARAMETERS.has(name));
  if (unknown.length > 0) {
    throw new ValidationError(unknown.map((field) => ({ field, message: 'is not a known parameter' })));
  }
  return {
    ...(params.status !== undefined ? { status: params.status } : {}),
    ...(params.limit !== undefined ? { limit: params.limit } : {}),
    ...(params.cursor !== undefined ? { cursor: params.cursor } : {}),
  };
}
