/**
 * China time (UTC+8, no daylight saving) for `dt_order` and `settle_date`, whatever the host's zone:
 * Lambda runs in UTC, and a UTC `dt_order` is trap §10.3.
 */
const OFFSET_MS = 8 * 60 * 60 * 1000;

function chinaParts(date: Date) {
  const shifted = new Date(date.getTime() + OFFSET_MS);
  const p = (n: number, w = 2) => n.toString().padStart(w, '0');
  return {
    y: p(shifted.getUTCFullYear(), 4),
    mo: p(shifted.getUTCMonth() + 1),
    d: p(shifted.getUTCDate()),
    h: p(shifted.getUTCHours()),
    mi: p(shifted.getUTCMinutes()),
    s: p(shifted.getUTCSeconds()),
  };
}

/** `yyyyMMddHHmmss` in UTC+8. */
export function formatDtOrder(date: Date): string {
  const { y, mo, d, h, mi, s } = chinaParts(date);
  return `${y}${mo}${d}${h}${mi}${s}`;
}

/** `yyyyMMdd` in UTC+8. */
export function formatSettleDate(date: Date): string {
  const { y, mo, d } = chinaParts(date);
  return `${y}${mo}${d}`;
}

/** Parses a `yyyyMMddHHmmss` China-time stamp; undefined when malformed or not a real calendar time. */
export function parseDtOrder(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const date = new Date(utc - OFFSET_MS);
  // Round-trip check rejects 20260231…, hour 24 and the like.
  return formatDtOrder(date) === value ? date : undefined;
}

export function isValidSettleDate(value: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}
