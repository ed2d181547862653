/**
 * Money is integer fen (分) inside the service and a decimal string with exactly two decimals on the wire.
 * No floating point anywhere: a float-formatted amount (`12.5`, `1.0E7`) is trap §10.2.
 */

export const MAX_FEN = 10_000_000_000; // 100,000,000.00 yuan

export type AmountResult = { ok: true; fen: number } | { ok: false; reason: string };

// Up to 9 integer digits covers the maximum; no sign, no exponent, no leading zeros, at most 2 decimals.
export const CALLER_AMOUNT = /^(0|[1-9][0-9]{0,8})(?:\.([0-9]{1,2}))?$/;
const WIRE_AMOUNT = /^(0|[1-9][0-9]{0,8})\.([0-9]{2})$/;

/** A merchant's amount: `"7.5"`, `"7.50"`, `"100"`. JSON numbers are refused: they arrive as floats. */
export function parseCallerAmount(input: unknown): AmountResult {
  if (typeof input !== 'string') return { ok: false, reason: 'must be a string such as "100.00"' };
  const match = CALLER_AMOUNT.exec(input);
  if (!match) return { ok: false, reason: 'must be a positive yuan amount with at most 2 decimals' };
  return toFen(match[1] ?? '0', (match[2] ?? '').padEnd(2, '0'));
}

/** A provider amount: exactly two decimals (spec §2). */
export function parseWireAmount(input: string): AmountResult {
  const match = WIRE_AMOUNT.exec(input);
  if (!match) return { ok: false, reason: 'must have exactly 2 decimals' };
  return toFen(match[1] ?? '0', match[2] ?? '00');
}

/**
 * The most a balance figure may say: 13 integer digits of yuan keep every value a safe integer of fen
 * (Number.MAX_SAFE_INTEGER is about 9.007e15 fen), far above any merchant account.
 */
export const MAX_BALANCE_FEN = 999_999_999_999_999;
const BALANCE_AMOUNT = /^(0|[1-9][0-9]{0,12})\.([0-9]{2})$/;

/**
 * A balance figure (spec §11 `amt_balance`, `amt_unsettle`): yuan with exactly 2 decimals like every
 * wire amount, but zero is a real balance and an account may hold more than one payout's maximum.
 */
export function parseWireBalance(input: string): AmountResult {
  const match = BALANCE_AMOUNT.exec(input);
  if (!match) return { ok: false, reason: 'must be yuan with exactly 2 decimals' };
  return {
    ok: true,
    fen: Number.parseInt(match[1] ?? '0', 10) * 100 + Number.parseInt(match[2] ?? '00', 10),
  };
}

function toFen(yuan: string, cents: string): AmountResult {
  const fen = Number.parseInt(yuan, 10) * 100 + Number.parseInt(cents, 10);
  if (fen <= 0) return { ok: false, reason: 'must be greater than zero' };
  if (fen > MAX_FEN) return { ok: false, reason: 'must not exceed 100000000.00' };
  return { ok: true, fen };
}

export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError('fen must be a non-negative safe integer');
  const yuan = Math.trunc(fen / 100);
  const cents = fen % 100;
  return `${yuan}.${cents.toString().padStart(2, '0')}`;
}
