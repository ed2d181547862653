import { maskCardNo, maskName } from '../src/core/mask';

/**
 * Payee data never leaves the request handler in clear (trap §10.6): recordings, logs and admin answers
 * only ever see the masked forms the service itself shows (src/core/mask.ts).
 */

const MASKERS: Readonly<Record<string, (value: string) => string>> = {
  card_no: maskCardNo,
  acct_name: maskName,
};

/** A copy of received fields with the payee's secrets masked; every other field is kept as received. */
export function maskFields(fields: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    // A sender with a stray space or capital in the key (trap §10.7) must not leak the value either.
    const masker = MASKERS[key.trim().toLowerCase()];
    out[key] = masker ? masker(value) : value;
  }
  return out;
}
