import type { ResultPay } from '../src/lianlian/codes';
import { formatFen, parseWireAmount } from '../src/lianlian/money';

/**
 * Behaviour the sandbox plays for an apply, chosen by the cents part of `money_order` so that a client
 * built from the spec can provoke every awkward path without a side channel. The table is the single
 * source for the server, the tests and docs/sandbox.md.
 */
export interface ScenarioSpec {
  /** The two cents digits that select the scenario (`success` is the fallback for every other value). */
  readonly cents: string;
  /** Example amount at 1 yuan, e.g. `'1.13'`. */
  readonly amount: string;
  /** What the apply answers. */
  readonly retCode: string;
  /** Whether the answer is signed (every non-0000 answer is unsigned, as in real traffic). */
  readonly signedAnswer: boolean;
  /** Whether the order is taken (and so processed, and a later apply of the same no_order gets 1002). */
  readonly taken: boolean;
  /** The last result_pay the order reaches; absent when nothing is taken. */
  readonly finalResult?: ResultPay;
  /** The failure reason reported as `memo` (query_version 1.1) once the order fails or is cancelled. */
  readonly memo?: string;
  /** Whether result notifications are sent. */
  readonly notifies: boolean;
  readonly description: string;
}

export const FAILURE_MEMO = '户名与卡号不符';
export const CANCEL_MEMO = '银行退票';
/** How many steps the `slow` scenario stays in PROCESSING. */
export const SLOW_STEPS = 10;

export const SCENARIOS = {
  success: {
    cents: '00',
    amount: '1.00',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: true,
    description: 'Any amount not listed below: WAITING → PROCESSING → SUCCESS, then notified.',
  },
  fail: {
    cents: '13',
    amount: '1.13',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'FAILURE',
    memo: FAILURE_MEMO,
    notifies: true,
    description: 'Accepted, then FAILURE (memo 户名与卡号不符), notified.',
  },
  cancel: {
    cents: '14',
    amount: '1.14',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'CANCEL',
    memo: CANCEL_MEMO,
    notifies: true,
    description: 'SUCCESS (notified), then CANCEL one step later (memo 银行退票), notified again.',
  },
  slow: {
    cents: '15',
    amount: '1.15',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: true,
    description: `Stays PROCESSING for ${SLOW_STEPS}×stepMs before SUCCESS.`,
  },
  applyTimeout: {
    cents: '16',
    amount: '1.16',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: true,
    description:
      'Order taken and processed normally, but the signed 0000 answer is held back for applyDelayMs (the client times out).',
  },
  systemErrorTaken: {
    cents: '17',
    amount: '1.17',
    retCode: '9999',
    signedAnswer: false,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: true,
    description: 'Answers unsigned 9999, yet the order was taken and is processed to SUCCESS.',
  },
  systemErrorNotTaken: {
    cents: '18',
    amount: '1.18',
    retCode: '9999',
    signedAnswer: false,
    taken: false,
    notifies: false,
    description: 'Answers unsigned 9999 and takes nothing: a later query answers 8901.',
  },
  notFoundAtFirst: {
    cents: '19',
    amount: '1.19',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: true,
    description: 'Processed normally, but queries answer 8901 for the first notFoundForMs after the apply.',
  },
  silent: {
    cents: '20',
    amount: '1.20',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: false,
    description: 'Processed to SUCCESS but never notified: only a query finds the result.',
  },
  creditCard: {
    cents: '21',
    amount: '1.21',
    retCode: '5502',
    signedAnswer: false,
    taken: false,
    notifies: false,
    description: 'Unsigned 5502 (credit cards cannot receive payouts); nothing taken.',
  },
  badSignature: {
    cents: '22',
    amount: '1.22',
    retCode: '0000',
    signedAnswer: true,
    taken: true,
    finalResult: 'SUCCESS',
    notifies: true,
    description:
      'Order taken and processed, but the 0000 answer carries a corrupted signature (queries and notifications are signed correctly).',
  },
  insufficientBalance: {
    cents: '23',
    amount: '1.23',
    retCode: '9104',
    signedAnswer: false,
    taken: false,
    notifies: false,
    description: 'Unsigned 9104 (merchant balance insufficient); nothing taken.',
  },
} as const satisfies Record<string, ScenarioSpec>;

export type ScenarioName = keyof typeof SCENARIOS;

export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

const BY_CENTS: ReadonlyMap<string, ScenarioName> = new Map(
  SCENARIO_NAMES.filter((name) => name !== 'success').map((name) => [SCENARIOS[name].cents, name]),
);

/** The scenario a wire amount selects; malformed amounts fall back to `success` (validation runs first). */
export function scenarioForAmount(moneyOrder: string): ScenarioName {
  const parsed = parseWireAmount(moneyOrder);
  if (!parsed.ok) return 'success';
  const cents = (parsed.fen % 100).toString().padStart(2, '0');
  return BY_CENTS.get(cents) ?? 'success';
}

/**
 * A wire amount that selects `scenario`: `amountFor('fail')` → `'1.13'`, `amountFor('fail', 250)` →
 * `'250.13'`. Integer yuan only, so no floating point ever touches the amount.
 */
export function amountFor(scenario: ScenarioName, yuan = 1): string {
  if (!Number.isSafeInteger(yuan) || yuan < 0) throw new RangeError('yuan must be a non-negative integer');
  const fen = yuan * 100 + Number.parseInt(SCENARIOS[scenario].cents, 10);
  if (fen <= 0) throw new RangeError('the amount must be greater than 0.00');
  const amount = formatFen(fen);
  if (!parseWireAmount(amount).ok) throw new RangeError('the amount exceeds the provider maximum');
  return amount;
}
