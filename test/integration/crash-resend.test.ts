import { type ChildProcess, spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../functions/shared/observability';
import { ManualClock, type Sandbox, startSandbox } from '../../sandbox/server';
import { rsaPair } from '../../sandbox/testkit';
import { METRICS } from '../../src/config/contract';
import type { PayoutOrder } from '../../src/core/model';
import { isFinal } from '../../src/core/status';
import { APPLY_PATH } from '../../src/lianlian/endpoints';
import { exportPrivateKeyBase64 } from '../../src/lianlian/keys';
import { TEST_OID_PARTNER } from '../support/fakes';
import { payoutBody, startTestStack, type TestStack } from '../support/local-stack';

/**
 * Defect 1, reproduced end to end: a payout process dies while its apply is in flight (the provider has
 * taken the order, the answer never comes back), the provider's queries still say 8901, and a resend is
 * refused before the provider's duplicate check (an unsigned 9912). Before the fix the order was resent
 * on the first 8901 and closed REJECTED by that refusal within minutes — while the original was being
 * paid, so the merchant would pay again under a new number.
 *
 * The parts are real: a child process (test/support/crash-child.ts) with the real runtime against the
 * shared DynamoDB Local, the sandbox over HTTP behind a fault proxy, and reconciliation in this process.
 */

const MIN = 60_000;
/** The sandbox answers 8901 this long after taking the order: long enough for the first two passes. */
const NOT_FOUND_FOR_MS = 6_000;
const STEP_MS = 20;

interface FaultProxy {
  readonly url: string;
  /** Apply requests that reached the proxy (the sandbox saw only the first). */
  readonly applies: () => number;
  /** Resolves once the sandbox has answered the first apply (its answer is then held, never sent). */
  readonly firstApplyTaken: Promise<void>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Forwards everything to the sandbox, except: the first apply is forwarded but its answer is held (the
 * caller is killed meanwhile); any later apply is refused without reaching the sandbox, unsigned, as a
 * provider that refuses before its duplicate check would.
 */
async function startFaultProxy(target: string): Promise<FaultProxy> {
  let applies = 0;
  let taken!: () => void;
  const firstApplyTaken = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const isApply = req.url === APPLY_PATH;
      if (isApply) applies++;
      if (isApply && applies > 1) {
        res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
        res.end(JSON.stringify({ ret_code: '9912', ret_msg: '超过日限额' }));
        return;
      }
      const answer = await fetch(`${target}${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json;charset=utf-8' },
        body,
      });
      const text = await answer.text();
      if (isApply) {
        held.push(res);
        taken();
        return;
      }
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      res.end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    applies: () => applies,
    firstApplyTaken,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let sandbox: Sandbox;
let proxy: FaultProxy;
let stack: TestStack;
let child: ChildProcess | undefined;
const metrics = new MemoryMetrics();
const sandboxClock = new ManualClock(Date.now());

beforeAll(async () => {
  const merchant = rsaPair();
  sandbox = await startSandbox({
    // The provider's time moves only when the test says so: its 8901 period and processing steps are
    // exact, whatever the machine's load.
    clock: sandboxClock,
    oidPartner: TEST_OID_PARTNER,
    merchantPublicKey: createPublicKey(merchant.privateKey),
    stepMs: STEP_MS,
    notFoundForMs: NOT_FOUND_FOR_MS,
    dropNotifications: true,
  });
  proxy = await startFaultProxy(sandbox.url);
  stack = await startTestStack('crash-resend', {
    env: {
      LLP_API_BASE: proxy.url,
      LLP_PUBLIC_KEY: sandbox.providerPublicKeyBase64,
      LLP_MERCHANT_PRIVATE_KEY: exportPrivateKeyBase64(merchant.privateKey),
      LLP_OID_PARTNER: TEST_OID_PARTNER,
      LLP_TIMEOUT_MS: '2000',
      // The smallest minimum age the timing rule allows with a 2 s provider timeout.
      RECONCILE_MIN_AGE_SECONDS: '13',
      NOT_FOUND_GRACE_SECONDS: '1800',
    },
    ports: { metrics },
  });
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await stack?.dispose();
  await proxy?.close();
  await sandbox?.close();
});

const later = (ms: number) => new Date(Date.now() + ms);

async function stored(noOrder: string): Promise<PayoutOrder> {
  const order = await stack.runtime.deps.store.get(noOrder);
  if (!order) throw new Error(`order ${noOrder} not stored`);
  return order;
}

describe('a process killed mid-apply, then a refused resend', () => {
  it('never closes the order while the first apply may be paying; it ends SUCCESS, paid once', async () => {
    const body = payoutBody('notFoundAtFirst');
    const noOrder = body.no_order;
    const script = fileURLToPath(new URL('../support/crash-child.ts', import.meta.url));
    const running = spawn(process.execPath, ['--import', 'tsx', script], {
      env: {
        ...process.env,
        CRASH_CHILD_ENV: JSON.stringify(stack.env),
        CRASH_CHILD_BODY: JSON.stringify(body),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = running;
    let stderr = '';
    running.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      running.on('exit', (code, signal) => resolve(signal ?? code)),
    );

    // The sandbox has taken the order; its answer is held. Kill the process now: nothing records it.
    await Promise.race([
      proxy.firstApplyTaken,
      exited.then((how) => {
        throw new Error(`child exited (${how}) before its apply reached the provider: ${stderr}`);
      }),
    ]);
    running.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(sandbox.acceptedApplies(noOrder)).toBe(1);
    const recorded = await stored(noOrder);
    expect(recorded).toMatchObject({ status: 'PENDING', apply_attempts: 1 });

    // "Restart": reconciliation in this process over the same table. 8901 right after the apply is not
    // proof the apply never arrived: inside the grace nothing changes, nothing is resent.
    await stack.reconcileOnce({ now: later(15_000) });
    const inside = await stored(noOrder);
    expect(inside).toMatchObject({ status: 'PENDING', apply_attempts: 1 });
    expect(proxy.applies()).toBe(1);

    // 8901 has persisted for the whole grace (the sandbox still hides the order): resent under the same
    // no_order and dt_order, and refused before the provider's duplicate check. Never final.
    await stack.reconcileOnce({ now: later(31 * MIN) });
    expect(proxy.applies()).toBe(2);
    const refused = await stored(noOrder);
    expect(refused).toMatchObject({ status: 'UNKNOWN', ret_code: '9912', apply_attempts: 2 });
    expect(refused.dt_order).toBe(recorded.dt_order);
    expect(refused.history.at(-1)?.note).toContain('resend refused');
    expect(metrics.get(METRICS.resendRefused)).toBe(1);

    // The provider shows the original: the order ends with the provider's true result.
    sandboxClock.advance(NOT_FOUND_FOR_MS + 10 * STEP_MS);
    expect(sandbox.order(noOrder)?.result_pay).toBe('SUCCESS');
    await stack.reconcileOnce({ now: later(3 * 60 * MIN) });
    const after = await stored(noOrder);
    expect(after.status).toBe('SUCCESS');
    // No final state other than the provider's true result was ever recorded.
    for (const entry of after.history) {
      if (isFinal(entry.to)) expect(entry.to).toBe('SUCCESS');
    }
    expect(sandbox.acceptedApplies(noOrder)).toBe(1);
  });
});
