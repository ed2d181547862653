import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { reconcileOptionsFor, reconcileWithRuntime } from '../functions/reconcile/handler';
import { MemoryMetrics } from '../functions/shared/observability';
import { buildRuntime } from '../functions/shared/runtime';
import { ENV } from '../src/config/contract';
import type { ReconcileOptions, ReconcileSummary } from '../src/core/reconcile';
import { ensurePayoutsTable, localDynamoClient, startDynamoLocal } from './dynamodb';
import {
  LOCAL_OID_PARTNER,
  type LocalSecrets,
  type LocalStack,
  providerConfigured,
  readLocalSecrets,
} from './stack';

/**
 * How `npm run reconcile` finds local mode's data. `npm start` writes `<data dir>/stack.json` (its pid,
 * DynamoDB endpoint, table and the non-secret configuration, including the embedded sandbox's URL and
 * public key) and removes it on Ctrl-C. A reconcile pass then:
 *
 * - with `npm start` running: uses that DynamoDB Local and that provider (the embedded sandbox knows
 *   the orders; a fresh one would not);
 * - without it: starts DynamoDB Local itself on `<data dir>/dynamodb` and needs LLP_API_BASE (and, for
 *   RSA, LLP_PUBLIC_KEY) naming a provider that knows the orders.
 *
 * Secrets never go into stack.json: they come from the environment or from local-secrets.json, which
 * `npm start` keeps beside the data.
 */

const STATE_FILE = 'stack.json';
const SECRET_ENV: readonly string[] = [ENV.merchantPrivateKey, ENV.md5Key, ENV.localFieldKey];

export interface StackState {
  readonly pid: number;
  readonly startedAt: string;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /** The stack's configuration without secrets. */
  readonly env: Readonly<Record<string, string>>;
}

export function writeStackState(
  dataDir: string,
  stack: Pick<LocalStack, 'dynamoEndpoint' | 'tableName' | 'env'>,
): void {
  const env = Object.fromEntries(Object.entries(stack.env).filter(([k]) => !SECRET_ENV.includes(k)));
  const state: StackState = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dynamoEndpoint: stack.dynamoEndpoint,
    tableName: stack.tableName,
    env,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, STATE_FILE), JSON.stringify(state, null, 2));
}

export function removeStackState(dataDir: string): void {
  rmSync(join(dataDir, STATE_FILE), { force: true });
}

/** The running stack's state; undefined when none is written or its process is gone (a crash). */
export function readStackState(dataDir: string): StackState | undefined {
  const path = join(dataDir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  let state: StackState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(state.pid) || typeof state.dynamoEndpoint !== 'string') return undefined;
  try {
    // Signal 0 only checks that the process exists.
    process.kill(state.pid, 0);
  } catch {
    return undefined;
  }
  return state;
}

export interface ReconcileLocalOptions {
  readonly dataDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly overrides?: Partial<ReconcileOptions>;
  readonly print?: (line: string) => void;
}

export interface ReconcileLocalResult {
  readonly summary: ReconcileSummary;
  readonly via: 'running stack' | 'own DynamoDB Local';
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly metrics: ReadonlyMap<string, number>;
}

/** One reconciliation pass over local mode's data (see the module comment for how it finds it). */
export async function reconcileLocalData(options: ReconcileLocalOptions): Promise<ReconcileLocalResult> {
  const user = Object.fromEntries(
    Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let state = readStackState(options.dataDir);
    if (state && !(await answers(state.dynamoEndpoint))) state = undefined;

    let endpoint: string;
    let base: Record<string, string>;
    if (state) {
      endpoint = state.dynamoEndpoint;
      base = { ...state.env };
    } else {
      if (!providerConfigured(user)) {
        throw new Error(
          `no running \`npm start\` found (${join(options.dataDir, STATE_FILE)}) and ${ENV.apiBase} is not set: ` +
            'start local mode first, or point LLP_API_BASE (and LLP_PUBLIC_KEY) at a provider that knows the orders',
        );
      }
      const dynamo = await startDynamoLocal({ dbPath: join(options.dataDir, 'dynamodb') });
      cleanups.push(() => dynamo.stop());
      endpoint = dynamo.endpoint;
      base = {
        [ENV.keySource]: 'env',
        [ENV.tableName]: 'payouts',
        [ENV.oidPartner]: LOCAL_OID_PARTNER,
        [ENV.notifyUrl]: `http://127.0.0.1:${user.PORT || 3000}/lianlian/notify`,
      };
    }

    const secrets: Partial<LocalSecrets> = readLocalSecrets(options.dataDir) ?? {};
    const env: Record<string, string> = {
      ...base,
      ...(secrets.merchantPrivateKey ? { [ENV.merchantPrivateKey]: secrets.merchantPrivateKey } : {}),
      ...(secrets.fieldKey ? { [ENV.localFieldKey]: secrets.fieldKey } : {}),
      // The user's own settings (keys, provider, reconcile tuning) win over what the stack used.
      ...user,
      [ENV.keySource]: 'env',
      [ENV.dynamoEndpoint]: endpoint,
    };
    if (state) {
      // The running stack's table and provider are the ones that know its orders.
      env[ENV.tableName] = state.tableName;
      if (!providerConfigured(user)) {
        for (const name of [ENV.apiBase, ENV.applyUrl, ENV.queryUrl, ENV.balanceUrl]) {
          env[name] = state.env[name] ?? '';
        }
        env[ENV.providerPublicKey] = state.env[ENV.providerPublicKey] ?? '';
      }
    }

    const dynamo = localDynamoClient(endpoint);
    cleanups.push(async () => dynamo.destroy());
    await ensurePayoutsTable(dynamo, env[ENV.tableName] ?? 'payouts');
    const metrics = new MemoryMetrics();
    const runtime = buildRuntime(env, { dynamo, metrics });
    const runOptions = {
      ...reconcileOptionsFor(runtime.config, { kind: 'reconcile' }, () => Number.POSITIVE_INFINITY),
      ...options.overrides,
    };
    const summary = await reconcileWithRuntime(runtime, runOptions);
    return {
      summary,
      via: state ? 'running stack' : 'own DynamoDB Local',
      dynamoEndpoint: endpoint,
      tableName: runtime.config.tableName,
      metrics: metrics.counts,
    };
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  }
}

async function answers(endpoint: string): Promise<boolean> {
  const client = localDynamoClient(endpoint);
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}
