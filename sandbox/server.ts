import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { ZodError } from 'zod';
import { maskCardNo, maskName } from '../src/core/mask';
import { lookupBank } from '../src/lianlian/banks';
import { RESULT_PAY, type ResultPay } from '../src/lianlian/codes';
import { APPLY_PATH, QUERY_PATH } from '../src/lianlian/endpoints';
import { exportPublicKeyBase64 } from '../src/lianlian/keys';
import {
  type ApplyRequest,
  applyRequestSchema,
  fieldErrors,
  oidPartner as oidPartnerSchema,
  parseWireBody,
  queryRequestSchema,
} from '../src/lianlian/messages';
import { type SigningKeys, type SignType, signFields, verifyFields } from '../src/lianlian/sign';
import { formatSettleDate } from '../src/lianlian/time';
import { maskFields } from './mask';
import {
  CANCEL_MEMO,
  FAILURE_MEMO,
  SCENARIOS,
  type ScenarioName,
  SLOW_STEPS,
  scenarioForAmount,
} from './scenarios';
import { RateWindow, TimerSet } from './timers';

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
  /** Most recent requests / notification attempts kept in memory (each), default 100_000. */
  maxRecords?: number;
  /** Default: no output. Lines never contain card numbers or payee names. */
  log?: (line: string) => void;
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
  readonly dropNotifications: boolean;
  readonly pendingTimers: number;
  /** Answers given, by ret_code, over applies and queries. */
  readonly retCodes: Readonly<Record<string, number>>;
}

export interface Sandbox {
  /** Base URL, e.g. http://127.0.0.1:40123; the client appends /traderapi/…. */
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
  /** Forgets orders, recordings and counters, and cancels processing and notification timers. */
  reset(): void;
  /** Stops the server, cancels every timer and aborts in-flight notifications. Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  notifyIntervalMs: 120_000,
  notifyMaxAttempts: 30,
  notifyTimeoutMs: 5_000,
  stepMs: 1_000,
  applyDelayMs: 15_000,
  notFoundForMs: 5_000,
  maxRecords: 100_000,
} as const;

const MAX_BODY_BYTES = 64 * 1024;
const MAX_TIMER_MS = 2_147_483_647;
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

type Body = { ok: true; text: string } | { ok: false; reason: string };
type Fields = Record<string, string>;

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
  history: OrderEvent[];
}

interface Series {
  readonly noOrder: string;
  readonly url: string;
  readonly resultPay: ResultPay;
  readonly body: Fields;
  attempt: number;
  cancelled: boolean;
  inFlight?: ClientRequest;
}

/** What an apply or query answers, plus what the recording and the log need. */
interface Answer {
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

interface DeliveryOutcome {
  delivered: boolean;
  status?: number;
  answeredRetCode?: string;
  error?: string;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const config = resolveOptions(options);
  if (options.providerPrivateKey && options.providerPrivateKey.type !== 'private') {
    throw new TypeError('providerPrivateKey must be a private key');
  }
  if (options.merchantPublicKey && options.merchantPublicKey.type !== 'public') {
    throw new TypeError('merchantPublicKey must be a public key');
  }
  const privateKey =
    options.providerPrivateKey ??
    (await promisify(generateKeyPair)('rsa', { modulusLength: 1024 })).privateKey;
  const sandbox = new LianLianSandbox(config, options, privateKey);
  await sandbox.listen();
  return sandbox;
}

type Resolved = Required<
  Pick<
    SandboxOptions,
    | 'host'
    | 'port'
    | 'notifyIntervalMs'
    | 'notifyMaxAttempts'
    | 'notifyTimeoutMs'
    | 'stepMs'
    | 'applyDelayMs'
    | 'notFoundForMs'
    | 'maxRecords'
  >
>;

function resolveOptions(options: SandboxOptions): Resolved {
  if (!oidPartnerSchema.safeParse(options.oidPartner).success) {
    throw new TypeError('oidPartner must be 18 digits');
  }
  const resolved = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    notifyIntervalMs: options.notifyIntervalMs ?? DEFAULTS.notifyIntervalMs,
    notifyMaxAttempts: options.notifyMaxAttempts ?? DEFAULTS.notifyMaxAttempts,
    notifyTimeoutMs: options.notifyTimeoutMs ?? DEFAULTS.notifyTimeoutMs,
    stepMs: options.stepMs ?? DEFAULTS.stepMs,
    applyDelayMs: options.applyDelayMs ?? DEFAULTS.applyDelayMs,
    notFoundForMs: options.notFoundForMs ?? DEFAULTS.notFoundForMs,
    maxRecords: options.maxRecords ?? DEFAULTS.maxRecords,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (name === 'host') continue;
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new RangeError(`${name} must be a non-negative integer`);
    }
  }
  for (const name of [
    'notifyIntervalMs',
    'notifyTimeoutMs',
    'stepMs',
    'applyDelayMs',
    'notFoundForMs',
  ] as const) {
    // setTimeout turns anything longer into 1 ms, which would invert the scenario instead of failing it.
    if (resolved[name] > MAX_TIMER_MS) throw new RangeError(`${name} must be at most ${MAX_TIMER_MS}`);
  }
  if (resolved.port > 65_535) throw new RangeError('port must be 0–65535');
  if (resolved.notifyTimeoutMs < 1) throw new RangeError('notifyTimeoutMs must be at least 1');
  if (resolved.notifyMaxAttempts < 1) throw new RangeError('notifyMaxAttempts must be at least 1');
  if (resolved.maxRecords < 1) throw new RangeError('maxRecords must be at least 1');
  return resolved;
}

class LianLianSandbox implements Sandbox {
  readonly oidPartner: string;
  readonly providerPublicKey: KeyObject;
  readonly providerPublicKeyBase64: string;

  private readonly server: Server;
  private readonly log: (line: string) => void;
  private readonly merchantPublicKey: KeyObject | undefined;
  private readonly md5Key: string | undefined;
  private readonly signBankName: boolean;
  /** Processing steps, notification attempts and their timeouts: cancelled by reset() and close(). */
  private readonly work = new TimerSet();
  /** Held-back apply answers: reset() lets them go out (a client is waiting), close() cancels them. */
  private readonly replies = new TimerSet();
  private readonly activeSeries = new Set<Series>();

  private orderMap = new Map<string, OrderState>();
  private recorded: RecordedRequest[] = [];
  private attempts: NotificationAttempt[] = [];
  private taken = new Map<string, number>();
  private counters = emptyCounters();
  private readonly applyRate: RateWindow;
  private readonly queryRate: RateWindow;
  private dropAll: boolean;
  private paybillSeq = Math.floor(Math.random() * 100_000_000);
  private baseUrl = '';
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: Resolved,
    options: SandboxOptions,
    private readonly providerPrivateKey: KeyObject,
  ) {
    this.oidPartner = options.oidPartner;
    this.merchantPublicKey = options.merchantPublicKey;
    this.md5Key = options.md5Key || undefined;
    this.signBankName = options.signBankName ?? false;
    this.dropAll = options.dropNotifications ?? false;
    this.log = options.log ?? (() => {});
    this.providerPublicKey = createPublicKey(providerPrivateKey);
    this.providerPublicKeyBase64 = exportPublicKeyBase64(this.providerPublicKey);
    this.applyRate = new RateWindow(RATE_WINDOW_SECONDS, Date.now());
    this.queryRate = new RateWindow(RATE_WINDOW_SECONDS, Date.now());
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log(`internal error: ${(error as Error)?.message ?? String(error)}`);
        sendJson(res, 500, { ret_code: '9999', ret_msg: MSG.system });
      });
    });
  }

  get url(): string {
    return this.baseUrl;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${urlHost(this.config.host)}:${port}`;
    this.log(`listening on ${this.baseUrl} for merchant ${this.oidPartner}`);
  }

  // ---------------------------------------------------------------- public API

  requests(): readonly RecordedRequest[] {
    return [...this.recorded];
  }

  notifications(): readonly NotificationAttempt[] {
    return [...this.attempts];
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

  stats(): SandboxStats {
    const now = Date.now();
    return {
      applies: this.counters.applies,
      acceptedApplies: this.acceptedApplies(),
      queries: this.counters.queries,
      appliesPerSecond: this.applyRate.rate(now),
      queriesPerSecond: this.queryRate.rate(now),
      windowSeconds: RATE_WINDOW_SECONDS,
      notificationsSent: this.counters.sent,
      notificationsDelivered: this.counters.delivered,
      notificationsDropped: this.counters.dropped,
      orders: this.orderMap.size,
      dropNotifications: this.dropAll,
      pendingTimers: this.pendingTimers(),
      retCodes: { ...this.counters.retCodes },
    };
  }

  pendingTimers(): number {
    return this.work.size + this.replies.size;
  }

  setDropNotifications(drop: boolean): void {
    this.dropAll = drop;
    this.log(`notifications ${drop ? 'dropped' : 'delivered'} from now on`);
  }

  reset(): void {
    this.cancelWork();
    this.orderMap = new Map();
    this.recorded = [];
    this.attempts = [];
    this.taken = new Map();
    this.counters = emptyCounters();
    const now = Date.now();
    this.applyRate.reset(now);
    this.queryRate.reset(now);
    this.log('reset');
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.cancelWork();
      this.replies.clear();
      this.server.close(() => resolve());
      // Keep-alive clients and held-back answers would otherwise keep close() waiting.
      this.server.closeAllConnections();
      this.log('closed');
    });
    return this.closing;
  }

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  private cancelWork(): void {
    this.work.clear();
    for (const series of this.activeSeries) {
      series.cancelled = true;
      series.inFlight?.destroy();
    }
    this.activeSeries.clear();
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = url.pathname;
    if (path === APPLY_PATH || path === QUERY_PATH) {
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'use POST' });
        return;
      }
      const body = await readBody(req);
      if (body === undefined || this.closed) return;
      const now = Date.now();
      const answer = path === APPLY_PATH ? this.apply(body, now) : this.query(body, now);
      this.record(path, answer.received, answer.retCode, now);
      const kind = path === APPLY_PATH ? 'apply' : 'query';
      this.log(`${kind} ${answer.received.no_order ?? '-'} → ${answer.retCode} (${answer.note})`);
      if (answer.delayMs === undefined) {
        sendJson(res, 200, answer.body);
        return;
      }
      const handle = this.replies.add(() => sendJson(res, 200, answer.body), answer.delayMs);
      // The client gave up: nobody is left to answer, and the timer must not outlive the socket.
      res.on('close', () => this.replies.cancel(handle));
      return;
    }
    if (path.startsWith('/__sandbox/')) {
      await this.handleAdmin(req, res, url);
      return;
    }
    sendJson(res, 404, { error: `no such endpoint: ${path}` });
  }

  /** What both endpoints check first, as the provider does: a readable body, the signature, the merchant. */
  private authenticate(
    body: Body,
  ): { ok: true; fields: Fields; verified: { signType: SignType } } | { ok: false; answer: Answer } {
    if (!body.ok) return { ok: false, answer: refuse({}, '1012', MSG.unreadable, body.reason) };
    const parsed = parseWireBody(body.text);
    if (!parsed.ok) return { ok: false, answer: refuse({}, '1012', MSG.unreadable, parsed.reason) };
    const fields = parsed.fields;
    const verified = verifyFields(fields, this.verifyingKeys());
    if (!verified.ok) return { ok: false, answer: refuse(fields, '1001', MSG.badSign, verified.reason) };
    if (fields.oid_partner !== this.oidPartner) {
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
    if (scenario === 'applyTimeout') return { ...answer, delayMs: this.config.applyDelayMs };
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
    if (order.scenario === 'notFoundAtFirst' && now - order.createdAtMs < this.config.notFoundForMs) {
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
    else if (this.signBankName) answer = signFields({ ...result, bank_name: order.bank_name }, keys);
    // Spec §4: bank_name is reported to sit outside the signature, so it is added after signing.
    else answer = { ...signFields(result, keys), bank_name: order.bank_name };
    return { received: fields, retCode: '0000', body: answer, note: order.result_pay };
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '')}`;
    const noOrder = url.searchParams.get('no_order') ?? undefined;
    switch (route) {
      case 'GET /__sandbox/requests':
        sendJson(
          res,
          200,
          noOrder === undefined ? this.recorded : this.recorded.filter((r) => r.body.no_order === noOrder),
        );
        return;
      case 'GET /__sandbox/notifications':
        sendJson(
          res,
          200,
          noOrder === undefined ? this.attempts : this.attempts.filter((a) => a.no_order === noOrder),
        );
        return;
      case 'GET /__sandbox/orders':
        sendJson(
          res,
          200,
          this.orders().filter((o) => noOrder === undefined || o.no_order === noOrder),
        );
        return;
      case 'GET /__sandbox/stats':
        sendJson(res, 200, this.stats());
        return;
      case 'GET /__sandbox/info':
        sendJson(res, 200, {
          url: this.url,
          oidPartner: this.oidPartner,
          providerPublicKey: this.providerPublicKeyBase64,
          rsa: this.merchantPublicKey !== undefined,
          md5: this.md5Key !== undefined,
          signBankName: this.signBankName,
          scenarios: SCENARIOS,
        });
        return;
      case 'POST /__sandbox/reset':
        this.reset();
        sendJson(res, 200, { ok: true });
        return;
      case 'POST /__sandbox/drop-notifications': {
        const body = await readBody(req);
        const drop = body?.ok ? parseDrop(body.text) : undefined;
        if (drop === undefined) {
          sendJson(res, 400, { error: 'body must be {"drop": true} or {"drop": false}' });
          return;
        }
        this.setDropNotifications(drop);
        sendJson(res, 200, { drop });
        return;
      }
      default:
        sendJson(res, 404, { error: `no such admin endpoint: ${route}` });
    }
  }

  // ---------------------------------------------------------------- orders

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
    this.taken.set(order.no_order, (this.taken.get(order.no_order) ?? 0) + 1);
    this.process(order);
    return order;
  }

  private process(order: OrderState): void {
    const step = this.config.stepMs;
    this.work.add(() => {
      this.transition(order, 'PROCESSING');
      const processingSteps = order.scenario === 'slow' ? SLOW_STEPS : 1;
      this.work.add(() => {
        if (order.scenario === 'fail') {
          this.transition(order, 'FAILURE', FAILURE_MEMO);
          return;
        }
        this.transition(order, 'SUCCESS');
        if (order.scenario === 'cancel') {
          this.work.add(() => this.transition(order, 'CANCEL', CANCEL_MEMO), step);
        }
      }, step * processingSteps);
    }, step);
  }

  private transition(order: OrderState, to: ResultPay, memo?: string): void {
    // A timer that survived a reset must not touch an order the sandbox has forgotten.
    if (this.orderMap.get(order.no_order) !== order) return;
    const now = new Date();
    order.result_pay = to;
    order.history.push({ at: now.toISOString(), result_pay: to });
    if (RESULT_PAY[to].final) order.settle_date ??= formatSettleDate(now);
    if (memo !== undefined) order.memo = memo;
    this.log(`order ${order.no_order} → ${to}`);
    if (RESULT_PAY[to].final && SCENARIOS[order.scenario].notifies) this.startSeries(order);
  }

  private nextPaybill(now: number): string {
    this.paybillSeq += 1;
    return `${formatSettleDate(new Date(now))}${this.paybillSeq.toString().padStart(10, '0')}`;
  }

  // ---------------------------------------------------------------- notifications

  private startSeries(order: OrderState): void {
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
    // Each series carries the state at the time of the change: a SUCCESS series still retrying when
    // CANCEL starts its own keeps going, so the merchant may see them out of order, as spec §5 warns.
    const series: Series = {
      noOrder: order.no_order,
      url: order.notify_url,
      resultPay: order.result_pay,
      body: Object.freeze(withoutUndefined(signed)) as Fields,
      attempt: 0,
      cancelled: false,
    };
    this.activeSeries.add(series);
    this.attemptDelivery(series);
  }

  private attemptDelivery(series: Series): void {
    if (series.cancelled || this.closed) return;
    series.attempt += 1;
    if (this.dropAll) {
      this.counters.dropped += 1;
      this.log(`notify ${series.noOrder} ${series.resultPay} #${series.attempt} dropped`);
      this.retryLater(series);
      return;
    }
    const started = Date.now();
    this.counters.sent += 1;
    void this.deliver(series).then((outcome) => {
      if (series.cancelled) return;
      this.pushBounded(
        this.attempts,
        Object.freeze({
          at: new Date(started).toISOString(),
          no_order: series.noOrder,
          attempt: series.attempt,
          url: series.url,
          result_pay: series.resultPay,
          ...outcome,
          durationMs: Date.now() - started,
          body: series.body,
        }),
      );
      const how = outcome.delivered
        ? 'delivered'
        : `not delivered (${outcome.error ?? `HTTP ${outcome.status} ret_code ${outcome.answeredRetCode ?? '-'}`})`;
      this.log(`notify ${series.noOrder} ${series.resultPay} #${series.attempt} ${how}`);
      if (outcome.delivered) {
        this.counters.delivered += 1;
        this.activeSeries.delete(series);
        return;
      }
      this.retryLater(series);
    });
  }

  private retryLater(series: Series): void {
    if (series.attempt >= this.config.notifyMaxAttempts) {
      this.activeSeries.delete(series);
      this.log(`notify ${series.noOrder} ${series.resultPay}: gave up after ${series.attempt} attempts`);
      return;
    }
    this.work.add(() => this.attemptDelivery(series), this.config.notifyIntervalMs);
  }

  /** One POST to notify_url; never rejects. */
  private deliver(series: Series): Promise<DeliveryOutcome> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (outcome: DeliveryOutcome) => {
        if (settled) return;
        settled = true;
        this.work.cancel(timer);
        series.inFlight = undefined;
        resolve(outcome);
      };
      let target: URL;
      try {
        target = new URL(series.url);
      } catch {
        finish({ delivered: false, error: 'notify_url is not a URL' });
        return;
      }
      const send =
        target.protocol === 'http:' ? httpRequest : target.protocol === 'https:' ? httpsRequest : undefined;
      if (!send) {
        finish({ delivered: false, error: `unsupported protocol ${target.protocol}` });
        return;
      }
      const payload = JSON.stringify(series.body);
      const req = send(target, {
        method: 'POST',
        // No pooled sockets: nothing may stay open after close().
        agent: false,
        headers: {
          'content-type': 'text/json;charset=utf-8',
          'content-length': Buffer.byteLength(payload),
        },
      });
      series.inFlight = req;
      timer = this.work.add(() => {
        finish({ delivered: false, error: 'timeout' });
        req.destroy();
      }, this.config.notifyTimeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        finish({ delivered: false, error: error.code ?? error.message });
      });
      req.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        });
        response.on('error', (error: NodeJS.ErrnoException) => {
          finish({ delivered: false, status, error: error.code ?? error.message });
        });
        response.on('end', () => {
          finish(judgeAnswer(status, Buffer.concat(chunks).toString('utf8')));
        });
      });
      req.end(payload);
    });
  }

  // ---------------------------------------------------------------- helpers

  private verifyingKeys() {
    return { publicKey: this.merchantPublicKey, md5Key: this.md5Key };
  }

  private signingKeys(signType: SignType): SigningKeys {
    return signType === 'RSA'
      ? { signType, privateKey: this.providerPrivateKey }
      : { signType, md5Key: this.md5Key };
  }

  private record(path: string, fields: Fields, retCode: string, now: number): void {
    this.counters.retCodes[retCode] = (this.counters.retCodes[retCode] ?? 0) + 1;
    // Frozen: callers get the recording itself, and a test must not be able to rewrite history.
    this.pushBounded(
      this.recorded,
      Object.freeze({
        at: new Date(now).toISOString(),
        path,
        body: Object.freeze(maskFields(fields)),
        retCode,
      }),
    );
  }

  private pushBounded<T>(list: T[], item: T): void {
    list.push(item);
    // Trim in chunks so a long benchmark does not pay for a shift on every request.
    const limit = this.config.maxRecords;
    if (list.length > limit + Math.max(1, Math.floor(limit / 10))) list.splice(0, list.length - limit);
  }
}

function emptyCounters() {
  return {
    applies: 0,
    queries: 0,
    sent: 0,
    delivered: 0,
    dropped: 0,
    retCodes: {} as Record<string, number>,
  };
}

function snapshot(order: OrderState): SandboxOrder {
  const { createdAtMs: _internal, history, ...rest } = order;
  return withoutUndefined({ ...rest, history: [...history] }) as SandboxOrder;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The field a 1004 names: the first failing field, or the first unknown one (`(body)` otherwise). */
function firstBadField(error: ZodError): string {
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

function judgeAnswer(status: number, text: string): DeliveryOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { delivered: false, status, error: 'answer is not JSON' };
  }
  const retCode =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>).ret_code
      : undefined;
  const answeredRetCode = typeof retCode === 'string' ? retCode : undefined;
  return { delivered: status === 200 && answeredRetCode === '0000', status, answeredRetCode };
}

function parseDrop(text: string): boolean | undefined {
  try {
    const value = (JSON.parse(text) as { drop?: unknown } | null)?.drop;
    return typeof value === 'boolean' ? value : undefined;
  } catch {
    return undefined;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The raw body, or why it cannot be read; undefined when the client went away before finishing it. */
function readBody(req: IncomingMessage): Promise<Body | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        resolve({ ok: false, reason: `body larger than ${MAX_BODY_BYTES} bytes` });
        return;
      }
      try {
        resolve({ ok: true, text: utf8.decode(Buffer.concat(chunks)) });
      } catch {
        resolve({ ok: false, reason: 'body is not UTF-8' });
      }
    });
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(undefined));
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
