import * as z from 'zod/mini';
import '../lib/zod-messages';
import { parseWireAmount, parseWireBalance } from './money';
import { isValidSettleDate, parseDtOrder } from './time';

/**
 * Runtime validation of every message we send or receive (spec §2–§5). Strict in what we send, tolerant
 * in what we accept: received messages may carry fields we do not know, and those stay in the object
 * (they are covered by the signature and must not be dropped before verification).
 */

const digits = (n: number) => new RegExp(`^[0-9]{${n}}$`);

export const oidPartner = z.string().check(z.regex(digits(18), 'must be 18 digits'));
// The spec only bounds the length; we also restrict the alphabet because no_order is our idempotency key
// and appears in URLs (GET /payouts/{no_order}).
export const noOrder = z
  .string()
  .check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(32, 'must be at most 32 characters'),
    z.regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, "_" and "-"'),
  );
export const dtOrder = z
  .string()
  .check(z.refine((v) => parseDtOrder(v) !== undefined, 'must be yyyyMMddHHmmss (UTC+8)'));
const wireAmount = z
  .string()
  .check(z.refine((v) => parseWireAmount(v).ok, 'must be yuan with exactly 2 decimals'));
export const flagCard = z.enum(['0', '1']);
export const cardNo = z.string().check(z.regex(/^[0-9]{1,32}$/, 'must be 1–32 digits'));
export const signType = z.enum(['RSA', 'MD5']);
export const settleDate = z.string().check(z.refine(isValidSettleDate, 'must be yyyyMMdd'));
const maxLen = (n: number) => z.string().check(z.maxLength(n, `must be at most ${n} characters`));

/**
 * Spec §13: the sign string joins raw values with `&` and `=` and escapes nothing, so a value holding either
 * lets one signed message be re-read as a different set of fields (`info_order` = `x&no_order=B`). Free text
 * we send may contain neither. It is refused, never rewritten: the merchant must see exactly what is paid.
 */
export const SIGN_DELIMITER_MESSAGE =
  'must not contain "&" or "=" (they would change what the signature covers)';
const freeText = (n: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(n, `must be at most ${n} characters`),
      z.regex(/^[^&=]*$/, SIGN_DELIMITER_MESSAGE),
    );

/**
 * The one definition of each apply field format that both the merchant API (`src/core/request.ts`) and the
 * wire schema below are built from, so the two cannot drift. Messages are written for the merchant: each
 * follows the field name in a `{field, message}` error.
 */
export const applyFieldFormats = {
  // Payee name, signed as raw UTF-8. Edge spaces are refused rather than trimmed: we never change a name.
  acct_name: freeText(100).check(z.refine((v) => v.trim() === v, 'must not start or end with spaces')),
  info_order: freeText(255),
  platform: freeText(32),
  bank_code: z.string().check(z.regex(digits(8), 'must be 8 digits')),
  province_code: z.string().check(z.regex(digits(6), 'must be a 6-digit area code')),
  city_code: z.string().check(z.regex(digits(6), 'must be a 6-digit area code')),
  brabank_name: freeText(100),
  prcptcd: z.string().check(z.regex(/^[0-9]{1,12}$/, 'must be at most 12 digits')),
} as const;

/** The optional apply fields, as both schemas accept them (the corporate rules decide when they are needed). */
export const optionalApplyFieldsShape = {
  bank_code: z.optional(applyFieldFormats.bank_code),
  province_code: z.optional(applyFieldFormats.province_code),
  city_code: z.optional(applyFieldFormats.city_code),
  brabank_name: z.optional(applyFieldFormats.brabank_name),
  prcptcd: z.optional(applyFieldFormats.prcptcd),
  platform: z.optional(applyFieldFormats.platform),
};

/** The business fields of an apply, before signing: what the payout service hands to the client. */
const applyFieldsShape = {
  oid_partner: oidPartner,
  api_version: z.literal('1.2'),
  no_order: noOrder,
  dt_order: dtOrder,
  money_order: wireAmount,
  flag_card: flagCard,
  card_no: cardNo,
  acct_name: applyFieldFormats.acct_name,
  ...optionalApplyFieldsShape,
  info_order: applyFieldFormats.info_order,
  notify_url: z.string().check(
    z.minLength(1, 'is required'),
    z.maxLength(255, 'must be at most 255 characters'),
    // The provider POSTs the result here: only http(s) makes sense (zod's bare url() also takes
    // `javascript:`, `mailto:` and the like).
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
    // Signed raw like the rest: a query string's "&b=2" would read as a field of its own (spec §13).
    z.regex(/^[^&]*$/, 'must not contain "&" (it would change what the signature covers)'),
  ),
};
export const applyFieldsSchema = z.strictObject(applyFieldsShape).check(z.superRefine(corporateRules));

export type ApplyFields = z.infer<typeof applyFieldsSchema>;

/**
 * Spec §2 "safe rule": corporate payouts always send bank_code and either prcptcd or
 * province + city + branch. Personal payouts may leave branch data out.
 */
export function corporateRules(
  v: {
    flag_card?: string;
    bank_code?: string | undefined;
    prcptcd?: string | undefined;
    province_code?: string | undefined;
    city_code?: string | undefined;
    brabank_name?: string | undefined;
  },
  ctx: z.core.$RefinementCtx,
): void {
  if (v.flag_card !== '1') return;
  if (!v.bank_code)
    ctx.addIssue({ code: 'custom', path: ['bank_code'], message: 'is required for corporate payouts' });
  if (v.prcptcd) return;
  for (const field of ['province_code', 'city_code', 'brabank_name'] as const) {
    if (!v[field]) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: 'is required for corporate payouts unless prcptcd is given',
      });
    }
  }
}

/** A signed apply request as it goes on the wire (what the sandbox validates). */
export const applyRequestSchema = z
  .strictObject({
    ...applyFieldsShape,
    sign_type: signType,
    sign: z.string().check(z.minLength(1, 'is required')),
  })
  .check(z.superRefine(corporateRules));
export type ApplyRequest = z.infer<typeof applyRequestSchema>;

const retCode = z.string().check(z.regex(/^[0-9A-Za-z]{4}$/, 'must be 4 characters'));

/**
 * result_pay (spec §8): a strict format, not a closed list. An unknown but well-formed value must still
 * reach the core, which keeps the order open and raises an alarm; a value with `&`, `=`, spaces or
 * lower case is not something the provider sends and is refused.
 */
export const resultPay = z
  .string()
  .check(z.regex(/^[A-Z][A-Z_]{0,31}$/, 'must be upper-case letters (at most 32)'));

/**
 * An optional received field of known format. Empty counts as absent (empty values are outside the
 * signature, spec §6, and a provider may well send `"settle_date":""` before settlement); anything else
 * must match the format exactly (spec §13).
 */
/**
 * A received value holding `&name=` can be read as a different set of fields under the same signature
 * (spec §13): `ret_msg` = `ok&settle_date=20260102` is also `ret_msg` = `ok` plus a `settle_date`. We never
 * send one, and the provider has no reason to; refusing them leaves every accepted message exactly one
 * reading — a `&` followed by `name=` must separate fields, any other `&` must sit inside a value. A
 * refused message is not believed: a notification is answered non-0000, a query answer stays unknown.
 */
const REREADABLE = /&[^&=]+=/;
function oneReadingOnly(message: Record<string, unknown>, ctx: z.core.$RefinementCtx): void {
  for (const [key, value] of Object.entries(message)) {
    // A name with "&" or "=" is no field the provider sends, and it would let a reading start mid-value.
    if (/[&=]/.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'a field name may not contain "&" or "="' });
    } else if (typeof value === 'string' && REREADABLE.test(value)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'holds "&name=": it could be read as other fields under the same signature',
      });
    }
  }
}

const receivedOptional = <T extends z.ZodMiniType<string>>(format: T) =>
  z.optional(z.union([z.literal(''), format]));

/** A received message: known fields checked, unknown string fields kept (they are signed), one reading only. */
const received = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.catchall(z.object(shape), z.string()).check(z.superRefine(oneReadingOnly));

export const applyResponseSchema = received({
  ret_code: retCode,
  ret_msg: z.optional(z.string()),
  oid_partner: receivedOptional(oidPartner),
  no_order: receivedOptional(noOrder),
  oid_paybill: z.optional(z.string()),
  sign_type: z.optional(z.string()),
  sign: z.optional(z.string()),
});

export const queryRequestSchema = z.strictObject({
  oid_partner: oidPartner,
  sign_type: signType,
  sign: z.string().check(z.minLength(1, 'is required')),
  no_order: noOrder,
  type_dc: z.literal('1', { message: 'must be "1" (merchant payout)' }),
  dt_order: z.optional(dtOrder),
  oid_paybill: z.optional(maxLen(32)),
  query_version: z.optional(z.enum(['1.0', '1.1'])),
});

/**
 * A `0000` query answer: the fields a result needs. Other codes only need ret_code. Every field whose
 * format is known is checked strictly (spec §13): a field shifted by an injected `&`/`=` cannot pass.
 */
export const queryResultSchema = received({
  ret_code: z.literal('0000'),
  ret_msg: z.optional(z.string()),
  oid_partner: oidPartner,
  no_order: noOrder,
  dt_order: receivedOptional(dtOrder),
  oid_paybill: z.optional(z.string()),
  money_order: wireAmount,
  result_pay: resultPay,
  settle_date: receivedOptional(settleDate),
  info_order: z.optional(z.string()),
  memo: z.optional(z.string()),
  bank_name: z.optional(z.string()),
  sign_type: z.string(),
  sign: z.string(),
});
export type QueryResult = z.infer<typeof queryResultSchema>;

/** The balance query's `api_version` (spec §11): `1.0` in the official demos, `1.1` on the English page. */
export const balanceApiVersion = z.enum(['1.0', '1.1'], { message: 'must be "1.0" or "1.1"' });
export type BalanceApiVersion = z.infer<typeof balanceApiVersion>;

/** A signed balance query as it goes on the wire (what the sandbox validates): nothing else is sent. */
export const balanceRequestSchema = z.strictObject({
  oid_partner: oidPartner,
  sign_type: signType,
  sign: z.string().check(z.minLength(1, 'is required')),
  api_version: balanceApiVersion,
});

/** A balance figure: yuan with exactly 2 decimals; zero is a real balance, so it is allowed here. */
const wireBalance = z
  .string()
  .check(z.refine((v) => parseWireBalance(v).ok, 'must be yuan with exactly 2 decimals'));

/**
 * A `0000` balance answer (spec §11). Both figures are required and checked strictly: a missing or
 * malformed figure is no balance at all, never a zero. `oid_partner` is not in the documented answer,
 * but when one is sent it must be well formed (the client compares it with its own).
 */
export const balanceAnswerSchema = received({
  ret_code: z.literal('0000'),
  ret_msg: z.optional(z.string()),
  oid_partner: receivedOptional(oidPartner),
  amt_balance: wireBalance,
  amt_unsettle: wireBalance,
  sign_type: z.string(),
  sign: z.string(),
});

/** A result notification (spec §5), its known formats checked strictly like a query answer's. */
export const notificationSchema = received({
  oid_partner: oidPartner,
  sign_type: z.string(),
  sign: z.string().check(z.minLength(1)),
  no_order: noOrder,
  dt_order: receivedOptional(dtOrder),
  money_order: wireAmount,
  oid_paybill: z.optional(z.string()),
  result_pay: resultPay,
  settle_date: receivedOptional(settleDate),
  info_order: z.optional(z.string()),
});
export type Notification = z.infer<typeof notificationSchema>;

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Flattens zod issues into `{field, message}` pairs, one per field, in input order. */
export function fieldErrors(error: z.core.$ZodError): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
    if (seen.has(field)) continue;
    seen.add(field);
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : isMissingValue(issue)
          ? 'is required'
          : issue.message;
    out.push({ field, message });
  }
  return out;
}

/**
 * Zod 4 strips `issue.input` unless the caller parsed with `reportInput: true`, so "input is undefined"
 * alone would call every wrong-typed value (e.g. `money_order: 12.5`) missing. Without the input, fall back
 * to the default message, which names the received type.
 */
function isMissingValue(issue: z.core.$ZodIssue): boolean {
  if (issue.code !== 'invalid_type') return false;
  if ('input' in issue) return issue.input === undefined;
  return /received undefined$/.test(issue.message);
}

/**
 * Parses a raw body into a string→string map, or explains why it is not one. Every value of a received
 * message must be a string (spec §1): anything else cannot be verified.
 */
export function parseWireBody(
  raw: string,
): { ok: true; fields: Record<string, string> } | { ok: false; reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'body is not a JSON object' };
  }
  // Copied by hand into a null-prototype object, never through zod or `{}`: JSON.parse keeps a received
  // "__proto__" as an own key, but assigning it on an ordinary object sets the prototype and drops the key,
  // and a dropped key is one the signature silently stops covering (defect 10). With no prototype, every
  // received name — "__proto__", "constructor", "prototype" — is an ordinary field, and no inherited member
  // reads as a received one.
  const fields: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') return { ok: false, reason: 'every value must be a string' };
    fields[key] = value;
  }
  return { ok: true, fields };
}
