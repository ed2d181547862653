import type { KeyObject } from 'node:crypto';
import type * as z from 'zod/mini';
import { maskCardNo, maskName } from '../src/core/mask';
import { lookupBank } from '../src/lianlian/banks';
import { RESULT_PAY, type ResultPay } from '../src/lianlian/codes';
import { APPLY_PATH, BALANCE_PATH } from '../src/lianlian/endpoints';
import {
  type ApplyRequest,
  applyRequestSchema,
  balanceRequestSchema,
  fieldErrors,
  parseWireBody,
  queryRequestSchema,
} from '../src/lianlian/messages';
import { formatFen, MAX_BALANCE_FEN, parseWireAmount } from '../src/lianlian/money';
import { type SigningKeys, type SignType, signFields, verifyFields } from '../src/lianlian/sign';
import { formatSettleDate } from '../src/lianlian/time';
import type { Clock } from './clock';
import { type EventHub, pushBounded } from './events';
import { maskFields } from './mask';
import type { Notifier } from './notifier';
import {
  CANCEL_MEMO,
  FAILURE_MEMO,
  SCENARIOS,
  type ScenarioName,
  SLOW_STEPS,
  scenarioForAmount,
} from './scenarios';
import { RateWindow, type TimerSet } from './timers';
import type { OrderEvent, RecordedRequest, SandboxOrder } from './types';

/**
 * The provider's side of the contract: it judges applies and queries as LianLian would, keeps the orders,
 * moves them WAITING → PROCESSING → final on the clock per scenario (sandbox/scenarios.ts), and starts a
 * notification series at each final state. No HTTP here: routes.ts reads bodies and sends answers.
 */

const RATE_WINDOW_SECONDS = 10;

const MSG = {
  ok: '交易成功',
  badSign: '签名验证失败',
  duplicate: '商户订单号重复',
  badParam: (field: string) => `商户请求参数[${field}]非法`,
  unreadable: '请求报文解析失败',
  badMerchant: '商户不存在或状态异常',
  creditCard: '信用卡不支持代付',
  noOrder: '没有满足条件的记录',
  balance: '商户余额不足',
  system: '系统异常，请稍后查询',
} as const;

/** Card BINs of common test cards, for bank_name when a personal payout carries no bank_code. */
const BIN_BANKS: Readonly<Record<string, string>> = {
  '622202': '工商银行',
  '622848': '农业银行',
  '621661': '中国银行',
  '621700': '建设银行',
  '622588': '招商银行',
};

/** A request body as read off the wire, or why it could not be read. */
export type Body = { ok: true; text: string } | { ok: false; reason: string };
type Fields = Record<string, string>;

/** What an apply or query answers, plus what the recording and the log need. */
export interface Answer {
  /** The fields as received (masked before they are recorded). */
  readonly received: Fields;
  readonly retCode: string;
  readonly body: Fields;
  /** Why, for the log: never card data. */
  readonly note: string;
  /** Hold the answer back this long (the applyTimeout scenario). */
  readonly delayMs?: number;
}

/** Error answers are unsigned, as seen in real traffic (spec §3). */
function refuse(received: Fields, retCode: string, retMsg: string, note: string): Answer {
  return { received, retCode, body: { ret_code: retCode, ret_msg: retMsg }, note };
}

interface OrderState {
  no_order: string;
  oid_partner: string;
  dt_order: string;
  money_order: string;
  info_order: string;
  notify_url: string;
  flag_card: string;
  sign_type: SignType;
  oid_paybill: string;
  result_pay: ResultPay;
  settle_date?: string;
  memo?: string;
  bank_code?: string;
  bank_name: string;
  card_no_masked: string;
  acct_name_masked: string;
  scenario: ScenarioName;
  created_at: string;
  createdAtMs: number;
  /** Set once the amount went back to the balance (FAILURE or CANCEL), so it is credited only once. */
  creditedBack?: boolean;
  history: OrderEvent[];
}

export interface ProviderConfig {
  readonly oidPartner: string;
  readonly merchantPublicKey: KeyObject | undefined;
  readonly md5Key: string | undefined;
  readonly providerPrivateKey: KeyObject;
  readonly signBankName: boolean;
  readonly stepMs: number;
  readonly applyDelayMs: number;
  readonly notFoundForMs: number;
  readonly maxRecords: number;
  /** The merchant balance at start and after every reset, in fen. */
  readonly balanceFen: number;
}

export interface ProviderDeps {
  readonly config: ProviderConfig;
  readonly clock: Clock;
  /** Processing steps; cleared by the sandbox on reset() and close(). */
  readonly work: TimerSet;
  readonly notifier: Notifier;
  readonly events: EventHub;
  readonly log: (line: string) => void;
}

export class Provider {
  private orderMap = new Map<string, OrderState>();
  private recorded: RecordedRequest[] = [];
  private taken = new Map<string, number>();
  private counters = emptyCounters();
  private readonly applyRate: RateWindow;
  private readonly queryRate: RateWindow;
  private paybillSeq = Math.floor(Math.random() * 100_000_000);
  /** Available balance (spec §11 amt_balance) in fen: what a payout must fit into. */
  private balanceFen: number;

  constructor(private readonly deps: ProviderDeps) {
    this.balanceFen = deps.config.balanceFen;
    const now = deps.clock.now();
    this.applyRate = new RateWindow(RATE_WINDOW_SECONDS, now);
    this.queryRate = new RateWindow(RATE_WINDOW_SECONDS, now);
  }

  // ---------------------------------------------------------------- reading

  requests(): readonly RecordedRequest[] {
    return [...this.recorded];
  }

  acceptedApplies(noOrder?: string): number {
    if (noOrder !== undefined) return this.taken.get(noOrder) ?? 0;
    let total = 0;
    for (const count of this.taken.values()) total += count;
    return total;
  }

  order(noOrder: string): SandboxOrder | undefined {
    const order = this.orderMap.get(noOrder);
    return order ? snapshot(order) : undefined;
  }

  orders(): readonly SandboxOrder[] {
    return [...this.orderMap.values()].map(snapshot);
  }

  balance(): number {
    return this.balanceFen;
  }

  /**
   * Adds `fen` to the balance and returns the new balance. Refuses (RangeError) a non-positive or
   * fractional amount, and one that would take the balance past what the wire format can say.
   */
  topup(fen: number): number {
    if (!Number.isSafeInteger(fen) || fen <= 0)
      throw new RangeError('amount must be a positive whole number of fen');
    if (fen > MAX_BALANCE_FEN - this.balanceFen) {
      throw new RangeError(`amount would take the balance past ${formatFen(MAX_BALANCE_FEN)}`);
    }
    this.balanceFen += fen;
    this.deps.log(`topup ${formatFen(fen)} → balance ${formatFen(this.balanceFen)}`);
    return this.balanceFen;
  }

  counts() {
    const now = this.deps.clock.now();
    return {
      applies: this.counters.applies,
      queries: this.counters.queries,
      balanceQueries: this.counters.balanceQueries,
      appliesPerSecond: this.applyRate.rate(now),
      queriesPerSecond: this.queryRate.rate(now),
      windowSeconds: RATE_WINDOW_SECONDS,
      orders: this.orderMap.size,
      retCodes: { ...this.counters.retCodes },
    };
  }

  /** Forgets orders, recordings and counters, and restores the starting balance (the sandbox clears the timers). */
  forget(): void {
    this.orderMap = new Map();
    this.recorded = [];
    this.taken = new Map();
    this.counters = emptyCounters();
    this.balanceFen = this.deps.config.balanceFen;
    const now = this.deps.clock.now();
    this.applyRate.reset(now);
    this.queryRate.reset(now);
  }

  // ---------------------------------------------------------------- requests

  /** Judges one apply, query or balance query, records it (masked), logs it and emits its event. */
  answer(path: string, body: Body): Answer {
    const now = this.deps.clock.now();
    const kind = path === APPLY_PATH ? 'apply' : path === BALANCE_PATH ? 'balance' : 'query';
    const answer =
      kind === 'apply'
        ? this.apply(body, now)
        : kind === 'balance'
          ? this.balanceQuery(body)
          : this.query(body, now);
    this.record(path, answer.received, answer.retCode, now);
    this.deps.log(`${kind} ${answer.received.no_order ?? '-'} → ${answer.retCode} (${answer.note})`);
    this.deps.events.emit({
      type: 'request',
      at: new Date(now).toISOString(),
      path,
      ...(answer.received.no_order !== undefined ? { no_order: answer.received.no_order } : {}),
      retCode: answer.retCode,
      ...(answer.delayMs !== undefined ? { delayMs: answer.delayMs } : {}),
    });
    return answer;
  }

  /** What both endpoints check first, as the provider does: a readable body, the signature, the merchant. */
  private authenticate(
    body: Body,
  ): { ok: true; fields: Fields; verified: { signType: SignType } } | { ok: false; answer: Answer } {
    const { config } = this.deps;
    if (!body.ok) return { ok: false, answer: refuse({}, '1012', MSG.unreadable, body.reason) };
    const parsed = parseWireBody(body.text);
    if (!parsed.ok) return { ok: false, answer: refuse({}, '1012', MSG.unreadable, parsed.reason) };
    const fields = parsed.fields;
    const verified = verifyFields(fields, { publicKey: config.merchantPublicKey, md5Key: config.md5Key });
    if (!verified.ok) return { ok: false, answer: refuse(fields, '1001', MSG.badSign, verified.reason) };
    if (fields.oid_partner !== config.oidPartner) {
      return { ok: false, answer: refuse(fields, '3001', MSG.badMerchant, 'oid_partner') };
    }
    return { ok: true, fields, verified };
  }

  private apply(body: Body, now: number): Answer {
    this.counters.applies += 1;
    this.applyRate.hit(now);
    // The pipeline order (signature, merchant, fields, duplicate) is documented in docs/sandbox.md.
    const auth = this.authenticate(body);
    if (!auth.ok) return auth.answer;
    const { fields, verified } = auth;
    const validated = applyRequestSchema.safeParse(fields);
    if (!validated.success) {
      const field = firstBadField(validated.error);
      return refuse(fields, '1004', MSG.badParam(field), `${field} invalid`);
    }
    const request = validated.data;
    if (this.orderMap.has(request.no_order)) return refuse(fields, '1002', MSG.duplicate, 'duplicate');

    const scenario = scenarioForAmount(request.money_order);
    const spec = SCENARIOS[scenario];
    if (!spec.taken) {
      const msg =
        spec.retCode === '5502' ? MSG.creditCard : spec.retCode === '9104' ? MSG.balance : MSG.system;
      return refuse(fields, spec.retCode, msg, `${scenario}: nothing taken`);
    }
    // Spec §7: after a 9104 the same no_order may be sent again, so nothing about it is recorded — which
    // is why this comes after the duplicate check (a taken order must still answer 1002, never a 9104
    // that reads as "nothing happened") and before the order is taken.
    const fen = amountFen(request.money_order);
    if (fen > this.balanceFen) {
      return refuse(
        fields,
        '9104',
        MSG.balance,
        `${request.money_order} exceeds the balance ${formatFen(this.balanceFen)}`,
      );
    }

    const order = this.take(request, verified.signType, scenario, now);
    const note = `${scenario}: ${order.money_order} taken as ${order.oid_paybill}`;
    if (!spec.signedAnswer) return refuse(fields, spec.retCode, MSG.system, note);
    const signed = signFields(
      {
        ret_code: '0000',
        ret_msg: MSG.ok,
        oid_partner: order.oid_partner,
        no_order: order.no_order,
        oid_paybill: order.oid_paybill,
      },
      this.signingKeys(order.sign_type),
    );
    const answer: Answer = { received: fields, retCode: '0000', body: signed, note };
    if (scenario === 'badSignature') {
      return { ...answer, body: { ...signed, sign: corruptSignature(signed.sign, order.sign_type) } };
    }
    if (scenario === 'applyTimeout') return { ...answer, delayMs: this.deps.config.applyDelayMs };
    return answer;
  }

  private query(body: Body, now: number): Answer {
    this.counters.queries += 1;
    this.queryRate.hit(now);
    const auth = this.authenticate(body);
    if (!auth.ok) return auth.answer;
    const { fields, verified } = auth;
    // Trap §10.1: without type_dc=1 the provider searches merchant receipts, where a payout never is.
    const typeDc = fields.type_dc;
    if (typeDc === undefined || typeDc === '' || typeDc === '0') {
      return refuse(fields, '8901', MSG.noOrder, 'type_dc is not 1: searched receipts');
    }
    const validated = queryRequestSchema.safeParse(fields);
    if (!validated.success) {
      const field = firstBadField(validated.error);
      return refuse(fields, '1004', MSG.badParam(field), `${field} invalid`);
    }
    const query = validated.data;
    const order = this.orderMap.get(query.no_order);
    if (!order) return refuse(fields, '8901', MSG.noOrder, 'unknown no_order');
    if (order.scenario === 'notFoundAtFirst' && now - order.createdAtMs < this.deps.config.notFoundForMs) {
      return refuse(fields, '8901', MSG.noOrder, 'notFoundAtFirst: not visible yet');
    }
    // The provider keys an order by no_order and dt_order: a different order time finds nothing.
    if (query.dt_order !== undefined && query.dt_order !== order.dt_order) {
      return refuse(fields, '8901', MSG.noOrder, 'dt_order differs');
    }
    if (query.oid_paybill !== undefined && query.oid_paybill !== order.oid_paybill) {
      return refuse(fields, '8901', MSG.noOrder, 'oid_paybill differs');
    }

    const v11 = query.query_version === '1.1';
    const result = withoutUndefined({
      ret_code: '0000',
      ret_msg: MSG.ok,
      oid_partner: order.oid_partner,
      no_order: order.no_order,
      dt_order: order.dt_order,
      oid_paybill: order.oid_paybill,
      money_order: order.money_order,
      result_pay: order.result_pay,
      settle_date: order.settle_date,
      info_order: order.info_order,
      memo: v11 ? order.memo : undefined,
    }) as Fields;
    const keys = this.signingKeys(verified.signType);
    let answer: Fields;
    if (!v11) answer = signFields(result, keys);
    else if (this.deps.config.signBankName)
      answer = signFields({ ...result, bank_name: order.bank_name }, keys);
    // Spec §4: bank_name is reported to sit outside the signature, so it is added after signing.
    else answer = { ...signFields(result, keys), bank_name: order.bank_name };
    return { received: fields, retCode: '0000', body: answer, note: order.result_pay };
  }

  /**
   * Spec §11: `amt_balance` is what payouts must fit into; `amt_unsettle` is money received but not yet
   * settled, and the sandbox receives nothing, so it is always 0.00. Signed by the request's sign_type.
   */
  private balanceQuery(body: Body): Answer {
    this.counters.balanceQueries += 1;
    const auth = this.authenticate(body);
    if (!auth.ok) return auth.answer;
    const { fields, verified } = auth;
    const validated = balanceRequestSchema.safeParse(fields);
    if (!validated.success) {
      const field = firstBadField(validated.error);
      return refuse(fields, '1004', MSG.badParam(field), `${field} invalid`);
    }
    const amount = formatFen(this.balanceFen);
    const signed = signFields(
      { ret_code: '0000', ret_msg: MSG.ok, amt_balance: amount, amt_unsettle: '0.00' },
      this.signingKeys(verified.signType),
    );
    return { received: fields, retCode: '0000', body: signed, note: `balance ${amount}` };
  }

  // ---------------------------------------------------------------- the order state machine

  private take(request: ApplyRequest, signType: SignType, scenario: ScenarioName, now: number): OrderState {
    const at = new Date(now).toISOString();
    const order: OrderState = {
      no_order: request.no_order,
      oid_partner: request.oid_partner,
      dt_order: request.dt_order,
      money_order: request.money_order,
      info_order: request.info_order,
      notify_url: request.notify_url,
      flag_card: request.flag_card,
      sign_type: signType,
      oid_paybill: this.nextPaybill(now),
      result_pay: 'WAITING',
      bank_code: request.bank_code,
      bank_name: bankName(request.bank_code, request.card_no),
      card_no_masked: maskCardNo(request.card_no),
      acct_name_masked: maskName(request.acct_name),
      scenario,
      created_at: at,
      createdAtMs: now,
      history: [{ at, result_pay: 'WAITING' }],
    };
    this.orderMap.set(order.no_order, order);
    // The money leaves the available balance when the order is taken, whatever the answer says.
    this.balanceFen -= amountFen(order.money_order);
    this.taken.set(order.no_order, (this.taken.get(order.no_order) ?? 0) + 1);
    this.deps.events.emit({ type: 'order', at, no_order: order.no_order, result_pay: 'WAITING' });
    this.process(order);
    return order;
  }

  /** Schedules the order's path through its scenario, one stepMs per step. */
  private process(order: OrderState): void {
    const { work, config } = this.deps;
    const step = config.stepMs;
    work.add(() => {
      this.transition(order, 'PROCESSING');
      const processingSteps = order.scenario === 'slow' ? SLOW_STEPS : 1;
      work.add(() => {
        if (order.scenario === 'fail') {
          this.transition(order, 'FAILURE', FAILURE_MEMO);
          return;
        }
        this.transition(order, 'SUCCESS');
        if (order.scenario === 'cancel') {
          work.add(() => this.transition(order, 'CANCEL', CANCEL_MEMO), step);
        }
      }, step * processingSteps);
    }, step);
  }

  private transition(order: OrderState, to: ResultPay, memo?: string): void {
    // A timer that survived a reset must not touch an order the sandbox has forgotten.
    if (this.orderMap.get(order.no_order) !== order) return;
    const now = new Date(this.deps.clock.now());
    const at = now.toISOString();
    order.result_pay = to;
    order.history.push({ at, result_pay: to });
    if (RESULT_PAY[to].final) order.settle_date ??= formatSettleDate(now);
    if (memo !== undefined) order.memo = memo;
    // FAILURE: the money stays with the merchant; CANCEL: the bank returned it (spec §8).
    if ((to === 'FAILURE' || to === 'CANCEL') && !order.creditedBack) {
      order.creditedBack = true;
      this.balanceFen += amountFen(order.money_order);
    }
    this.deps.log(`order ${order.no_order} → ${to}`);
    this.deps.events.emit({ type: 'order', at, no_order: order.no_order, result_pay: to });
    if (RESULT_PAY[to].final && SCENARIOS[order.scenario].notifies) this.notify(order);
  }

  private notify(order: OrderState): void {
    const signed = signFields(
      {
        oid_partner: order.oid_partner,
        no_order: order.no_order,
        dt_order: order.dt_order,
        money_order: order.money_order,
        oid_paybill: order.oid_paybill,
        result_pay: order.result_pay,
        settle_date: order.settle_date,
        info_order: order.info_order,
      },
      this.signingKeys(order.sign_type),
    );
    this.deps.notifier.start({
      noOrder: order.no_order,
      url: order.notify_url,
      resultPay: order.result_pay,
      body: withoutUndefined(signed) as Fields,
    });
  }

  private nextPaybill(now: number): string {
    this.paybillSeq += 1;
    return `${formatSettleDate(new Date(now))}${this.paybillSeq.toString().padStart(10, '0')}`;
  }

  // ---------------------------------------------------------------- helpers

  private signingKeys(signType: SignType): SigningKeys {
    const { config } = this.deps;
    return signType === 'RSA'
      ? { signType, privateKey: config.providerPrivateKey }
      : { signType, md5Key: config.md5Key };
  }

  private record(path: string, fields: Fields, retCode: string, now: number): void {
    this.counters.retCodes[retCode] = (this.counters.retCodes[retCode] ?? 0) + 1;
    // Frozen: callers get the recording itself, and a test must not be able to rewrite history.
    pushBounded(
      this.recorded,
      Object.freeze({
        at: new Date(now).toISOString(),
        path,
        body: Object.freeze(maskFields(fields)),
        retCode,
      }),
      this.deps.config.maxRecords,
    );
  }
}

function emptyCounters() {
  return { applies: 0, queries: 0, balanceQueries: 0, retCodes: {} as Record<string, number> };
}

/** The fen of an amount that passed applyRequestSchema (so it parses). */
function amountFen(moneyOrder: string): number {
  const parsed = parseWireAmount(moneyOrder);
  if (!parsed.ok) throw new RangeError('money_order was validated before it is counted');
  return parsed.fen;
}

function snapshot(order: OrderState): SandboxOrder {
  const { createdAtMs: _internal, creditedBack: _credited, history, ...rest } = order;
  return withoutUndefined({ ...rest, history: [...history] }) as SandboxOrder;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The field a 1004 names: the first failing field, or the first unknown one (`(body)` otherwise). */
function firstBadField(error: z.core.$ZodError): string {
  const first = fieldErrors(error)[0];
  if (first && first.field !== '(body)') return first.field;
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) return issue.keys[0];
  }
  return first?.field ?? '(body)';
}

/**
 * Keeps the alphabet and length, so the answer still looks well-formed and only verification can tell:
 * exactly the case a client must not trust.
 */
function corruptSignature(sign: string, signType: SignType): string {
  if (signType === 'MD5') {
    const i = Math.floor(sign.length / 2);
    return `${sign.slice(0, i)}${sign[i] === '0' ? '1' : '0'}${sign.slice(i + 1)}`;
  }
  const bytes = Buffer.from(sign, 'base64');
  const i = Math.floor(bytes.length / 2);
  bytes[i] = (bytes[i] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

function bankName(bankCode: string | undefined, cardNo: string): string {
  if (bankCode) return lookupBank(bankCode)?.name ?? '其他银行';
  return BIN_BANKS[cardNo.slice(0, 6)] ?? '其他银行';
}
