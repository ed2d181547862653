/**
 * The pieces every part of the OpenAPI document is built from (scripts/openapi.ts for the payout and
 * operations routes, scripts/openapi-batches.ts for the batch routes), so the two describe errors, ids
 * and reasons the same way.
 */
export type Json = Record<string, unknown>;

/** A JSON body of a schema under components. */
export const json = (ref: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${ref}` } },
});

/** An error answer: the Error schema. */
export const err = (description: string) => ({ description, content: json('Error') });

export const nullableString = { type: ['string', 'null'] };

/** Every merchant route: a dependency that failed is retryable, anything else is a generic 500. */
export const serverErrors = {
  '500': err('Internal error; the body carries no detail.'),
  '503': {
    ...err(
      'A dependency (DynamoDB, KMS, SSM) is throttled or unavailable; retry after `Retry-After` seconds.',
    ),
    headers: {
      'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' },
    },
  },
};

/** A path id like no_order and batch_id: [A-Za-z0-9_-], at most 32. */
export const idParameter = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' },
});

/** `{"reason": "…"}` of a deny (required) or a void (optional). */
export const reasonBody = (required: boolean) => ({
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
