/**
 * Builds the OpenAPI description of the merchant API from the same schemas and constants the code
 * validates with, so the document cannot drift: `npm run openapi` writes docs/openapi.json, and a test
 * fails when the committed file differs from what this produces.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { payoutRequestSchema } from '../src/core/request';
import { PAYOUT_STATUSES } from '../src/core/status';
import { PAYOUT_VIEW_FIELDS } from '../src/core/view';
import { CALLER_AMOUNT } from '../src/lianlian/money';
import { batchPaths, batchSchemas } from './openapi-batches';
import { err, idParameter, type Json, json, nullableString, reasonBody, serverErrors } from './openapi-parts';

function requestSchema(): Json {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(payoutRequestSchema, {
    unrepresentable: 'any',
  }) as Json;
  const properties = schema.properties as Json;
  // A string, never a JSON number: floats are how amounts go wrong (spec trap §10.2).
  properties.money_order = {
    type: 'string',
    pattern: CALLER_AMOUNT.source,
    description: 'Yuan, up to 2 decimals, > 0 and ≤ 100000000.00 ("7.5", "7.50", "100").',
    examples: ['0.01', '1234.50'],
  };
  properties.flag_card = {
    ...(properties.flag_card as Json),
    description: '0 = personal (对私), 1 = corporate (对公)',
  };
  return {
    ...schema,
    description:
      'Corporate payouts (flag_card "1") also need bank_code and either prcptcd or province_code + city_code + brabank_name.',
  };
}

function viewSchema(): Json {
  const props: Record<(typeof PAYOUT_VIEW_FIELDS)[number], Json> = {
    no_order: { type: 'string' },
    status: { type: 'string', enum: [...PAYOUT_STATUSES] },
    money_order: { type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$' },
    flag_card: { type: 'string', enum: ['0', '1'] },
    card_no_masked: { type: 'string', description: 'At most the first 6 and last 4 digits.' },
    acct_name_masked: { type: 'string' },
    oid_paybill: nullableString,
    result_pay: nullableString,
    settle_date: nullableString,
    ret_code: nullableString,
    ret_msg: nullableString,
    memo: nullableString,
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    history: { type: 'array', items: { $ref: '#/components/schemas/HistoryEntry' } },
    created_by: { ...nullableString, description: 'Principal that created the payout (the IAM caller).' },
    approved_by: nullableString,
    denied_by: nullableString,
    voided_by: { ...nullableString, description: '`system:expiry` when the approval expired.' },
    batch_id: { ...nullableString, description: 'The batch this payout is an item of (issue 11).' },
    anomalies: { type: 'integer', minimum: 0, description: 'Contradictions recorded and never applied.' },
    anomalies_acknowledged: {
      type: 'integer',
      minimum: 0,
      description: 'How many of `anomalies` a person acknowledged (POST /payouts/{no_order}/anomalies/ack).',
    },
  };
  return {
    type: 'object',
    required: [...PAYOUT_VIEW_FIELDS],
    properties: props,
    additionalProperties: false,
  };
}

const errorSchema: Json = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        fields: {
          type: 'array',
          items: {
            type: 'object',
            required: ['field', 'message'],
            properties: {
              field: { type: 'string' },
              message: { type: 'string' },
              limit: {
                type: 'string',
                enum: ['payout_max', 'daily_amount', 'payee_daily_amount', 'payee_daily_count'],
                description: 'limit_exceeded only: which limit.',
              },
              remaining: {
                type: 'string',
                description:
                  'limit_exceeded only: what is left under it (yuan with 2 decimals, or a count for payee_daily_count).',
              },
            },
          },
        },
      },
    },
  },
};

const noOrderParameter = idParameter('no_order');

export function buildOpenApi(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'lianlian-payout merchant API',
      version: '1.0.0',
      description:
        'Bank-card payouts through LianLian Pay. The merchant routes are signed with AWS SigV4 (IAM) when deployed; the notification route is for the provider.',
    },
    paths: {
      '/payouts': {
        post: {
          operationId: 'createPayout',
          security: [{ sigv4: [] }],
          requestBody: { required: true, content: json('PayoutRequest') },
          responses: {
            '202': {
              description:
                'New payout recorded and sent to the provider — or, at or above APPROVAL_MIN_AMOUNT, recorded with status AWAITING_APPROVAL and nothing sent.',
              content: json('PayoutView'),
            },
            '200': {
              description: 'Same no_order with identical fields: the current view; nothing sent again.',
              content: json('PayoutView'),
            },
            '400': err('Invalid input; `fields` names each bad field. Nothing was recorded or sent.'),
            '403': err('`no_principal`: the request carries no authenticated caller.'),
            '409': err('Same no_order with different fields; nothing sent.'),
            '413': err('Body too large.'),
            '422': err(
              '`limit_exceeded`: the payout would cross a spending limit; `fields` names money_order, the limit and what remains. Nothing was recorded: the same no_order can be used later.',
            ),
            ...serverErrors,
          },
        },
        get: {
          operationId: 'listPayouts',
          security: [{ sigv4: [] }],
          description:
            'Payouts, newest first, from indexes (never a scan). Without from/to: the last 31 China days. status AWAITING_APPROVAL / AWAITING_FUNDS reads its waiting queue, batch_id the batch; any other status is filtered after reading, so a page may be shorter than limit (with a next_cursor) when a status is rare. List views leave out the history (GET /payouts/{no_order} has it).',
          parameters: [...searchParameters(), ...pageParameters()],
          responses: {
            '200': { description: 'One page.', content: json('PayoutList') },
            '400': err(
              'A bad parameter (status, from, to, from after to, limit, cursor, an unknown one); `fields` names it.',
            ),
            ...serverErrors,
          },
        },
      },
      '/payouts/export.csv': {
        get: {
          operationId: 'exportPayouts',
          security: [{ sigv4: [] }],
          description:
            'Every payout the filters match, masked, as CSV (UTF-8 with BOM): inline up to 4 MB, otherwise written to the reports bucket and answered with a short-lived link (200, JSON).',
          parameters: searchParameters(),
          responses: {
            '200': {
              description:
                'text/csv inline, or application/json {url, expires_at, rows} for a large export: a link valid for 15 minutes (an S3 presigned GET; locally a signed /reports URL). Download it without your SigV4 Authorization header.',
              content: {
                'text/csv': { schema: { type: 'string' } },
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['url', 'expires_at', 'rows'],
                    properties: {
                      url: { type: 'string', format: 'uri', description: 'Short-lived download link.' },
                      expires_at: { type: 'string', format: 'date-time' },
                      rows: { type: 'integer', minimum: 0, description: 'Payouts in the export.' },
                    },
                  },
                },
              },
            },
            '400': err('A bad filter; `fields` names it.'),
            '413': err(
              '`export_too_large`: too large to answer inline and no report store is configured (not the case when deployed or in local mode).',
            ),
            ...serverErrors,
          },
        },
      },
      '/exceptions': {
        get: {
          operationId: 'listExceptions',
          security: [{ sigv4: [] }],
          description:
            'What needs a person, each group with a count and a first page (oldest first): unknown (UNKNOWN for more than an hour), stuck (open at the provider longer than STUCK_AFTER_SECONDS or queried 48 times), anomalies (not acknowledged), awaiting_approval, awaiting_funds.',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: {
                type: 'string',
                pattern: '^[0-9]+$',
                description: 'first page size per group, 1–100, default 20',
              },
            },
          ],
          responses: {
            '200': { description: 'The groups.', content: json('Exceptions') },
            '400': err('Bad limit or an unknown parameter; `fields` names it.'),
            ...serverErrors,
          },
        },
      },
      '/payouts/{no_order}/anomalies/ack': {
        post: {
          operationId: 'acknowledgeAnomalies',
          security: [{ sigv4: [] }],
          description:
            "Acknowledges every anomaly recorded so far, as the caller's principal: a history entry (source operator) with the principal and the note; the status does not change.",
          parameters: [noOrderParameter],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['note'],
                  properties: { note: { type: 'string', minLength: 1, maxLength: 500 } },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'The payout, anomalies_acknowledged = anomalies.',
              content: json('PayoutView'),
            },
            '400': err('`note` missing or too long; `fields` names it.'),
            '403': err('`no_principal`: the request carries no authenticated caller.'),
            '404': err('No such payout.'),
            '409': err('`invalid_state`: the payout has no unacknowledged anomaly.'),
            ...serverErrors,
          },
        },
      },
      ...reviewPaths(),
      ...batchPaths(),
      ...balancePaths(),
      ...closePaths(),
      '/payouts/{no_order}': {
        get: {
          operationId: 'getPayout',
          security: [{ sigv4: [] }],
          parameters: [
            noOrderParameter,
            {
              name: 'refresh',
              in: 'query',
              required: false,
              description: 'true: query the provider first and apply its answer.',
              schema: { type: 'string', enum: ['true', 'false'] },
            },
          ],
          responses: {
            '200': { description: 'The payout.', content: json('PayoutView') },
            '400': err('Malformed no_order or refresh.'),
            '404': err('No such payout.'),
            ...serverErrors,
          },
        },
      },
      '/lianlian/notify': {
        post: {
          operationId: 'receiveNotification',
          description:
            "The provider's result notification (raw JSON body, every value a string, signed over all fields). Not for merchants.",
          requestBody: {
            required: true,
            content: {
              'text/json': { schema: { type: 'object', additionalProperties: { type: 'string' } } },
            },
          },
          responses: {
            '200': {
              description:
                'ret_code 0000 = accepted (also for valid repeats); any other ret_code = refused, nothing changed.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/NotifyAnswer' } } },
            },
            '500': {
              description: 'Not processed (internal error); ret_code 9999, so the provider retries.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/NotifyAnswer' } } },
            },
            '503': {
              description:
                'Temporarily unable to record it (a dependency failed; `Retry-After` set); ret_code 9999, so the provider retries.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/NotifyAnswer' } } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (IAM).',
        },
      },
      schemas: {
        PayoutRequest: requestSchema(),
        BalanceView: balanceSchema(),
        PayoutView: viewSchema(),
        PayoutList: {
          type: 'object',
          required: ['items', 'next_cursor'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/ListView' } },
            next_cursor: nullableString,
          },
        },
        ListView: listViewSchema(),
        ExceptionGroup: {
          type: 'object',
          required: ['count', 'complete', 'items'],
          properties: {
            count: { type: 'integer', minimum: 0 },
            complete: {
              type: 'boolean',
              description: 'false when the count is a lower bound (more open orders than one request reads).',
            },
            items: { type: 'array', items: { $ref: '#/components/schemas/ListView' } },
          },
        },
        Exceptions: {
          type: 'object',
          required: ['unknown', 'stuck', 'anomalies', 'awaiting_approval', 'awaiting_funds', 'generated_at'],
          properties: {
            ...Object.fromEntries(
              ['unknown', 'stuck', 'anomalies', 'awaiting_approval', 'awaiting_funds'].map((g) => [
                g,
                { $ref: '#/components/schemas/ExceptionGroup' },
              ]),
            ),
            generated_at: { type: 'string', format: 'date-time' },
          },
        },
        HistoryEntry: {
          type: 'object',
          required: ['at', 'source', 'from', 'to'],
          properties: {
            at: { type: 'string', format: 'date-time' },
            source: {
              type: 'string',
              enum: [
                'apply',
                'query',
                'notify',
                'reconcile',
                'approval',
                'expiry',
                'dispatch',
                'funds',
                'operator',
              ],
            },
            principal: {
              type: 'string',
              description: 'Who decided: approve, deny, void (`system:expiry` for an expired approval).',
            },
            from: { type: 'string', enum: [...PAYOUT_STATUSES] },
            to: { type: 'string', enum: [...PAYOUT_STATUSES] },
            ret_code: { type: 'string' },
            result_pay: { type: 'string' },
            note: { type: 'string' },
            anomaly: {
              type: 'string',
              description: 'Set when the entry records a contradiction that was not applied.',
            },
          },
        },
        NotifyAnswer: {
          type: 'object',
          required: ['ret_code', 'ret_msg'],
          properties: { ret_code: { type: 'string' }, ret_msg: { type: 'string' } },
        },
        Error: errorSchema,
        ...batchSchemas(),
      },
    },
  };
}

/** The filters of GET /payouts and its export (docs/operations.md). */
function searchParameters(): Json[] {
  const bound = (name: 'from' | 'to') => ({
    name,
    in: 'query',
    required: false,
    description: `China date yyyy-mm-dd (that whole China day, UTC+8) or an ISO-8601 instant with its offset; inclusive.`,
    schema: { type: 'string' },
  });
  return [
    { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: [...PAYOUT_STATUSES] } },
    bound('from'),
    bound('to'),
    {
      name: 'batch_id',
      in: 'query',
      required: false,
      schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    },
  ];
}

function pageParameters(): Json[] {
  return [
    {
      name: 'limit',
      in: 'query',
      required: false,
      schema: { type: 'string', pattern: '^[0-9]+$', description: '1–200, default 50' },
    },
    {
      name: 'cursor',
      in: 'query',
      required: false,
      description: 'next_cursor of the previous page (opaque; only valid with the same filters).',
      schema: { type: 'string' },
    },
  ];
}

/** A payout in a list: the view without its history, plus its batch. */
function listViewSchema(): Json {
  const view = viewSchema() as { properties: Record<string, Json>; required: string[] };
  const { history: _history, ...properties } = view.properties;
  return {
    type: 'object',
    required: [...view.required.filter((f) => f !== 'history'), 'batch_id'],
    properties: { ...properties, batch_id: nullableString },
    additionalProperties: false,
  };
}

/** POST /payouts/{no_order}/approve | deny | void: the second person (docs/controls.md). */
function reviewPaths(): Json {
  const common = {
    '403': err(
      '`same_principal`: the creator cannot approve or deny their own payout (`no_principal`: no caller).',
    ),
    '404': err('No such payout.'),
    '409': err('`invalid_state`: the payout is not in a status that allows this.'),
  };
  const path = (action: string, op: Json) => ({
    [`/payouts/{no_order}/${action}`]: {
      post: { security: [{ sigv4: [] }], parameters: [noOrderParameter], ...op },
    },
  });
  return {
    ...path('approve', {
      operationId: 'approvePayout',
      description:
        'From AWAITING_APPROVAL: limits are checked now and the apply is sent once, exactly as for a new payout. Of concurrent approvals exactly one wins; the others get 409.',
      responses: {
        '200': { description: 'Approved and sent: the view.', content: json('PayoutView') },
        ...common,
        '422': err('`limit_exceeded`: a limit would be crossed; the payout stays AWAITING_APPROVAL.'),
        ...serverErrors,
      },
    }),
    ...path('deny', {
      operationId: 'denyPayout',
      requestBody: reasonBody(true),
      responses: {
        '200': { description: 'DENIED (final, nothing sent): the view.', content: json('PayoutView') },
        '400': err('`reason` missing or too long.'),
        ...common,
        ...serverErrors,
      },
    }),
    ...path('void', {
      operationId: 'voidPayout',
      requestBody: reasonBody(false),
      responses: {
        '200': { description: 'VOIDED (final, nothing sent): the view.', content: json('PayoutView') },
        '400': err('`reason` too long.'),
        '404': common['404'],
        '409': err('`invalid_state`: something has been sent already (or it is final).'),
        ...serverErrors,
      },
    }),
  };
}

/** GET /balance (issue 13, docs/funds.md). */
function balancePaths(): Json {
  return {
    '/balance': {
      get: {
        operationId: 'getBalance',
        security: [{ sigv4: [] }],
        description:
          "The provider's balance (spec §11) beside our own in-flight and waiting amounts, cached for at most 60 s. An unknown balance is a 503 `balance_unknown`, never zeros.",
        responses: {
          '200': {
            description: 'The figures, yuan strings with two decimals.',
            content: json('BalanceView'),
          },
          '503': {
            ...err(
              '`balance_unknown`: the provider answer could not be believed (or no balance URL is configured); or `dependency_unavailable`. Retry after `Retry-After` seconds.',
            ),
            headers: {
              'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' },
            },
          },
          '500': serverErrors['500'],
        },
      },
    },
  };
}

function balanceSchema(): Json {
  const yuan = (description: string) => ({ type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$', description });
  return {
    type: 'object',
    required: ['amt_balance', 'amt_unsettle', 'queried_at', 'in_flight_amount', 'waiting_amount'],
    additionalProperties: false,
    properties: {
      amt_balance: yuan('Available at the provider (its amt_balance).'),
      amt_unsettle: yuan('Not yet settled at the provider (its amt_unsettle).'),
      queried_at: { type: 'string', format: 'date-time', description: 'When the provider was asked.' },
      in_flight_amount: yuan('Ours: sent and not final (PENDING, ACCEPTED, UNKNOWN, WAITING, PROCESSING).'),
      waiting_amount: yuan('Ours: not sent yet (QUEUED, AWAITING_APPROVAL, AWAITING_FUNDS).'),
    },
  };
}

export const OPENAPI_PATH = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_PATH, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
  console.log(`wrote ${OPENAPI_PATH}`);
}

/** GET /close/{date}: the daily close's statement (docs/close.md). */
function closePaths(): Json {
  const amounted = {
    type: 'object',
    required: ['count', 'amount'],
    properties: { count: { type: 'integer' }, amount: { type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$' } },
  };
  const point = {
    oneOf: [
      { const: 'unknown' },
      {
        type: 'object',
        required: ['amount', 'at', 'source'],
        properties: {
          amount: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
          source: { enum: ['previous_day_last', 'day_first', 'day_last'] },
        },
      },
    ],
  };
  const statement = {
    type: 'object',
    description:
      'The statement of one China day (UTC+8). Amounts are yuan strings with two decimals; movements may be negative. No card numbers or names. docs/close.md describes every figure.',
    required: [
      'date',
      'generated_at',
      'supersedes',
      'created',
      'returns',
      'late_results',
      'open',
      'anomalies',
      'balance',
      'version',
    ],
    properties: {
      date: { type: 'string', format: 'date' },
      timezone: { const: 'UTC+8' },
      from: { type: 'string', format: 'date-time' },
      to: { type: 'string', format: 'date-time' },
      generated_at: { type: 'string', format: 'date-time' },
      supersedes: {
        oneOf: [
          { type: 'null' },
          { type: 'object', properties: { version: { type: 'string' }, generated_at: { type: 'string' } } },
        ],
      },
      created: {
        ...amounted,
        properties: { ...amounted.properties, by_status: { type: 'object', additionalProperties: amounted } },
      },
      returns: {
        ...amounted,
        properties: { ...amounted.properties, items: { type: 'array', items: { type: 'object' } } },
      },
      late_results: {
        ...amounted,
        properties: { ...amounted.properties, items: { type: 'array', items: { type: 'object' } } },
      },
      open: {
        ...amounted,
        properties: { ...amounted.properties, items: { type: 'array', items: { type: 'object' } } },
      },
      anomalies: {
        type: 'object',
        properties: { count: { type: 'integer' }, items: { type: 'array', items: { type: 'object' } } },
      },
      balance: {
        type: 'object',
        properties: {
          start: point,
          end: point,
          paid_out: amounted,
          returned: amounted,
          explained: { type: 'string' },
          unexplained: { type: 'string', description: 'end − start − (returned − paid_out), or `unknown`.' },
          formula: { type: 'string' },
        },
      },
      version: {
        type: 'string',
        description: 'The stored version of this statement (S3 VersionId, or the local number).',
      },
    },
  };
  return {
    '/close/{date}': {
      get: {
        operationId: 'getDayClose',
        security: [{ sigv4: [] }],
        parameters: [
          {
            name: 'date',
            in: 'path',
            required: true,
            description: 'China day, yyyy-mm-dd.',
            schema: { type: 'string', format: 'date' },
          },
        ],
        responses: {
          '200': {
            description: 'The latest statement of that day.',
            content: { 'application/json': { schema: statement } },
          },
          '400': err('`date` is not an existing yyyy-mm-dd; `fields` names it.'),
          '404': err('The day has not been closed yet.'),
          ...serverErrors,
        },
      },
    },
  };
}
