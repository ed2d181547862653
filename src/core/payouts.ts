import { METRICS } from '../config/contract';
import type { ApplyFields } from '../lianlian/messages';
import { notificationSchema, parseWireBody } from '../lianlian/messages';
import { formatFen, parseWireAmount } from '../lianlian/money';
import { type VerifyingKeys, verifyFields } from '../lianlian/sign';
import { formatDtOrder } from '../lianlian/time';
import {
  type ControlPolicy,
  NO_CONTROLS,
  needsApproval,
  payoutMaxBreach,
  RELEASING,
  releaseFor,
  reservationFields,
  reservationFor,
  usesPayeeLimits,
} from './controls';
import {
  ConflictError,
  ForbiddenError,
  InvalidStateError,
  LimitExceededError,
  NotFoundError,
  TransitionConflictError,
  ValidationError,
} from './errors';
import { maskCardNo, maskName } from './mask';
import { OPTIONAL_APPLY_FIELDS, type PayeeSecret, type PayoutOrder } from './model';
import type {
  ApplyOutcome,
  Clock,
  FieldCipher,
  Log,
  MetricsPort,
  OrderStore,
  PayeeKeyer,
  ProviderClient,
  QueryOutcome,
} from './ports';
import { type PayoutRequest, parsePayoutRequest, requestDigest } from './request';

import {
  type Decision,
  decide,
  neverSent,
  resultContradiction,
  type TransitionAlarm,
  type TransitionContext,
  type TransitionInput,
} from './transition';
import { type PayoutView, toView } from './view';

export interface PayoutConfig {
  readonly oidPartner: string;
  readonly notifyUrl: string;
  readonly notFoundGraceMs: number;
  /** After SUCCESS, look once more this much later for a CANCEL whose notifications were lost; 0 = off. */
  readonly returnWatchMs?: number;
  /** When reconciliation first looks at a new order (its minimum age). */
  readonly firstCheckDelayMs: number;
  /** Spending controls (issue 10); absent = NO_CONTROLS (nothing waits, nothing is counted). */
  readonly controls?: ControlPolicy;
  /** How long a 9104-refused order waits for funds before it is REJECTED (FUNDS_WAIT_SECONDS; default one day). */
  readonly fundsWaitMs?: number;
}

/** The ports the payout rules need; handlers and local mode pass real adapters, tests pass fakes. */
export interface PayoutDeps {
  readonly store: OrderStore;
  readonly provider: ProviderClient;
  readonly cipher: FieldCipher;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly config: PayoutConfig;
  /** Keyed hash of card numbers; required only when per-payee limits are configured. */
  readonly payeeKeys?: PayeeKeyer;
}

const MAX_CONFLICT_RETRIES = 5;

// ---------------------------------------------------------------------------------------------------
// Apply: POST /payouts
// ---------------------------------------------------------------------------------------------------

export type CreateResult = { readonly created: boolean; readonly view: PayoutView };

/**
 * Records the payout, then sends the apply — exactly once: only the request whose conditional create
 * wins sends. A repeat with identical fields gets the current view; different fields are a conflict.
 *
 * Spending controls (issue 10): over the per-payout maximum is refused before anything is recorded; at
 * or above the approval threshold the order is recorded AWAITING_APPROVAL and nothing is sent; otherwise
 * the create and the limit counters are one transaction (a crossed limit records nothing).
 * `principal` is who asks (from the API Gateway request context, never from a header).
 */
export async function createPayout(
  deps: PayoutDeps,
  body: unknown,
  principal?: string,
): Promise<CreateResult> {
  const parsed = parsePayoutRequest(body);
  if (!parsed.ok) throw new ValidationError(parsed.errors);
  const request = parsed.request;
  try {
    return await recordAndSend(deps, request, principal);
  } catch (error) {
    if (!(error instanceof LimitExceededError)) throw error;
    // A 422 promises "nothing recorded, the number is free". A limit lowered since the first attempt must
    // not turn an identical retry of a recorded (perhaps paid) payout into that answer: the caller would
    // pay again under a new number. So a refusal is checked against what is stored (a rare extra read).
    const existing = await deps.store.get(request.no_order);
    if (!existing) throw error;
    await assertSameRequest(deps, existing, request);
    return { created: false, view: toView(existing) };
  }
}

async function recordAndSend(
  deps: PayoutDeps,
  request: PayoutRequest,
  principal: string | undefined,
): Promise<CreateResult> {
  const policy = controlsOf(deps);
  const now = deps.clock.now();
  const breach = payoutMaxBreach(policy, request.money_fen);
  if (breach) throw new LimitExceededError(breach.limit, breach.remaining);
  const base = await newOrder(deps, request, now, principal);

  if (needsApproval(policy, request.money_fen)) {
    const expiresAt = new Date(now.getTime() + policy.approvalTtlMs).toISOString();
    const waiting: PayoutOrder = {
      ...base,
      status: 'AWAITING_APPROVAL',
      // The due index finds it at its expiry; reconciliation voids it then and never queries it.
      next_check_at: expiresAt,
      approval_expires_at: expiresAt,
    };
    const created = await deps.store.create(waiting);
    if (!created.created) {
      await assertSameRequest(deps, created.existing, request);
      return { created: false, view: toView(created.existing) };
    }
    deps.log.info('payout awaiting approval', {
      no_order: waiting.no_order,
      money_order: waiting.money_order,
      principal,
    });
    return { created: true, view: toView(waiting) };
  }

  const commit = reservationFor(
    policy,
    request.money_fen,
    now,
    await payeeKeyOf(deps, policy, request.payee),
  );
  const order: PayoutOrder = commit ? { ...base, ...reservationFields(commit) } : base;
  const created = await deps.store.create(order, commit);
  if (!created.created) {
    await assertSameRequest(deps, created.existing, request);
    return { created: false, view: toView(created.existing) };
  }
  // Debug, not info: the status change below is the one line per transition operators need, and log
  // volume is a real share of the cost per payout.
  deps.log.debug('payout recorded', { no_order: order.no_order, money_order: order.money_order });

  const latest = await sendApply(deps, order, request.payee, 'apply');
  return { created: true, view: toView(latest) };
}

/**
 * Sends the apply of an order this caller has claimed (its create, its approval, or its resend claim won)
 * and feeds the answer to the transition function. The one place an apply leaves the service.
 */
export async function sendApply(
  deps: PayoutDeps,
  claimed: PayoutOrder,
  payee: PayeeSecret,
  source: 'apply' | 'query' | 'reconcile',
): Promise<PayoutOrder> {
  const outcome = await deps.provider.apply(applyFields(deps.config, claimed, payee));
  logApplyOutcome(deps, claimed.no_order, outcome);
  return applyInput(deps, claimed, { type: 'apply', source, outcome });
}

export function controlsOf(deps: PayoutDeps): ControlPolicy {
  return deps.config.controls ?? NO_CONTROLS;
}

/** The payee key, computed only when per-payee limits are configured (a KMS call in AWS). */
export async function payeeKeyOf(
  deps: PayoutDeps,
  policy: ControlPolicy,
  payee: PayeeSecret,
): Promise<string | undefined> {
  if (!usesPayeeLimits(policy)) return undefined;
  if (!deps.payeeKeys) throw new Error('per-payee limits are configured but no payee keyer is');
  return deps.payeeKeys.key(payee.card_no);
}

async function newOrder(
  deps: PayoutDeps,
  request: PayoutRequest,
  now: Date,
  principal?: string,
): Promise<PayoutOrder> {
  const firstCheck = new Date(now.getTime() + deps.config.firstCheckDelayMs).toISOString();
  return orderFromRequest(deps, request, now, { status: 'PENDING', next_check_at: firstCheck }, principal);
}

/**
 * The stored order for a validated request: sealed payee, masked fields, digest, one apply counted. The
 * one constructor of new orders; a single payout starts PENDING, a batch item QUEUED with its batch fields.
 */
export async function orderFromRequest(
  deps: Pick<PayoutDeps, 'cipher'>,
  request: PayoutRequest,
  now: Date,
  start: Pick<PayoutOrder, 'status' | 'next_check_at'> & Partial<Pick<PayoutOrder, 'batch_id' | 'batch_seq'>>,
  principal?: string,
): Promise<PayoutOrder> {
  const at = now.toISOString();
  return {
    no_order: request.no_order,
    version: 1,
    money_fen: request.money_fen,
    money_order: formatFen(request.money_fen),
    flag_card: request.flag_card,
    info_order: request.info_order,
    // A batch item's is replaced when the dispatcher claims it (the provider sees the time it was sent).
    dt_order: formatDtOrder(now),
    ...request.optional,
    // The cipher caches its data key: a batch of 5,000 seals with one, no KMS call per row.
    payee_sealed: await deps.cipher.seal(request.payee, request.no_order),
    card_no_masked: maskCardNo(request.payee.card_no),
    acct_name_masked: maskName(request.payee.acct_name),
    request_digest: requestDigest(request),
    created_at: at,
    updated_at: at,
    applied_at: at,
    apply_attempts: 1,
    check_count: 0,
    anomalies: 0,
    history: [],
    ...start,
    ...(principal === undefined ? {} : { created_by: principal }),
  };
}

async function assertSameRequest(
  deps: PayoutDeps,
  existing: PayoutOrder,
  request: PayoutRequest,
): Promise<void> {
  let same = existing.request_digest === requestDigest(request);
  if (same) {
    const payee = await deps.cipher.open(existing.payee_sealed, existing.no_order);
    same = payee.card_no === request.payee.card_no && payee.acct_name === request.payee.acct_name;
  }
  if (!same) {
    deps.log.warn('payout number reused with different fields', { no_order: existing.no_order });
    throw new ConflictError(`no_order ${existing.no_order} already exists with different fields`);
  }
}

function applyFields(config: PayoutConfig, order: PayoutOrder, payee: PayeeSecret): ApplyFields {
  const fields: ApplyFields = {
    oid_partner: config.oidPartner,
    api_version: '1.2',
    no_order: order.no_order,
    dt_order: order.dt_order,
    money_order: order.money_order,
    flag_card: order.flag_card,
    card_no: payee.card_no,
    acct_name: payee.acct_name,
    info_order: order.info_order,
    notify_url: config.notifyUrl,
  };
  for (const key of OPTIONAL_APPLY_FIELDS) {
    const value = order[key];
    if (value !== undefined) fields[key] = value;
  }
  return fields;
}

function logApplyOutcome(deps: PayoutDeps, noOrder: string, outcome: ApplyOutcome): void {
  const attrs = { no_order: noOrder, outcome: outcome.kind, ret_code: outcome.retCode };
  if (outcome.kind === 'unknown' && outcome.reason === 'bad_signature') {
    deps.metrics.count(METRICS.signatureFailures, 1, { kind: 'apply' });
  }
  if (outcome.kind === 'unknown') {
    deps.log.warn('apply outcome unknown; the order will be queried', { ...attrs, reason: outcome.reason });
    if (outcome.knownCode === false) deps.metrics.count(METRICS.unknownCodes, 1, { api: 'apply' });
  } else {
    deps.log.debug('apply answered', attrs);
  }
}

// ---------------------------------------------------------------------------------------------------
// The write path every input goes through
// ---------------------------------------------------------------------------------------------------

/**
 * Decides and writes one input, conditionally on the state the decision was computed from. On a
 * concurrent change it re-reads and decides again: the newer state may make the input a no-op.
 */
export async function applyInput(
  deps: PayoutDeps,
  known: PayoutOrder | undefined,
  input: TransitionInput,
  noOrder = known?.no_order,
): Promise<PayoutOrder> {
  return (await decideAndWrite(deps, known, input, noOrder)).order;
}

/** applyInput, also answering the decision that was written (the last one, after any conflict retry). */
async function decideAndWrite(
  deps: PayoutDeps,
  known: PayoutOrder | undefined,
  input: TransitionInput,
  noOrder = known?.no_order,
): Promise<{ order: PayoutOrder; decision: Decision }> {
  if (!noOrder) throw new Error('applyInput needs an order or its number');
  let order = known;
  for (let attempt = 0; ; attempt++) {
    order ??= await deps.store.get(noOrder);
    if (!order) throw new NotFoundError(`payout ${noOrder} not found`);
    const decision = decide(order, input, transitionContext(deps));
    try {
      return { order: await write(deps, order, decision), decision };
    } catch (error) {
      if (!(error instanceof TransitionConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
      order = undefined;
    }
  }
}

/** The metric each alarm of the transition function is counted under. */
const ALARM_METRICS: Record<TransitionAlarm, string> = {
  resend_refused: METRICS.resendRefused,
  applied_at_unreadable: METRICS.appliedAtUnreadable,
};

function raiseAlarm(deps: PayoutDeps, order: PayoutOrder, alarm: TransitionAlarm, reason?: string): void {
  deps.metrics.count(ALARM_METRICS[alarm], 1);
  deps.log.error(
    alarm === 'resend_refused'
      ? 'resend refused: the order stays open, the first apply may still be paying'
      : 'applied_at unreadable: 8901 is treated as inside the grace period',
    { no_order: order.no_order, status: order.status, alarm, reason },
  );
}

export function transitionContext(deps: PayoutDeps): TransitionContext {
  return {
    now: deps.clock.now(),
    notFoundGraceMs: deps.config.notFoundGraceMs,
    returnWatchMs: deps.config.returnWatchMs,
    firstCheckDelayMs: deps.config.firstCheckDelayMs,
    ...(deps.config.fundsWaitMs === undefined ? {} : { fundsWaitMs: deps.config.fundsWaitMs }),
  };
}

/** A refused person's action becomes the error the API maps to 403 / 409. */
export function refusal(noOrder: string, decision: Extract<Decision, { kind: 'refused' }>): Error {
  const message = `payout ${noOrder}: ${decision.reason}`;
  return decision.code === 'same_principal' ? new ForbiddenError(message) : new InvalidStateError(message);
}

async function write(deps: PayoutDeps, order: PayoutOrder, decision: Decision): Promise<PayoutOrder> {
  if (decision.kind === 'refused') throw refusal(order.no_order, decision);
  if (decision.kind === 'none' || decision.kind === 'resend') {
    deps.log.debug('no change', { no_order: order.no_order, status: order.status, reason: decision.reason });
    if (decision.kind === 'none' && decision.alarm) raiseAlarm(deps, order, decision.alarm, decision.reason);
    return order;
  }
  const at = deps.clock.now().toISOString();
  if (decision.kind === 'anomaly') {
    // Status unchanged and no leaveDueIndex: a watched or open order keeps its place in the due index.
    const written = await deps.store.update(order, {
      status: order.status,
      set: decision.set,
      history: decision.entry,
      at,
    });
    deps.metrics.count(METRICS.anomalies, 1);
    deps.log.error('payout anomaly recorded, not applied', {
      no_order: order.no_order,
      status: order.status,
      anomaly: decision.entry.anomaly,
      ret_code: decision.entry.ret_code,
      result_pay: decision.entry.result_pay,
    });
    return written;
  }
  // A reserved order ending with nothing paid gives its amount back to the day, in the same conditional
  // write: the condition on status+version makes the release happen once however often the result comes.
  const releases = order.limit_held === true && RELEASING.has(decision.status);
  const release = releases ? releaseFor(order, decision.status, deps.clock.now()) : undefined;
  const written = await deps.store.update(
    order,
    {
      status: decision.status,
      set: releases ? { ...decision.set, limit_held: false } : decision.set,
      history: decision.entry,
      at,
      ...(decision.leaveDueIndex ? { leaveDueIndex: true } : {}),
    },
    release,
  );
  deps.log.info('payout status changed', {
    no_order: order.no_order,
    from: order.status,
    to: decision.status,
    source: decision.entry.source,
    ret_code: decision.entry.ret_code,
    result_pay: decision.entry.result_pay,
    ...(decision.entry.principal ? { principal: decision.entry.principal } : {}),
  });
  // Counted after the write: a conflict retry decides again and raises it at most once per written change.
  if (decision.alarm) raiseAlarm(deps, written, decision.alarm, decision.entry.note);
  return written;
}

// ---------------------------------------------------------------------------------------------------
// Query: GET /payouts/{no_order}[?refresh=true]
// ---------------------------------------------------------------------------------------------------

export async function getPayout(deps: PayoutDeps, noOrder: string, refresh: boolean): Promise<PayoutView> {
  const order = await deps.store.get(noOrder);
  if (!order) throw new NotFoundError(`payout ${noOrder} not found`);
  if (!refresh) return toView(order);
  const outcome = await deps.provider.query(order.no_order, order.dt_order);
  return toView((await applyQueryOutcome(deps, order, outcome, 'query', { mayResend: false })).order);
}

export interface QueryApplied {
  /** The order as it stands afterwards. */
  readonly order: PayoutOrder;
  /** True when the answer made us send the apply again (PENDING unknown to the provider past the grace). */
  readonly resent: boolean;
}

export interface QueryHooks {
  /** Awaited just before a resend goes out (reconciliation takes a rate-limit slot here). */
  readonly beforeResend?: () => Promise<void>;
  /**
   * Whether this caller may resend (default true). A reader's GET ?refresh=true may not: sending money
   * again is reconciliation's job, under its rate limit and with the grants to open the payee.
   */
  readonly mayResend?: boolean;
}

/**
 * Feeds a query answer into the transition function, and acts on its decision: an unknown answer changes
 * nothing; PENDING + 8901 past the grace resends the apply (resendPending) — the resend decision lives
 * here, in the use case; reconciliation only schedules, counts and backs off.
 */
export async function applyQueryOutcome(
  deps: PayoutDeps,
  order: PayoutOrder,
  outcome: QueryOutcome,
  source: 'query' | 'reconcile',
  hooks: QueryHooks = {},
): Promise<QueryApplied> {
  if (outcome.kind === 'unknown') {
    deps.log.warn('query outcome unknown', {
      no_order: order.no_order,
      reason: outcome.reason,
      ret_code: outcome.retCode,
    });
    if (outcome.reason === 'bad_signature') {
      deps.metrics.count(METRICS.signatureFailures, 1, { kind: 'query' });
    }
    if (outcome.knownCode === false) deps.metrics.count(METRICS.unknownCodes, 1, { api: 'query' });
    return { order, resent: false };
  }
  if (outcome.kind === 'not_found') {
    const { order: current, decision } = await decideAndWrite(deps, order, { type: 'not_found', source });
    if (decision.kind !== 'resend' || hooks.mayResend === false) return { order: current, resent: false };
    await hooks.beforeResend?.();
    return { order: await resendPending(deps, current, decision.reason, source), resent: true };
  }
  const result = outcome.result;
  const amount = parseWireAmount(result.money_order);
  const after = await applyInput(deps, order, {
    type: 'result',
    source,
    resultPay: result.result_pay,
    // parseWireAmount succeeded during schema validation; -1 can never equal a stored amount.
    moneyFen: amount.ok ? amount.fen : -1,
    dtOrder: result.dt_order,
    oidPaybill: result.oid_paybill,
    settleDate: result.settle_date,
    memo: result.memo,
    retCode: result.ret_code,
  });
  return { order: after, resent: false };
}

// ---------------------------------------------------------------------------------------------------
// Notification: POST /lianlian/notify
// ---------------------------------------------------------------------------------------------------

const NOTIFY_ACK = { ret_code: '0000', ret_msg: '交易成功' } as const;

export type NotifyAnswer =
  | { readonly ack: true; readonly body: typeof NOTIFY_ACK }
  | { readonly ack: false; readonly reason: string; readonly body: { ret_code: string; ret_msg: string } };

function refuse(reason: string, retMsg: string): NotifyAnswer {
  return { ack: false, reason, body: { ret_code: '9999', ret_msg: retMsg } };
}

/**
 * Verifies before believing anything (spec §5): signature over every received field, our merchant
 * number, an order we know, the same amount. Any failed check answers non-0000 and changes nothing.
 * Store failures propagate so the caller answers an error and the provider retries.
 */
export async function receiveNotification(
  deps: PayoutDeps,
  keys: VerifyingKeys,
  rawBody: string,
): Promise<NotifyAnswer> {
  const wire = parseWireBody(rawBody);
  if (!wire.ok) return refuse(wire.reason, '报文格式错误');
  const fields = wire.fields;
  const verified = verifyFields(fields, keys);
  if (!verified.ok) {
    // Counted: a stream of these is either an attack or a key out of step with the provider's.
    deps.metrics.count(METRICS.signatureFailures, 1, { kind: 'notify' });
    return refuse(`signature: ${verified.reason}`, '验签失败');
  }
  const parsed = notificationSchema.safeParse(fields);
  if (!parsed.success) return refuse('fields invalid', '参数错误');
  const n = parsed.data;
  if (n.oid_partner !== deps.config.oidPartner) return refuse('oid_partner is not ours', '商户号不匹配');
  const order = await deps.store.get(n.no_order);
  if (!order) return refuse('unknown order', '订单不存在');
  const amount = parseWireAmount(n.money_order);
  if (!amount.ok) return refuse('money_order unreadable', '参数错误');
  const input: TransitionInput = {
    type: 'result',
    source: 'notify',
    resultPay: n.result_pay,
    moneyFen: amount.fen,
    dtOrder: n.dt_order,
    oidPaybill: n.oid_paybill,
    settleDate: n.settle_date,
  };
  // A correctly signed notification that contradicts the order (another amount or dt_order) is written
  // down as an anomaly by the transition function — once: the provider's retries find it recorded — and
  // refused, so the provider keeps it open on its side and someone looks.
  await applyInput(deps, order, input);
  // A result for an order we never sent is recorded (anomaly) and refused too: acknowledging it would stop
  // the provider's redelivery of something nobody here believes.
  if (neverSent(order.status)) return refuse(`result for a never-sent ${order.status} order`, '订单未发送');
  const contradiction = resultContradiction(order, input);
  if (contradiction) return refuse(contradiction, '订单信息不符');
  return { ack: true, body: NOTIFY_ACK };
}

// ---------------------------------------------------------------------------------------------------
// Resend of a PENDING order (decided by applyQueryOutcome)
// ---------------------------------------------------------------------------------------------------

/**
 * Sends the apply again under the SAME no_order and dt_order. The attempt is claimed first with a
 * conditional write (PENDING at this version), so two reconcilers can never both send.
 */
export async function resendPending(
  deps: PayoutDeps,
  order: PayoutOrder,
  reason: string,
  source: 'query' | 'reconcile' = 'reconcile',
): Promise<PayoutOrder> {
  if (order.status !== 'PENDING') return order;
  const now = deps.clock.now();
  const at = now.toISOString();
  // Opened before the claim: a claim whose apply then cannot be built would record an attempt (and restart
  // the grace) for an apply never sent, and a caller retrying that would postpone the resend forever.
  const payee = await deps.cipher.open(order.payee_sealed, order.no_order);
  const claimed = await deps.store.update(order, {
    status: 'PENDING',
    set: { apply_attempts: order.apply_attempts + 1, applied_at: at },
    history: { at, source, from: 'PENDING', to: 'PENDING', note: `apply resent: ${reason}` },
    at,
  });
  deps.log.warn('resending apply under the same no_order', {
    no_order: order.no_order,
    attempt: claimed.apply_attempts,
  });
  // A refusal of this resend is never final (the transition function sees apply_attempts > 1).
  return sendApply(deps, claimed, payee, source);
}
