import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyHandler, notifyHandler, queryHandler } from '../functions/shared/handlers';
import { buildRuntime, type Runtime, type RuntimeOverrides } from '../functions/shared/runtime';
import { type Sandbox, type SandboxOptions, startSandbox } from '../sandbox/server';
import { ENV } from '../src/config/contract';
import { exportPrivateKeyBase64, parsePrivateKey } from '../src/lianlian/keys';
import {
  type DynamoLocal,
  ensurePayoutsTable,
  LOCAL_AWS,
  localDynamoClient,
  startDynamoLocal,
} from './dynamodb';
import { type LocalFront, type Routes, startLocalFront } from './front';

/** A test merchant number (18 digits) for local mode; clearly not a real merchant. */
export const LOCAL_OID_PARTNER = '201400000000000001';

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
}

export interface LocalStack {
  readonly url: string;
  readonly notifyUrl: string;
  readonly env: Readonly<Record<string, string>>;
  readonly runtime: Runtime;
  readonly sandbox?: Sandbox;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  close(): Promise<void>;
}

interface LocalSecrets {
  merchantPrivateKey: string;
  providerPrivateKey: string;
  fieldKey: string;
}

/**
 * Local secrets: generated once and, with a data dir, kept beside the data, so a restart can still open
 * the payee seals it wrote and the sandbox keeps signing with the key the merchant side trusts.
 */
function localSecrets(dataDir: string | undefined): LocalSecrets {
  const path = dataDir ? join(dataDir, 'local-secrets.json') : undefined;
  if (path) {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as LocalSecrets;
    } catch {
      // first start: generate below
    }
  }
  const gen = () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const secrets: LocalSecrets = {
    merchantPrivateKey: exportPrivateKeyBase64(gen()),
    providerPrivateKey: exportPrivateKeyBase64(gen()),
    fieldKey: randomBytes(32).toString('base64'),
  };
  if (path && dataDir) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, JSON.stringify(secrets), { mode: 0o600 });
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
      const dynamo: DynamoLocal = await startDynamoLocal(
        options.dataDir ? { dbPath: join(options.dataDir, 'dynamodb') } : {},
      );
      cleanups.push(() => dynamo.stop());
      dynamoEndpoint = dynamo.endpoint;
    }
    const tableName = options.tableName ?? 'payouts';
    const ddb = localDynamoClient(dynamoEndpoint);
    cleanups.push(async () => ddb.destroy());
    await ensurePayoutsTable(ddb, tableName);

    // The provider: the embedded sandbox unless LLP_API_BASE points elsewhere.
    let sandbox: Sandbox | undefined;
    let apiBase = user[ENV.apiBase];
    let providerPublicKey = user[ENV.providerPublicKey];
    if (!apiBase) {
      const providerPrivateKey = parsePrivateKey(secrets.providerPrivateKey, 'provider key');
      sandbox = await startSandbox({
        ...options.sandbox,
        oidPartner,
        merchantPublicKey: signType === 'RSA' ? merchantKey : undefined,
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
      { port },
    );
    cleanups.push(() => front.close());
    const notifyUrl = user[ENV.notifyUrl] || `${front.url}/lianlian/notify`;

    const env: Record<string, string> = {
      [ENV.keySource]: 'env',
      [ENV.tableName]: tableName,
      [ENV.dynamoEndpoint]: dynamoEndpoint,
      [ENV.apiBase]: apiBase,
      [ENV.oidPartner]: oidPartner,
      [ENV.signType]: signType,
      [ENV.providerPublicKey]: providerPublicKey ?? '',
      [ENV.merchantPrivateKey]: merchantPrivateKeyText,
      [ENV.md5Key]: user[ENV.md5Key] ?? '',
      [ENV.localFieldKey]: user[ENV.localFieldKey] || secrets.fieldKey,
      [ENV.notifyUrl]: notifyUrl,
      [ENV.timeoutMs]: user[ENV.timeoutMs] || '10000',
      [ENV.notFoundGraceSeconds]: user[ENV.notFoundGraceSeconds] || '1800',
      [ENV.reconcileMinAgeSeconds]: user[ENV.reconcileMinAgeSeconds] || '120',
      [ENV.reconcileRatePerSecond]: user[ENV.reconcileRatePerSecond] || '10',
      [ENV.reconcileConcurrency]: user[ENV.reconcileConcurrency] || '4',
      [ENV.stuckAfterSeconds]: user[ENV.stuckAfterSeconds] || '86400',
    };
    const runtime = buildRuntime(env, {
      dynamo: ddb,
      ...options.overrides?.({ env }),
    });
    routes = {
      apply: applyHandler(() => runtime),
      query: queryHandler(() => runtime),
      notify: notifyHandler(() => runtime),
    };
    return {
      url: front.url,
      notifyUrl,
      env,
      runtime,
      sandbox,
      dynamoEndpoint,
      tableName,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) {
    throw new Error(`PORT must be a port number (0–65535)`);
  }
  return Number(value);
}
