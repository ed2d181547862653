import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { exportPublicKeyBase64 } from '../src/lianlian/keys';
import { oidPartner as oidPartnerSchema } from '../src/lianlian/messages';
import { formatFen, MAX_BALANCE_FEN } from '../src/lianlian/money';
import { type Clock, realClock } from './clock';
import { EventHub } from './events';
import { Notifier } from './notifier';
import { Provider } from './provider';
import { createRoutes, sendJson } from './routes';
import { SCENARIOS } from './scenarios';
import { TimerSet } from './timers';
import type {
  NotificationAttempt,
  RecordedRequest,
  Sandbox,
  SandboxEvent,
  SandboxOptions,
  SandboxOrder,
  SandboxStats,
} from './types';

/**
 * The LianLian sandbox, composed: routes.ts (HTTP and admin), provider.ts (the provider's judgement and
 * the order state machine), notifier.ts (notification series), on one injected clock (clock.ts).
 */

export type { Clock } from './clock';
export { ManualClock, realClock } from './clock';
export type {
  NotificationAttempt,
  OrderEvent,
  RecordedRequest,
  Sandbox,
  SandboxEvent,
  SandboxOptions,
  SandboxOrder,
  SandboxStats,
} from './types';

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
  /** 100,000,000.00 yuan: enough never to matter unless a test or a demo sets it. */
  balanceFen: 10_000_000_000,
} as const;

const MAX_TIMER_MS = 2_147_483_647;

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
    | 'balanceFen'
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
    balanceFen: options.balanceFen ?? DEFAULTS.balanceFen,
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
  if (resolved.balanceFen > MAX_BALANCE_FEN) {
    throw new RangeError(`balanceFen must be at most ${MAX_BALANCE_FEN} (9999999999999.99 yuan)`);
  }
  return resolved;
}

class LianLianSandbox implements Sandbox {
  readonly oidPartner: string;
  readonly providerPublicKey: KeyObject;
  readonly providerPublicKeyBase64: string;

  private readonly server: Server;
  private readonly log: (line: string) => void;
  private readonly clock: Clock;
  private readonly hub: EventHub;
  private readonly provider: Provider;
  private readonly notifier: Notifier;
  /** Processing steps, notification attempts and their timeouts: cancelled by reset() and close(). */
  private readonly work: TimerSet;
  /** Held-back apply answers: reset() lets them go out (a client is waiting), close() cancels them. */
  private readonly replies: TimerSet;
  private baseUrl = '';
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: Resolved,
    options: SandboxOptions,
    providerPrivateKey: KeyObject,
  ) {
    this.oidPartner = options.oidPartner;
    this.log = options.log ?? (() => {});
    this.clock = options.clock ?? realClock;
    this.work = new TimerSet(this.clock);
    this.replies = new TimerSet(this.clock);
    this.providerPublicKey = createPublicKey(providerPrivateKey);
    this.providerPublicKeyBase64 = exportPublicKeyBase64(this.providerPublicKey);
    this.hub = new EventHub(config.maxRecords, options.onEvent, this.log);
    const closed = () => this.closing !== undefined;
    this.notifier = new Notifier(
      { config, clock: this.clock, work: this.work, events: this.hub, log: this.log, closed },
      options.dropNotifications ?? false,
    );
    const merchantPublicKey = options.merchantPublicKey;
    const md5Key = options.md5Key || undefined;
    const signBankName = options.signBankName ?? false;
    this.provider = new Provider({
      config: {
        oidPartner: options.oidPartner,
        merchantPublicKey,
        md5Key,
        providerPrivateKey,
        signBankName,
        stepMs: config.stepMs,
        applyDelayMs: config.applyDelayMs,
        notFoundForMs: config.notFoundForMs,
        maxRecords: config.maxRecords,
        balanceFen: config.balanceFen,
      },
      clock: this.clock,
      work: this.work,
      notifier: this.notifier,
      events: this.hub,
      log: this.log,
    });
    const routes = createRoutes({
      provider: this.provider,
      sandbox: this,
      info: () => ({
        url: this.url,
        oidPartner: this.oidPartner,
        providerPublicKey: this.providerPublicKeyBase64,
        rsa: merchantPublicKey !== undefined,
        md5: md5Key !== undefined,
        signBankName,
        scenarios: SCENARIOS,
      }),
      clock: this.clock,
      replies: this.replies,
      events: this.hub,
      closed,
    });
    this.server = createServer((req, res) => {
      routes(req, res).catch((error: unknown) => {
        this.log(`internal error: ${(error as Error)?.message ?? String(error)}`);
        sendJson(res, 500, { ret_code: '9999', ret_msg: '系统异常，请稍后查询' });
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

  requests(): readonly RecordedRequest[] {
    return this.provider.requests();
  }

  notifications(): readonly NotificationAttempt[] {
    return this.notifier.notifications();
  }

  acceptedApplies(noOrder?: string): number {
    return this.provider.acceptedApplies(noOrder);
  }

  order(noOrder: string): SandboxOrder | undefined {
    return this.provider.order(noOrder);
  }

  orders(): readonly SandboxOrder[] {
    return this.provider.orders();
  }

  stats(): SandboxStats {
    const counts = this.provider.counts();
    return {
      applies: counts.applies,
      acceptedApplies: this.acceptedApplies(),
      queries: counts.queries,
      appliesPerSecond: counts.appliesPerSecond,
      queriesPerSecond: counts.queriesPerSecond,
      windowSeconds: counts.windowSeconds,
      notificationsSent: this.notifier.sent,
      notificationsDelivered: this.notifier.delivered,
      notificationsDropped: this.notifier.dropped,
      orders: counts.orders,
      balanceQueries: counts.balanceQueries,
      balance: formatFen(this.provider.balance()),
      balanceFen: this.provider.balance(),
      dropNotifications: this.notifier.dropping,
      pendingTimers: this.pendingTimers(),
      retCodes: counts.retCodes,
    };
  }

  pendingTimers(): number {
    return this.work.size + this.replies.size;
  }

  events(): readonly SandboxEvent[] {
    return this.hub.events();
  }

  waitFor<E extends SandboxEvent>(
    predicate: ((event: SandboxEvent) => event is E) | ((event: SandboxEvent) => boolean),
    options: { timeoutMs?: number } = {},
  ): Promise<E> {
    return this.hub.waitFor(predicate, options.timeoutMs) as Promise<E>;
  }

  setDropNotifications(drop: boolean): void {
    this.notifier.setDropping(drop);
    this.log(`notifications ${drop ? 'dropped' : 'delivered'} from now on`);
  }

  balance(): number {
    return this.provider.balance();
  }

  topup(fen: number): number {
    return this.provider.topup(fen);
  }

  reset(): void {
    this.cancelWork();
    this.provider.forget();
    this.notifier.forget();
    this.hub.clear();
    this.log('reset');
    this.hub.emit({ type: 'reset', at: new Date(this.clock.now()).toISOString() });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.cancelWork();
      this.replies.clear();
      this.server.close(() => resolve());
      // Keep-alive clients and held-back answers would otherwise keep close() waiting.
      this.server.closeAllConnections();
      this.log('closed');
      this.hub.emit({ type: 'closed', at: new Date(this.clock.now()).toISOString() });
    });
    return this.closing;
  }

  private cancelWork(): void {
    this.work.clear();
    this.notifier.cancelAll();
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
