/**
 * The batch routes (issue 11) in the OpenAPI document, from the same constants the code uses.
 * scripts/openapi.ts spreads these into its paths and schemas.
 */
import { BATCH_STATUSES, MAX_BATCH_ITEMS } from '../src/core/batch-model';
import { REPORT_COLUMNS } from '../src/core/batches';
import { PAYOUT_STATUSES } from '../src/core/status';
import { err, idParameter, type Json, json, nullableString, reasonBody, serverErrors } from './openapi-parts';

const batchIdParameter = idParameter('batch_id');

export function batchPaths(): Json {
  const decisions = {
    '403': err('`same_principal`: the creator cannot approve or deny their own batch.'),
    '404': err('No such batch.'),
    '409': err('`invalid_state`: the batch is not in a status that allows this.'),
  };
  const post = (operationId: string, description: string, responses: Json, body?: Json) => ({
    post: {
      operationId,
      description,
      security: [{ sigv4: [] }],
      parameters: [batchIdParameter],
      ...(body ? { requestBody: body } : {}),
      responses: { ...responses, ...serverErrors },
    },
  });
  return {
    '/batches/{batch_id}': {
      put: {
        operationId: 'acceptBatch',
        description: `Up to ${MAX_BATCH_ITEMS} payouts, all or nothing (docs/batches.md). JSON {"items":[…]} with the POST /payouts fields, or a UTF-8 CSV file (optional BOM, RFC 4180 quoting) whose header row names the same fields. Items are recorded QUEUED and sent by the dispatcher.`,
        security: [{ sigv4: [] }],
        parameters: [batchIdParameter],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/BatchRequest' } },
            'text/csv': { schema: { type: 'string' } },
          },
        },
        responses: {
          '202': {
            description: 'New batch recorded (DISPATCHING, or AWAITING_APPROVAL).',
            content: json('BatchView'),
          },
          '200': { description: 'Identical repeat: the current view.', content: json('BatchView') },
          '400': err(
            'Every bad row at once: `fields` entries {row, field, message} (row 1 = first item; 0 = the body or the header). A no_order repeated in the batch or used by another payout is a row error. Nothing was recorded.',
          ),
          '409': err('`conflict`: the batch id exists with other content.'),
          '413': err('Body over 5 MB.'),
          '415': err('Neither application/json nor text/csv.'),
          '422': err('`limit_exceeded`: the batch would cross a spending limit; nothing was recorded.'),
          ...serverErrors,
        },
      },
      get: {
        operationId: 'getBatch',
        security: [{ sigv4: [] }],
        parameters: [batchIdParameter],
        responses: {
          '200': {
            description: 'The batch, with counts and amounts per payout status.',
            content: json('BatchView'),
          },
          '404': err('No such batch.'),
          ...serverErrors,
        },
      },
    },
    '/batches/{batch_id}/items': {
      get: {
        operationId: 'listBatchItems',
        security: [{ sigv4: [] }],
        parameters: [
          batchIdParameter,
          {
            name: 'status',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: [...PAYOUT_STATUSES] },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'string', pattern: '^[0-9]+$', description: '1–1000, default 100' },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'next_cursor of the previous page (opaque).',
          },
        ],
        responses: {
          '200': { description: 'One page of items in row order.', content: json('BatchItemList') },
          '400': err('A bad parameter; `fields` names it.'),
          '404': err('No such batch.'),
          ...serverErrors,
        },
      },
    },
    '/batches/{batch_id}/report.csv': {
      get: {
        operationId: 'batchReport',
        security: [{ sigv4: [] }],
        parameters: [batchIdParameter],
        responses: {
          '200': {
            description: `One line per item: ${REPORT_COLUMNS.join(', ')}. Masked payee data only.`,
            content: { 'text/csv': { schema: { type: 'string' } } },
          },
          '404': err('No such batch.'),
          ...serverErrors,
        },
      },
    },
    '/batches/{batch_id}/approve': post(
      'approveBatch',
      'From AWAITING_APPROVAL, by another principal than the creator: limits are reserved for the whole batch now, then it is DISPATCHING.',
      {
        '200': { description: 'Approved.', content: json('BatchView') },
        ...decisions,
        '422': err('`limit_exceeded`: it stays AWAITING_APPROVAL.'),
      },
    ),
    '/batches/{batch_id}/deny': post(
      'denyBatch',
      'From AWAITING_APPROVAL: DENIED with every item.',
      {
        '200': { description: 'Denied.', content: json('BatchView') },
        '400': err('`reason` missing.'),
        ...decisions,
      },
      reasonBody(true),
    ),
    '/batches/{batch_id}/void': post(
      'voidBatch',
      'While AWAITING_APPROVAL or DISPATCHING: VOIDED, and every item not yet sent VOIDED.',
      {
        '200': { description: 'Voided.', content: json('BatchView') },
        '404': decisions['404'],
        '409': decisions['409'],
      },
      reasonBody(false),
    ),
  };
}

export function batchSchemas(): Json {
  const perStatus = (value: Json) => ({
    type: 'object',
    properties: Object.fromEntries(PAYOUT_STATUSES.map((s) => [s, value])),
    additionalProperties: false,
  });
  return {
    BatchRequest: {
      type: 'object',
      required: ['items'],
      properties: {
        items: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_BATCH_ITEMS,
          items: { $ref: '#/components/schemas/PayoutRequest' },
        },
      },
      additionalProperties: false,
    },
    BatchView: {
      type: 'object',
      required: [
        'batch_id',
        'status',
        'item_count',
        'total_amount',
        'counts',
        'amounts',
        'created_by',
        'created_at',
        'updated_at',
      ],
      properties: {
        batch_id: { type: 'string' },
        status: { type: 'string', enum: [...BATCH_STATUSES] },
        item_count: { type: 'integer' },
        total_amount: { type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$' },
        counts: perStatus({ type: 'integer' }),
        amounts: perStatus({ type: 'string' }),
        created_by: nullableString,
        approved_by: nullableString,
        denied_by: nullableString,
        voided_by: nullableString,
        created_at: { type: 'string', format: 'date-time' },
        updated_at: { type: 'string', format: 'date-time' },
        approved_at: nullableString,
        dispatched_at: nullableString,
        completed_at: nullableString,
        approval_expires_at: nullableString,
      },
    },
    BatchItemList: {
      type: 'object',
      required: ['items', 'next_cursor'],
      properties: {
        items: {
          type: 'array',
          description: 'Payout views without history, with batch_id and batch_seq.',
          items: { type: 'object', required: ['no_order', 'batch_seq', 'status', 'money_order'] },
        },
        next_cursor: nullableString,
      },
    },
  };
}
