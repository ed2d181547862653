import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { applyHandler } from '../functions/apply/handler';
import { balanceHandler } from '../functions/balance/handler';
import { batchesHandler } from '../functions/batches/handler';
import { buildCloseRuntime, closeApiHandler } from '../functions/close/handler';
import { notifyHandler } from '../functions/notify/handler';
import { queryHandler } from '../functions/query/handler';
import { reconcileOptionsFor, reconcileWithRuntime } from '../functions/reconcile/handler';
import { reviewHandler } from '../functions/review/handler';
import { MemoryMetrics } from '../functions/shared/observability';
import { buildRuntime, type Runtime, type RuntimeOverrides } from '../functions/shared/runtime';
import { parseYuan, SANDBOX_ENV } from '../sandbox/config';
import { type Sandbox, type SandboxOptions, startSandbox } from '../sandbox/server';
import { DynamoBatchStore } from '../src/adapters/dynamodb/batch-store';
import { CONTROLS_ENV, ENV } from '../src/config/contract';
import type { BatchStore, DispatchTrigger } from '../src/core/batch-model';
import { maintainBatch } from '../src/core/batches';
import { BalanceGate, batchLooks } from '../src/core/dispatch';
import type { PayoutEvent } from '../src/core/events';
import type { PayoutDeps } from '../src/core/payouts';
import type { ReconcileDeps, ReconcileOptions, ReconcileSummary } from '../src/core/reconcile';
import { exportPrivateKeyBase64, parsePrivateKey } from '../src/lianlian/keys';
import { CONSOLE_CONFIRM_ENV, CONSOLE_PATH, consoleHandler } from './console';
import { type LocalDispatcher, localDispatcher } from './dispatcher';
import { type DynamoLocal, ensurePayoutsTable, localDynamoClient, startDynamoLocal } from './dynamodb';
import { type LocalEventSink, type LocalEvents, startLocalEvents } from './events';
import { type LocalFront, type Routes, startLocalFront } from './front';
import { LocalReportStore } from './report-store';
import { LOCAL_OID_PARTNER } from './test-merchant';

/** A test merchant number (18 digits) for local mode; clearly not a real merchant. */
export { LOCAL_OID_PARTNER };

/** Local-mode-only variables (the deployed schedule is infrastructure, not environment). */
export const LOCAL_ENV = {
  /** Seconds between reconciliation runs of `npm start`; default 60. */
  reconcileIntervalSeconds: 'RECONCILE_INTERVAL_SECONDS',
} as const;

export interface LocalStackOptions {
  /** User configuration (process.env for `npm start`); variables set here win over local defaults. */
  readonly env?: Record<string, string | undefined>;
  /** Port of the local API; 0 picks a free one. Default: PORT or 3000. */
  readonly port?: number;
  /** Use an already running DynamoDB (tests share one); otherwise DynamoDB Local is started. */
  readonly dynamoEndpoint?: string;
  readonly tableName?: string;
  /** Keep DynamoDB data and generated local secrets here (git-ignored); omitted = in memory. */
  readonly dataDir?: string;
  /** Sandbox tuning (tests scale time down). */
  readonly sandbox?: Partial<Omit<SandboxOptions, 'oidPartner' | 'merchantPublicKey' | 'providerPrivateKey'>>;
  /** Replace ports, e.g. a fault-injecting store (benchmarks, reliability runs). */
  readonly overrides?: (base: { env: Record<string, string> }) => RuntimeOverrides;
  readonly log?: (line: string) => void;
  /**
   * Run reconciliation on a timer, as the deployed schedule does (`npm start` turns it on). Default off:
   * tests call `reconcileOnce()` when they mean to. Interval default: RECONCILE_INTERVAL_SECONDS or 60 s.
   */
  readonly reconcile?: { readonly timer?: boolean; readonly intervalMs?: number };
  /**
   * Publish payout events from the table's stream to a local sink (log + memory), as the deployed publish
   * function does to EventBridge. Default off.
   */
  /** The batch dispatcher's trigger (issue 11); default: log only (the batch's due-index look finds it). */
  readonly batchDispatch?: (runtime: Runtime) => DispatchTrigger;
  readonly events?:
    | boolean
    | { readonly pollMs?: number; readonly retryMs?: number; readonly sink?: LocalEventSink };
  /**
   * Batch dispatch (issue 11): the batch store to dispatch from. With it the stack runs a LocalDispatcher
   * (`dispatcher`, the batch API's DispatchTrigger locally): the same dispatchBatch as the deployed function.
   */
  readonly batchStore?: (client: DynamoDBClient, tableName: string) => BatchStore;
}

export interface LocalStack {
  readonly url: string;
  /** The web console (local/console.ts), served by the same front. */
  readonly consoleUrl: string;
  readonly notifyUrl: string;
  readonly env: Readonly<Record<string, string>>;
  readonly runtime: Runtime;
  readonly sandbox?: Sandbox;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /** Where reports go (the daily close): LOCAL_REPORTS_DIR, `<data dir>/reports`, or a temporary dir. */
  readonly reportsDir: string;
  /**
   * One reconciliation pass with the stack's runtime and configuration; `options` override them (tests
   * pass a future `now`, a rate, a remaining-time stub…).
   */
  reconcileOnce(options?: Partial<ReconcileOptions>): Promise<ReconcileSummary>;
  /** Payout events delivered so far (requires `events`). */
  events(): readonly PayoutEvent[];
  /** The local event sink (requires `events`); tests make it fail. */
  readonly eventSink?: LocalEventSink;
  /** Resolves once every change written so far has had its events delivered (requires `events`). */
  eventsCaughtUp(timeoutMs?: number): Promise<void>;
  /** The in-process batch dispatcher (requires `batchStore`). */
  readonly dispatcher?: LocalDispatcher;
  close(): Promise<void>;
}

export interface LocalSecrets {
  merchantPrivateKey: string;
  providerPrivateKey: string;
  fieldKey: string;
  /** HMAC key of the payee keys (per-payee spending limits); absent in data dirs made before them. */
  payeeHmacKey?: string;
}

const LOCAL_SECRETS_FILE = 'local-secrets.json';

/** The secrets a local-mode data dir keeps, or undefined before its first start. */
export function readLocalSecrets(dataDir: string): LocalSecrets | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, LOCAL_SECRETS_FILE), 'utf8')) as LocalSecrets;
  } catch {
    return undefined;
  }
}

/**
 * Local secrets: generated once and, with a data dir, kept beside the data, so a restart can still open
 * the payee seals it wrote and the sandbox keeps signing with the key the merchant side trusts.
 */
function localSecrets(dataDir: string | undefined): LocalSecrets {
  const kept = dataDir ? readLocalSecrets(dataDir) : undefined;
  if (kept?.payeeHmacKey) return kept;
  const gen = () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  // A data dir from before the payee key keeps its other secrets (its payee seals must still open).
  const secrets: LocalSecrets = kept
    ? { ...kept, payeeHmacKey: randomBytes(32).toString('base64') }
    : {
        merchantPrivateKey: exportPrivateKeyBase64(gen()),
        providerPrivateKey: exportPrivateKeyBase64(gen()),
        fieldKey: randomBytes(32).toString('base64'),
        payeeHmacKey: randomBytes(32).toString('base64'),
      };
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, LOCAL_SECRETS_FILE), JSON.stringify(secrets), { mode: 0o600 });
  }
  return secrets;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const user = options.env ?? {};
  const log = options.log ?? (() => undefined);
  const secrets = localSecrets(options.dataDir);
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };

  try {
    const port = options.port ?? parsePort(user.PORT);
    const signType = user[ENV.signType] || 'RSA';
    const oidPartner = user[ENV.oidPartner] || LOCAL_OID_PARTNER;
    const merchantPrivateKeyText = user[ENV.merchantPrivateKey] || secrets.merchantPrivateKey;
    const merchantKey = parsePrivateKey(merchantPrivateKeyText, ENV.merchantPrivateKey);

    // DynamoDB
    let dynamoEndpoint = options.dynamoEndpoint;
    if (!dynamoEndpoint) {
      const dbPath = options.dataDir ? join(options.dataDir, 'dynamodb') : undefined;
      const dynamo: DynamoLocal = await startDynamoLocal(dbPath ? { dbPath } : {});
      cleanups.push(() => dynamo.stop());
      dynamoEndpoint = dynamo.endpoint;
    }
    const tableName = options.tableName ?? 'payouts';
    const ddb = localDynamoClient(dynamoEndpoint);
    cleanups.push(async () => ddb.destroy());
    await ensurePayoutsTable(ddb, tableName);

    // The provider: the embedded sandbox unless LLP_API_BASE (or both LLP_APPLY_URL and LLP_QUERY_URL)
    // point elsewhere.
    let sandbox: Sandbox | undefined;
    let apiBase = user[ENV.apiBase];
    let providerPublicKey = user[ENV.providerPublicKey];
    if (!providerConfigured(user)) {
      const providerPrivateKey = parsePrivateKey(secrets.providerPrivateKey, 'provider key');
      const balanceFen = options.sandbox?.balanceFen ?? parseBalance(user[SANDBOX_ENV.balance]);
      sandbox = await startSandbox({
        ...options.sandbox,
        ...(balanceFen === undefined ? {} : { balanceFen }),
        oidPartner,
        // The sandbox verifies with the public half; it refuses a private key passed as a public one.
        merchantPublicKey: signType === 'RSA' ? createPublicKey(merchantKey) : undefined,
        md5Key: user[ENV.md5Key] || undefined,
        providerPrivateKey,
        log: options.sandbox?.log ?? log,
      });
      const sb = sandbox;
      cleanups.push(() => sb.close());
      apiBase = sandbox.url;
      providerPublicKey ??= sandbox.providerPublicKeyBase64;
    }

    // The front first, so its port is known before NOTIFY_URL is derived from it.
    let routes: Routes | undefined;
    const front: LocalFront = await startLocalFront(
      () => {
        if (!routes) throw new Error('local API not ready');
        return routes;
      },
      { port, extra: consoleHandler({ sandbox: () => sandbox, confirmAmount: user[CONSOLE_CONFIRM_ENV] }) },
    );
    cleanups.push(() => front.close());
    const notifyUrl = user[ENV.notifyUrl] || `${front.url}/lianlian/notify`;

    const env: Record<string, string> = {
      [ENV.keySource]: 'env',
      [ENV.tableName]: tableName,
      [ENV.dynamoEndpoint]: dynamoEndpoint,
      [ENV.apiBase]: apiBase ?? '',
      [ENV.applyUrl]: user[ENV.applyUrl] ?? '',
      [ENV.queryUrl]: user[ENV.queryUrl] ?? '',
      [ENV.balanceUrl]: user[ENV.balanceUrl] ?? '',
      [ENV.oidPartner]: oidPartner,
      [ENV.signType]: signType,
      [ENV.providerPublicKey]: providerPublicKey ?? '',
      [ENV.merchantPrivateKey]: merchantPrivateKeyText,
      [ENV.md5Key]: user[ENV.md5Key] ?? '',
      [ENV.localFieldKey]: user[ENV.localFieldKey] || secrets.fieldKey,
      [ENV.notifyUrl]: notifyUrl,
      [ENV.timeoutMs]: user[ENV.timeoutMs] || '10000',
      [ENV.notFoundGraceSeconds]: user[ENV.notFoundGraceSeconds] || '1800',
      [ENV.returnWatchSeconds]: user[ENV.returnWatchSeconds] || '0',
      [ENV.reconcileMinAgeSeconds]: user[ENV.reconcileMinAgeSeconds] || '120',
      [ENV.reconcileRatePerSecond]: user[ENV.reconcileRatePerSecond] || '10',
      [ENV.reconcileConcurrency]: user[ENV.reconcileConcurrency] || '4',
      [ENV.stuckAfterSeconds]: user[ENV.stuckAfterSeconds] || '86400',
      [ENV.keyCacheSeconds]: user[ENV.keyCacheSeconds] ?? '',
      // Spending controls: passed through as set (none set = none apply, as in the quick start).
      ...Object.fromEntries(
        Object.values(CONTROLS_ENV).flatMap((name) => (user[name] ? [[name, user[name]]] : [])),
      ),
      [ENV.localPayeeHmacKey]: user[ENV.localPayeeHmacKey] || secrets.payeeHmacKey || '',
      // Funds (issue 13) and the provider's rate budget (issue 11): passed through as set; unset = the
      // defaults (300 s, one day, no amount; provider 60/s of which reconciliation 10 and dispatch the rest).
      ...Object.fromEntries(
        [
          ENV.balanceCheckSeconds,
          ENV.fundsWaitSeconds,
          ENV.lowBalanceAmount,
          ENV.providerRatePerSecond,
          ENV.dispatchRatePerSecond,
          ENV.dispatchConcurrency,
          // The export's inline limit (issue 12): a tuning knob; tests make it tiny to get a link.
          ENV.exportInlineMaxBytes,
        ].flatMap((name) => (user[name] ? [[name, user[name]]] : [])),
      ),
    };
    const runtime = buildRuntime(env, {
      dynamo: ddb,
      // No CloudWatch here: EMF records would only be noise on the console; counts stay in memory.
      metrics: new MemoryMetrics(),
      ...options.overrides?.({ env }),
    });
    // The daily close's reports (issue 13): GET /close/{date} reads what `npm run close` wrote.
    let reportsDir = user[ENV.localReportsDir] || (options.dataDir ? join(options.dataDir, 'reports') : '');
    if (!reportsDir) {
      const temporary = mkdtempSync(join(tmpdir(), 'lianlian-reports-'));
      cleanups.push(async () => rmSync(temporary, { recursive: true, force: true }));
      reportsDir = temporary;
    }
    // One store for the close, the exports and the front: links are signed with this process's key.
    const reports = new LocalReportStore({ dir: reportsDir, baseUrl: front.url });
    const closeRuntime = buildCloseRuntime(env, {
      dynamo: ddb,
      reports,
      // Local mode has no bus: GET /close only reads; `npm run close` prints its Day Closed event.
      events: { publish: async () => ({ failed: [] }) },
      logger: runtime.logger,
    });
    // Batches (issue 11) always run locally: the same store and dispatch code as the deployed functions.
    // (A test may give the dispatcher its own BatchStore; the batch API always writes through the real one.)
    const writeStore = new DynamoBatchStore({ client: ddb, tableName });
    const batchStore = options.batchStore?.(ddb, tableName) ?? writeStore;
    const dispatcher = localDispatcher(runtime, {
      client: ddb,
      batches: batchStore,
      log,
      // Funds (issue 13): a known balance below the next item pauses the batch; the funds check or a
      // later trigger resumes it. Unknown is never zero.
      balance: new BalanceGate(runtime.funds.balance, runtime.config.dispatch.balanceCheckMs),
    });
    cleanups.push(() => dispatcher.close());
    routes = {
      apply: applyHandler(() => runtime),
      // Large exports (issue 12) go to the reports dir behind a signed link the front serves (/reports/…).
      query: queryHandler(() => runtime, { reports: () => reports }),
      review: reviewHandler(() => runtime),
      notify: notifyHandler(() => runtime),
      batches: batchesHandler(
        () => runtime,
        (rt) => ({
          batches: writeStore,
          dispatch: options.batchDispatch?.(rt) ?? dispatcher,
        }),
      ),
      balance: balanceHandler(() => runtime),
      close: closeApiHandler(() => closeRuntime),
      reports,
    };

    // Events: the table stream → the same publish step as the deployed function → a local sink.
    let localEvents: LocalEvents | undefined;
    if (options.events) {
      const tuning = typeof options.events === 'object' ? options.events : {};
      localEvents = startLocalEvents({
        dynamo: ddb,
        endpoint: dynamoEndpoint,
        tableName,
        log,
        ...(tuning.sink ? { sink: tuning.sink } : {}),
        ...(tuning.pollMs !== undefined ? { pollMs: tuning.pollMs } : {}),
        ...(tuning.retryMs !== undefined ? { retryMs: tuning.retryMs } : {}),
        ...(options.dataDir
          ? { checkpointPath: join(options.dataDir, `stream-checkpoint-${tableName}.json`) }
          : {}),
      });
      const running = localEvents;
      cleanups.push(() => running.close());
    }
    const requireEvents = (): LocalEvents => {
      if (!localEvents) throw new Error('payout events are off: start the stack with `events: true`');
      return localEvents;
    };

    const reconcileOnce = async (overrides: Partial<ReconcileOptions> = {}): Promise<ReconcileSummary> => {
      // No Lambda deadline locally; the timer below never starts a run while one is still going.
      const base = reconcileOptionsFor(runtime.config, { kind: 'reconcile' }, () => Number.POSITIVE_INFINITY);
      try {
        // With batches: due BATCH# records and QUEUED items go to the dispatcher's looks (re-trigger…).
        // Expiry of a batch awaiting approval and the end of a deny/void sweep are the batch module's.
        const maintain = (batchId: string) =>
          maintainBatch({ ...runtime.deps, batches: writeStore, dispatch: dispatcher }, batchId);
        const looks: Partial<ReconcileDeps> = {
          batchLooks: () =>
            batchLooks({ ...runtime.deps, batches: batchStore, trigger: dispatcher }, maintain),
        };
        const withLooks: Runtime = { ...runtime, deps: { ...runtime.deps, ...looks } as PayoutDeps };
        return await reconcileWithRuntime(withLooks, { ...base, ...overrides });
      } finally {
        // What flushMetrics does after each invocation in AWS.
        runtime.metrics?.publishStoredMetrics();
      }
    };

    if (options.reconcile?.timer) {
      const intervalMs =
        options.reconcile.intervalMs ?? parseSeconds(user[LOCAL_ENV.reconcileIntervalSeconds], 60) * 1000;
      let inFlight: Promise<unknown> | undefined;
      const timer = setInterval(() => {
        if (inFlight) return;
        inFlight = reconcileOnce()
          .then((summary) => {
            if (summary.examined > 0 || summary.stoppedEarly) {
              log(
                `[reconcile] examined ${summary.examined}, changed ${summary.changed}, resent ${summary.resent}, unknown ${summary.unknown}, stuck ${summary.stuck}`,
              );
            }
          })
          .catch((error: unknown) => log(`[reconcile] run failed: ${(error as Error)?.message ?? error}`))
          .finally(() => {
            inFlight = undefined;
          });
      }, intervalMs);
      cleanups.push(async () => {
        clearInterval(timer);
        await inFlight;
      });
    }

    return {
      url: front.url,
      consoleUrl: `${front.url}${CONSOLE_PATH}`,
      notifyUrl,
      env,
      runtime,
      sandbox,
      dynamoEndpoint,
      tableName,
      reportsDir,
      reconcileOnce,
      events: () => requireEvents().sink.events(),
      eventSink: localEvents?.sink,
      eventsCaughtUp: (timeoutMs) => requireEvents().caughtUp(timeoutMs),
      dispatcher,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A provider outside the stack: one base, or both the apply and the query URL (src/config/env.ts). */
export function providerConfigured(env: Record<string, string | undefined>): boolean {
  return Boolean(env[ENV.apiBase] || (env[ENV.applyUrl] && env[ENV.queryUrl]));
}

function parseSeconds(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    throw new Error(`${LOCAL_ENV.reconcileIntervalSeconds} must be a whole number of seconds, at least 1`);
  }
  return Number(value);
}

/**
 * SANDBOX_BALANCE (yuan) for the embedded sandbox, parsed as the standalone sandbox parses it
 * (sandbox/config.ts): local mode can then be started short of funds to see 9104.
 */
function parseBalance(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const fen = parseYuan(value.trim());
  if (fen === undefined) {
    throw new Error(`${SANDBOX_ENV.balance} must be yuan with at most 2 decimals, e.g. 100000000.00`);
  }
  return fen;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) {
    throw new Error(`PORT must be a port number (0–65535)`);
  }
  return Number(value);
}
