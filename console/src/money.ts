/**
 * Amounts in the console are decimal strings (yuan, as the API writes them) or integer fen, never floats:
 * sums of many payouts would otherwise drift by fractions of a fen.
 */
const YUAN = /^(\d{1,15})(?:\.(\d{1,2}))?$/;

/** `"12.3"` → 1230; undefined for anything that is not a non-negative yuan amount. */
export function toFen(yuan: string | null | undefined): number | undefined {
  const m = YUAN.exec((yuan ?? '').trim());
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** 1230 → `"12.30"`. */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Same amount, written possibly differently (`"1.5"` and `"1.50"`). */
export function sameAmount(a: string, b: string): boolean {
  const fa = toFen(a);
  return fa !== undefined && fa === toFen(b);
}
