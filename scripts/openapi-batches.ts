/**
 * The batch routes (issue 11) in the OpenAPI document, from the same constants the code uses.
 * scripts/openapi.ts spreads these into its paths and schemas.
 */
import { BATCH_STATUSES, MAX_BATCH_ITEMS } from '../src/core/batch-model';
import { REPORT_COLUMNS } from '../src/core/batches';
import { PAYOUT_STATUSES } from '../src/core/status';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });
const err = (description: string) => ({ description, content: ref('Error') });
const nullable = { type: ['string', 'null'] };
const serverErrors = {
  '500': err('Internal error; the body carries no detail.'),
  '503': err('A dependency is throttled or unavailable; retry after `Retry-After` seconds.'),
};

const batchIdParameter = {
  name: 'batch_id',
  in: 'path',
  required: true,
  schema: { type: 'string', maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' },
};

const reason = (required: boolean) => ({
  required,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        ...(required ? { required: ['reason'] } : {}),
        properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
      },
    },
  },
});

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
            content: ref('BatchView'),
          },
          '200': { description: 'Identical repeat: the current view.', content: ref('BatchView') },
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
            content: ref('BatchView'),
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
          '200': { description: 'One page of items in row order.', content: ref('BatchItemList') },
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
        '200': { description: 'Approved.', content: ref('BatchView') },
        ...decisions,
        '422': err('`limit_exceeded`: it stays AWAITING_APPROVAL.'),
      },
    ),
    '/batches/{batch_id}/deny': post(
      'denyBatch',
      'From AWAITING_APPROVAL: DENIED with every item.',
      {
        '200': { description: 'Denied.', content: ref('BatchView') },
        '400': err('`reason` missing.'),
        ...decisions,
      },
      reason(true),
    ),
    '/batches/{batch_id}/void': post(
      'voidBatch',
      'While AWAITING_APPROVAL or DISPATCHING: VOIDED, and every item not yet sent VOIDED.',
      {
        '200': { description: 'Voided.', content: ref('BatchView') },
        '404': decisions['404'],
        '409': decisions['409'],
      },
      reason(false),
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
        created_by: nullable,
        approved_by: nullable,
        denied_by: nullable,
        voided_by: nullable,
        created_at: { type: 'string', format: 'date-time' },
        updated_at: { type: 'string', format: 'date-time' },
        approved_at: nullable,
        dispatched_at: nullable,
        completed_at: nullable,
        approval_expires_at: nullable,
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
        next_cursor: nullable,
      },
    },
  };
}
