/**
 * Masked forms are the only payee data that may be shown, logged or stored in clear. A card number shows
 * at most its first 6 and last 4 digits, and fewer when it is short enough that 10 digits would reveal
 * most of it.
 */
export function maskCardNo(cardNo: string): string {
  const n = cardNo.length;
  if (n >= 14) return `${cardNo.slice(0, 6)}${'*'.repeat(n - 10)}${cardNo.slice(-4)}`;
  if (n >= 8) return `${'*'.repeat(n - 4)}${cardNo.slice(-4)}`;
  return '*'.repeat(n);
}

/** First character, the rest starred (by code point, so Chinese names mask by character). */
export function maskName(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= 1) return '*';
  return `${chars[0]}${'*'.repeat(chars.length - 1)}`;
}
