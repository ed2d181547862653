/** China time (UTC+8): the provider's dt_order, the daily limits and the daily close all count in it. */
export const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;

/** The China day (UTC+8, yyyy-mm-dd) an instant belongs to; it rolls over at 16:00 UTC. */
export function chinaDay(at: Date): string {
  return new Date(at.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 10);
}

/** The first instant (UTC) of a China day given as yyyy-mm-dd. */
export function chinaDayStart(day: string): Date {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - CHINA_OFFSET_MS);
}
