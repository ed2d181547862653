import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import {
  applyFieldFormats,
  cardNo,
  corporateRules,
  type FieldError,
  fieldErrors,
  flagCard,
  noOrder,
  optionalApplyFieldsShape,
} from '../lianlian/messages';
import { parseCallerAmount } from '../lianlian/money';
import '../lib/zod-messages';
import { OPTIONAL_APPLY_FIELDS, type OptionalApplyField, type PayeeSecret } from './model';

/**
 * The merchant API's payout request (POST /payouts): the provider's field names, but a caller-friendly
 * amount ("7.5" is fine; we send "7.50"). Validation names every bad field. Every other field format is
 * the wire schema's own (`applyFieldFormats` in src/lianlian/messages.ts): what we accept is what we may
 * send, including the refusal of `&` and `=` in free text (spec §13).
 */
export const payoutRequestSchema = z
  .strictObject({
    no_order: noOrder,
    money_order: z.unknown().check(
      z.superRefine((value, ctx) => {
        const parsed = parseCallerAmount(value);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
      }),
    ),
    card_no: cardNo,
    acct_name: applyFieldFormats.acct_name,
    flag_card: flagCard,
    info_order: applyFieldFormats.info_order,
    ...optionalApplyFieldsShape,
  })
  .check(z.superRefine(corporateRules));

export interface PayoutRequest {
  readonly no_order: string;
  readonly money_fen: number;
  readonly flag_card: '0' | '1';
  readonly info_order: string;
  readonly payee: PayeeSecret;
  readonly optional: Partial<Record<OptionalApplyField, string>>;
}

export type ParsedRequest = { ok: true; request: PayoutRequest } | { ok: false; errors: FieldError[] };

export function parsePayoutRequest(body: unknown): ParsedRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: [{ field: '(body)', message: 'must be a JSON object' }] };
  }
  const result = payoutRequestSchema.safeParse(body);
  if (!result.success) return { ok: false, errors: fieldErrors(result.error) };
  const v = result.data;
  // Parsed again for its value: a transform on the field would abort zod before the corporate rules run,
  // and every bad field must be named in one answer.
  const amount = parseCallerAmount(v.money_order);
  if (!amount.ok) return { ok: false, errors: [{ field: 'money_order', message: amount.reason }] };
  const optional: Partial<Record<OptionalApplyField, string>> = {};
  for (const key of OPTIONAL_APPLY_FIELDS) {
    const value = v[key];
    if (value !== undefined) optional[key] = value;
  }
  return {
    ok: true,
    request: {
      no_order: v.no_order,
      money_fen: amount.fen,
      flag_card: v.flag_card,
      info_order: v.info_order,
      payee: { card_no: v.card_no, acct_name: v.acct_name },
      optional,
    },
  };
}

/**
 * Digest of the non-secret request fields, so a repeated request can be compared without opening the
 * payee seal first. Payee fields are deliberately not in it: an unkeyed hash of a card number is
 * brute-forceable, so they are compared after decryption instead.
 */
export function requestDigest(request: PayoutRequest): string {
  const canonical = JSON.stringify([
    request.no_order,
    request.money_fen,
    request.flag_card,
    request.info_order,
    ...OPTIONAL_APPLY_FIELDS.map((k) => request.optional[k] ?? null),
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
