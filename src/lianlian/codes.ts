/** What a `ret_code` lets the merchant conclude (spec §7). */
export type RetCodeConclusion = 'accepted' | 'rejected' | 'unknown' | 'not_found';

export interface RetCodeInfo {
  readonly conclusion: RetCodeConclusion;
  readonly meaning: string;
  /** False for codes outside the catalogue: still "unknown — query", and worth an alarm. */
  readonly known: boolean;
}

const entry = (conclusion: RetCodeConclusion, meaning: string): RetCodeInfo => ({
  conclusion,
  meaning,
  known: true,
});

export const RET_CODES: Readonly<Record<string, RetCodeInfo>> = {
  '0000': entry('accepted', 'accepted (apply) / success (query, notify)'),
  '1001': entry('rejected', 'signature check failed'),
  // A duplicate no_order says the provider already has this order: its outcome is unknown, never "failed".
  '1002': entry('unknown', 'duplicate no_order'),
  '1004': entry('rejected', 'parameter invalid'),
  '1005': entry('rejected', 'processing failed / account type not supported'),
  '1008': entry('rejected', 'request IP not allowed'),
  '1009': entry('rejected', 'merchant suspended'),
  '1012': entry('rejected', 'body unreadable'),
  '2005': entry('unknown', 'original transaction already in progress'),
  '3001': entry('rejected', 'invalid merchant'),
  '5501': entry('rejected', 'CNAPS (prcptcd) lookup failed'),
  '5502': entry('rejected', 'credit cards cannot receive payouts'),
  '5503': entry('rejected', 'merchant has no payout permission'),
  '5504': entry('rejected', 'operation not permitted'),
  '5505': entry('rejected', 'bank not configured'),
  '8901': entry('not_found', 'no such order'),
  '9104': entry('rejected', 'merchant balance insufficient'),
  '9910': entry('rejected', 'risk too high'),
  '9911': entry('rejected', 'over per-payout limit'),
  '9912': entry('rejected', 'over daily limit'),
  '9913': entry('rejected', 'over monthly limit'),
  '9999': entry('unknown', 'system error'),
};

export function classifyRetCode(code: string): RetCodeInfo {
  // Own properties only: a provider-controlled string such as "toString" or "__proto__" must not resolve
  // to something inherited from Object.prototype.
  if (Object.hasOwn(RET_CODES, code)) return RET_CODES[code]!;
  return { conclusion: 'unknown', meaning: 'code not in catalogue', known: false };
}

export type ResultPay = 'WAITING' | 'PROCESSING' | 'SUCCESS' | 'FAILURE' | 'CANCEL';

export interface ResultPayInfo {
  readonly final: boolean;
  readonly meaning: string;
}

/** Spec §8. SUCCESS is final but may still turn into CANCEL (the bank bounced it). */
export const RESULT_PAY: Readonly<Record<ResultPay, ResultPayInfo>> = {
  WAITING: { final: false, meaning: 'accepted, waiting to be processed' },
  PROCESSING: { final: false, meaning: 'at the bank' },
  SUCCESS: { final: true, meaning: 'paid (may later become CANCEL)' },
  FAILURE: { final: true, meaning: 'failed; the money stays with the merchant' },
  CANCEL: { final: true, meaning: 'returned after success; the money came back' },
};

export function isResultPay(value: string): value is ResultPay {
  return Object.hasOwn(RESULT_PAY, value);
}
