import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { MemoryMetrics } from '../../functions/shared/observability';
import { buildRuntime } from '../../functions/shared/runtime';
import { localDynamoClient } from '../../local/dynamodb';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { LOCAL_OID_PARTNER } from '../../local/test-merchant';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/server';
import { ENV } from '../../src/config/contract';
import type { PayoutOrder } from '../../src/core/model';
import { isFinal } from '../../src/core/status';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../src/lianlian/keys';
import { quietLogger } from '../dynamo';
import { CrashingProvider, FaultyStore } from './faults';

/**
 * One local stack per scenario (its own table in the shared DynamoDB Local, its own sandbox), so the
 * scenarios cannot see each other's orders. The sandbox is started here rather than embedded, so the
 * bench holds the provider's private key (the fuzzer signs bodies with it) and the sandbox itself.
 */

export const OID = LOCAL_OID_PARTNER;

export interface ReliabilityStack {
  readonly stack: LocalStack;
  readonly sandbox: Sandbox;
  readonly store: FaultyStore;
  readonly provider: CrashingProvider;
  readonly providerKey: KeyObject;
  readonly metrics: MemoryMetrics;
  close(): Promise<void>;
}

export async function startReliabilityStack(
  dynamoEndpoint: string,
  name: string,
  sandboxOptions: Partial<SandboxOptions>,
  env: Record<string, string> = {},
): Promise<ReliabilityStack> {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const provider = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const sandbox = await startSandbox({
    stepMs: 50,
    notifyIntervalMs: 200,
    ...sandboxOptions,
    oidPartner: OID,
    merchantPublicKey: merchant.publicKey,
    providerPrivateKey: provider.privateKey,
  });
  const metrics = new MemoryMetrics();
  let store: FaultyStore | undefined;
  let crashing: CrashingProvider | undefined;
  const tableName = `reliability-${name}-${Date.now()}`;
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: 0,
      dynamoEndpoint,
      tableName,
      env: {
        [ENV.apiBase]: sandbox.url,
        [ENV.oidPartner]: OID,
        [ENV.providerPublicKey]: exportPublicKeyBase64(provider.publicKey),
        [ENV.merchantPrivateKey]: exportPrivateKeyBase64(merchant.privateKey),
        ...env,
      },
      overrides: ({ env: stackEnv }) => {
        // The real ports, exactly as the stack would build them, wrapped.
        const base = buildRuntime(stackEnv, {
          dynamo: localDynamoClient(stackEnv[ENV.dynamoEndpoint]!),
          metrics,
          logger: quietLogger(),
        });
        store = new FaultyStore(base.deps.store);
        crashing = new CrashingProvider(base.deps.provider);
        return { store, provider: crashing, metrics, logger: quietLogger() };
      },
    });
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  return {
    stack,
    sandbox,
    store: store!,
    provider: crashing!,
    providerKey: provider.privateKey,
    metrics,
    close: async () => {
      await stack.close();
      await sandbox.close();
      const client = localDynamoClient(dynamoEndpoint);
      await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
      client.destroy();
    },
  };
}

export interface PostResult {
  readonly status: number;
  readonly body: string;
  /** HTTP attempts made (the merchant retries 5xx and transport errors). */
  readonly attempts: number;
  readonly statuses: readonly number[];
}

/** One POST /payouts; status 0 = transport error. */
export async function postOnce(url: string, body: unknown): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`${url}/payouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** The merchant's client: retries 5xx and transport errors with a short back-off, bounded. */
export async function postWithRetry(url: string, body: unknown, maxAttempts = 20): Promise<PostResult> {
  const statuses: number[] = [];
  for (let attempt = 1; ; attempt++) {
    const result = await postOnce(url, body);
    statuses.push(result.status);
    const retryable = result.status === 0 || result.status >= 500;
    if (!retryable || attempt >= maxAttempts) return { ...result, attempts: attempt, statuses };
    await sleep(Math.min(20 * attempt, 200));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` holds or the time is up; returns whether it held. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export function payoutBody(noOrder: string, money = '12.00') {
  return {
    no_order: noOrder,
    money_order: money,
    card_no: '6222021234567890123',
    acct_name: '张三丰',
    flag_card: '0',
    info_order: 'reliability run',
  };
}

/** Our orders, read with the real (unfaulted) store. */
export async function ourOrders(
  rs: ReliabilityStack,
  noOrders: readonly string[],
): Promise<Map<string, PayoutOrder>> {
  const out = new Map<string, PayoutOrder>();
  for (const noOrder of noOrders) {
    const order = await rs.store.real.get(noOrder);
    if (order) out.set(noOrder, order);
  }
  return out;
}

export function countNonFinal(orders: Map<string, PayoutOrder>, noOrders: readonly string[]): number {
  return noOrders.filter((n) => {
    const o = orders.get(n);
    return !o || !isFinal(o.status);
  }).length;
}

/**
 * A reconciliation pass "later": `runIndex` minimum ages (plus a minute) after now, so every open
 * order is due and past its back-off, as the next scheduled runs would find them.
 */
export async function reconcileLater(rs: ReliabilityStack, runIndex: number) {
  const minAgeMs = rs.stack.runtime.config.reconcile.minAgeMs;
  // Back-off doubles per check, capped at one hour: run k sits far enough ahead for check k.
  const aheadMs = runIndex * (2 * 60 * 60 * 1000) + minAgeMs + 60_000;
  return rs.stack.reconcileOnce({
    now: new Date(Date.now() + aheadMs),
    ratePerSecond: 100,
    concurrency: 8,
    safetyMarginMs: 0,
  });
}
