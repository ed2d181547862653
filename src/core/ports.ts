import type { ApplyFields, QueryResult } from '../lianlian/messages';
import type { OrderChange, PayeeSecret, PayoutOrder } from './model';
import type { PayoutStatus } from './status';

/** Why an outcome is unknown. Every one of these means "query, and keep querying" (non-negotiable 1). */
export type UnknownReason =
  | 'timeout'
  | 'network'
  | 'http_status'
  | 'unparsable'
  | 'bad_signature'
  | 'unsigned_success'
  | 'mismatch'
  | 'code';

export type ApplyOutcome =
  | { kind: 'accepted'; retCode: '0000'; retMsg?: string; oidPaybill?: string }
  | { kind: 'rejected'; retCode: string; retMsg?: string }
  | { kind: 'unknown'; reason: UnknownReason; retCode?: string; retMsg?: string; knownCode?: boolean };

export type QueryOutcome =
  | { kind: 'found'; result: QueryResult }
  | { kind: 'not_found'; retCode: '8901'; retMsg?: string }
  | { kind: 'unknown'; reason: UnknownReason; retCode?: string; retMsg?: string; knownCode?: boolean };

/**
 * The provider as the payout rules see it. The HTTP adapter (src/adapters/provider) implements it; every
 * answer it cannot prove is `unknown`, and it never throws transport errors at the core.
 */
export interface ProviderClient {
  apply(fields: ApplyFields): Promise<ApplyOutcome>;
  query(noOrder: string, dtOrder?: string): Promise<QueryOutcome>;
}

/**
 * Why a balance is unknown: every reason of an apply or query, plus `not_configured` (no balance URL, so
 * nothing was sent). An unknown balance is never zero (spec §11): callers must not read it as "empty".
 */
export type BalanceUnknownReason = UnknownReason | 'not_configured';

/** The merchant's balance at the provider (spec §11), in integer fen, or why it is not known. */
export type BalanceOutcome =
  | { kind: 'known'; balanceFen: number; unsettledFen: number; retMsg?: string }
  | {
      kind: 'unknown';
      reason: BalanceUnknownReason;
      retCode?: string;
      retMsg?: string;
      knownCode?: boolean;
    };

/**
 * The provider's balance query, a port of its own so rules that need the balance (waiting for funds, the
 * low-balance alarm) do not need the whole ProviderClient. `bad_signature` is kept distinct so the core
 * can count it as a signature failure. Never throws transport errors.
 */
export interface BalanceQuery {
  balance(): Promise<BalanceOutcome>;
}

/**
 * The order store. Every write is conditional: `create` only if the no_order is new, `update` only if the
 * stored order still has the expected status and version. No read-then-write anywhere.
 */
export interface OrderStore {
  /**
   * With `commit` (a reservation), the create and the counter increments happen in one transaction:
   * either both or neither. A counter that would cross its limit throws LimitExceededError; an existing
   * order wins over a limit (the replay gets the existing order, nothing is counted twice).
   */
  create(
    order: PayoutOrder,
    commit?: LimitCommit,
  ): Promise<{ created: true } | { created: false; existing: PayoutOrder }>;
  /** Strongly consistent read. */
  get(noOrder: string): Promise<PayoutOrder | undefined>;
  /**
   * Writes `change` iff the stored order has `expected.status` and `expected.version`; bumps the version
   * and returns the order as written. Throws TransitionConflictError when the condition fails.
   * The due index: a change with `leaveDueIndex` leaves it, FAILURE/CANCEL/REJECTED never stay in it, a
   * change that sets next_check_at on an open order or a SUCCESS (the returns watch, see isDueIndexed) is
   * (re)indexed at that time, and every other change keeps the index attributes the order had.
   */
  /**
   * With `commit`, the counters move in the same transaction as the order (a reservation at approval, a
   * release when a reserved order ends with nothing paid). The order's condition failing throws
   * TransitionConflictError; a counter's (reserve only) throws LimitExceededError. Either way nothing
   * is written.
   */
  update(expected: OrderVersion, change: OrderChange, commit?: LimitCommit): Promise<PayoutOrder>;
  /** Non-final orders whose next_check_at is at or before `dueBefore`, oldest first, one page at a time. */
  listDue(query: { dueBefore: string; limit: number; cursor?: string }): Promise<DuePage>;
  /** Orders in AWAITING_APPROVAL, oldest created first (a sparse index; eventually consistent). */
  listAwaitingApproval(query: { limit: number; cursor?: string }): Promise<AwaitingPage>;
  /**
   * AWAITING_FUNDS orders, oldest created first (the FUNDS waiting queue of the same sparse index; issue
   * 13). Optional on the port so stores that never see funds need not implement it; the funds check
   * reaches it through its FundsStore.
   */
  listAwaitingFunds?(query: { limit: number; cursor?: string }): Promise<AwaitingPage>;
}

/**
 * Spending-limit counter movement committed with an order write. The store keeps one counter per China
 * day (`LIMIT#<day>`: amount_fen, count) and, when `payee` is given, one per payee and day
 * (`LIMIT#<day>#P#<key>`). A reserve adds `amountFen` and 1, each conditioned on not crossing the limits
 * given here (absent = count without a limit); a release subtracts them, unconditionally.
 */
export interface LimitCommit {
  readonly kind: 'reserve' | 'release';
  /** China day (UTC+8), yyyy-mm-dd. */
  readonly day: string;
  readonly amountFen: number;
  /** TTL of the counters, epoch seconds (a few days after the day ends). */
  readonly expiresAt: number;
  readonly dailyLimitFen?: number;
  readonly payee?: {
    readonly key: string;
    readonly limitFen?: number;
    readonly limitCount?: number;
  };
}

export interface AwaitingOrderRef {
  readonly no_order: string;
  readonly created_at: string;
}

export interface AwaitingPage {
  readonly items: readonly AwaitingOrderRef[];
  /** Opaque; absent on the last page. */
  readonly cursor?: string;
}

/**
 * Identifies a payee account without its number: a keyed hash (HMAC-SHA256, KMS GenerateMac in AWS, a
 * local key in local mode) of the card number, base64url. Same card, same key; never reversible.
 */
export interface PayeeKeyer {
  key(cardNo: string): Promise<string>;
}

export interface OrderVersion {
  readonly no_order: string;
  readonly status: PayoutStatus;
  readonly version: number;
}

export interface DueOrderRef {
  readonly no_order: string;
  readonly next_check_at: string;
}

export interface DuePage {
  readonly items: readonly DueOrderRef[];
  /** Opaque; absent on the last page. */
  readonly cursor?: string;
}

/**
 * Field-level envelope encryption of the payee's card number and name. The no_order is bound into the
 * ciphertext (AAD / encryption context) so a sealed value cannot be moved to another order.
 */
export interface FieldCipher {
  seal(secret: PayeeSecret, noOrder: string): Promise<string>;
  open(sealed: string, noOrder: string): Promise<PayeeSecret>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Structured logger (Powertools Logger satisfies it). Callers never pass card data, names or keys. */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** Business metrics (Powertools Metrics in AWS, an in-memory counter locally and in tests). */
export interface MetricsPort {
  count(name: string, value?: number, dimensions?: Record<string, string>): void;
}
