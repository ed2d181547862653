import type { KeyObject } from 'node:crypto';
import type { ResultPay } from '../src/lianlian/codes';
import type { SignType } from '../src/lianlian/sign';
import type { Clock } from './clock';
import type { ScenarioName } from './scenarios';

/** The sandbox's public types; `sandbox/server.ts` re-exports them, so importers keep using that path. */

export interface SandboxOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 = a random free port. */
  port?: number;
  /** The merchant number it serves (18 digits). */
  oidPartner: string;
  /** Verifies RSA-signed requests; absent ⇒ RSA requests get 1001. */
  merchantPublicKey?: KeyObject;
  /** Verifies MD5-signed requests; absent ⇒ MD5 requests get 1001. */
  md5Key?: string;
  /** Signs answers and notifications; a 1024-bit key is generated when absent. */
  providerPrivateKey?: KeyObject;
  /** Gap between notification attempts, default 120_000 (spec §5: 30 tries, 2 min apart). */
  notifyIntervalMs?: number;
  /** Default 30. */
  notifyMaxAttempts?: number;
  /** Per attempt, default 5_000 (spec §5). */
  notifyTimeoutMs?: number;
  /** Time between processing steps WAITING → PROCESSING → final, default 1_000. */
  stepMs?: number;
  /** Response delay of the `applyTimeout` scenario, default 15_000. */
  applyDelayMs?: number;
  /** How long the `notFoundAtFirst` scenario answers 8901, default 5_000. */
  notFoundForMs?: number;
  /** Global switch: never deliver notifications (toggle at runtime with setDropNotifications). */
  dropNotifications?: boolean;
  /** Default false: bank_name sits outside the query signature (spec §4). */
  signBankName?: boolean;
  /**
   * The merchant balance (spec §11) at start and after every reset(), in fen; default 10_000_000_000
   * (100,000,000.00 yuan, enough never to matter). Taken orders are debited, FAILURE and CANCEL credited
   * back, and an apply that does not fit gets an unsigned 9104 with nothing recorded.
   */
  balanceFen?: number;
  /** Most recent requests / notification attempts kept in memory (each), default 100_000. */
  maxRecords?: number;
  /** Default: no output. Lines never contain card numbers or payee names. */
  log?: (line: string) => void;
  /**
   * Time and timers: default real time. Give a `ManualClock` (sandbox/clock.ts) and processing steps,
   * notification retries, per-attempt deadlines, held-back answers and `notFoundForMs` only move when the
   * test advances it; recorded times are the clock's.
   */
  clock?: Clock;
  /** Called synchronously with every event (see `SandboxEvent`); an exception thrown here is logged, not raised. */
  onEvent?: (event: SandboxEvent) => void;
}

export interface RecordedRequest {
  /** ISO-8601 UTC. */
  readonly at: string;
  readonly path: string;
  /** The fields as received, with card_no and acct_name masked; empty when the body was unreadable. */
  readonly body: Readonly<Record<string, string>>;
  readonly retCode: string;
}

export interface NotificationAttempt {
  /** ISO-8601 UTC time the attempt was sent. */
  readonly at: string;
  readonly no_order: string;
  /** 1-based, counted per series (a CANCEL after SUCCESS starts again at 1). */
  readonly attempt: number;
  readonly url: string;
  readonly result_pay: string;
  /** True when the merchant answered HTTP 200 with ret_code 0000 in time. */
  readonly delivered: boolean;
  readonly status?: number;
  readonly answeredRetCode?: string;
  /** Transport failure: 'timeout', a socket error code, or why the answer was unreadable. */
  readonly error?: string;
  readonly durationMs: number;
  /** The signed fields exactly as sent. */
  readonly body: Readonly<Record<string, string>>;
}

export interface OrderEvent {
  readonly at: string;
  readonly result_pay: ResultPay;
}

export interface SandboxOrder {
  readonly no_order: string;
  readonly oid_partner: string;
  readonly dt_order: string;
  readonly money_order: string;
  readonly info_order: string;
  readonly notify_url: string;
  readonly flag_card: string;
  readonly sign_type: SignType;
  readonly oid_paybill: string;
  readonly result_pay: ResultPay;
  readonly settle_date?: string;
  readonly memo?: string;
  readonly bank_code?: string;
  readonly bank_name: string;
  readonly card_no_masked: string;
  readonly acct_name_masked: string;
  readonly scenario: ScenarioName;
  readonly created_at: string;
  readonly history: readonly OrderEvent[];
}

export interface SandboxStats {
  readonly applies: number;
  /** Applies that took an order (see acceptedApplies). */
  readonly acceptedApplies: number;
  readonly queries: number;
  readonly appliesPerSecond: number;
  readonly queriesPerSecond: number;
  readonly windowSeconds: number;
  /** Attempts actually sent over HTTP. */
  readonly notificationsSent: number;
  readonly notificationsDelivered: number;
  /** Attempts swallowed while dropNotifications was on (they still count towards notifyMaxAttempts). */
  readonly notificationsDropped: number;
  readonly orders: number;
  /** Balance queries answered (any code). */
  readonly balanceQueries: number;
  /** The available balance as the balance query reports it (yuan, 2 decimals) and in fen. */
  readonly balance: string;
  readonly balanceFen: number;
  readonly dropNotifications: boolean;
  readonly pendingTimers: number;
  /** Answers given, by ret_code, over applies and queries. */
  readonly retCodes: Readonly<Record<string, number>>;
}

export interface Sandbox {
  /** Base URL, e.g. http://127.0.0.1:40123; the client appends /traderapi/… (and /traderAcctQuery.htm). */
  readonly url: string;
  readonly oidPartner: string;
  readonly providerPublicKey: KeyObject;
  /** SPKI DER base64: what LLP_PUBLIC_KEY takes. */
  readonly providerPublicKeyBase64: string;
  requests(): readonly RecordedRequest[];
  notifications(): readonly NotificationAttempt[];
  /**
   * Applies that took an order, optionally for one no_order. Besides plain 0000 answers this counts the
   * applies whose order was taken while the answer said otherwise or never arrived (applyTimeout,
   * systemErrorTaken, badSignature): it is the number of payouts the provider would execute.
   */
  acceptedApplies(noOrder?: string): number;
  order(noOrder: string): SandboxOrder | undefined;
  orders(): readonly SandboxOrder[];
  stats(): SandboxStats;
  /** Timers still scheduled (processing, notifications, delayed answers); 0 after close(). */
  pendingTimers(): number;
  setDropNotifications(drop: boolean): void;
  /** The available balance in fen (what the balance query reports as `amt_balance`). */
  balance(): number;
  /**
   * Adds `fen` (a positive whole number) to the balance and returns the new balance; throws RangeError
   * otherwise, or past 9999999999999.99 yuan. reset() restores the starting balance.
   */
  topup(fen: number): number;
  /** Events since start or the last reset(), oldest first (at most maxRecords kept). */
  events(): readonly SandboxEvent[];
  /**
   * Resolves with the first event, past (since the last reset) or future, that `predicate` accepts.
   * Rejects after `timeoutMs` of real time (default 5_000): a guard against a test hanging, never a way
   * to let time pass, so it works the same on a ManualClock.
   */
  waitFor<E extends SandboxEvent = SandboxEvent>(
    predicate: (event: SandboxEvent) => event is E,
    options?: { timeoutMs?: number },
  ): Promise<E>;
  waitFor(
    predicate: (event: SandboxEvent) => boolean,
    options?: { timeoutMs?: number },
  ): Promise<SandboxEvent>;
  /**
   * Forgets orders, recordings, events and counters, restores the starting balance, and cancels processing
   * and notification timers.
   */
  reset(): void;
  /** Stops the server, cancels every timer and aborts in-flight notifications. Idempotent. */
  close(): Promise<void>;
}

/**
 * What happened inside the sandbox, in order. Tests wait for these (`sandbox.waitFor`) instead of sleeping.
 * `at` is ISO-8601 UTC by the sandbox's clock. Never carries card numbers or payee names.
 */
export type SandboxEvent =
  /** An apply or query was answered (or, for applyTimeout, its answer was decided and is held back). */
  | {
      readonly type: 'request';
      readonly at: string;
      readonly path: string;
      readonly no_order?: string;
      readonly retCode: string;
      /** Hold-back of the answer in ms (applyTimeout), absent when answered at once. */
      readonly delayMs?: number;
    }
  /** A held-back apply answer went out. */
  | { readonly type: 'reply'; readonly at: string; readonly no_order?: string; readonly retCode: string }
  /** An order changed state (WAITING when taken). */
  | { readonly type: 'order'; readonly at: string; readonly no_order: string; readonly result_pay: ResultPay }
  /** A notification attempt finished (delivered or not): the recording `notifications()` also gets. */
  | { readonly type: 'notification'; readonly at: string; readonly attempt: NotificationAttempt }
  /** An attempt swallowed while dropNotifications was on. */
  | {
      readonly type: 'notificationDropped';
      readonly at: string;
      readonly no_order: string;
      readonly result_pay: string;
      readonly attempt: number;
    }
  /** A notification series stopped: delivered, or notifyMaxAttempts used up. */
  | {
      readonly type: 'seriesEnded';
      readonly at: string;
      readonly no_order: string;
      readonly result_pay: string;
      readonly attempts: number;
      readonly delivered: boolean;
    }
  | { readonly type: 'reset'; readonly at: string }
  | { readonly type: 'closed'; readonly at: string };
