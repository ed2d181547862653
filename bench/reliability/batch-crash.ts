import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../../local/dynamodb';
import { startLocalStack } from '../../local/stack';
import type { PayoutOrder } from '../../src/core/model';
import { isFinal } from '../../src/core/status';
import { APPLY_PATH } from '../../src/lianlian/endpoints';
import { batchRecord, DynamoBatchStoreDouble, queuedItem } from '../../test/support/batch-doubles';
import { makeOrder } from '../../test/support/order-fixtures';
import { quietLogger } from '../dynamo';

/**
 * `batch_crash` (issue 11): a dispatcher process is SIGKILLed three times in the middle of one batch,
 * each time after it has sent a share of the items; a fourth process finishes the batch; reconciliation
 * then runs as it would (later: past the 8901 grace, so an item claimed but never sent is resent under its
 * own no_order). Counted: applies the provider accepted beyond one per item (must be 0), items the
 * provider never received (must be 0), items not final (must be 0).
 */

export interface BatchCrashResult {
  readonly items: number;
  readonly kills: number;
  readonly duplicate_applies: number;
  readonly items_unsent: number;
  readonly items_not_final: number;
  readonly applies_at_kills: readonly number[];
  readonly ok: boolean;
}

const CHILD = fileURLToPath(new URL('./batch-crash-child.ts', import.meta.url));

export async function batchCrash(
  dynamoEndpoint: string,
  progress: (line: string) => void,
  items: number,
  kills = 3,
): Promise<BatchCrashResult> {
  const tableName = `bench-batch-crash-${Date.now()}`;
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint,
    tableName,
    sandbox: { stepMs: 20 },
    overrides: () => ({ logger: quietLogger() }),
  });
  const raw = localDynamoClient(dynamoEndpoint);
  try {
    const sandbox = stack.sandbox!;
    const deps = stack.runtime.deps;
    const batchId = `BC${Date.now().toString(36)}`;
    const orders: PayoutOrder[] = [];
    for (let i = 0; i < items; i++) {
      const noOrder = `${batchId}${i.toString().padStart(5, '0')}`;
      const at = new Date().toISOString();
      orders.push(
        queuedItem(
          makeOrder({
            no_order: noOrder,
            created_at: at,
            updated_at: at,
            payee_sealed: await deps.cipher.seal(
              { card_no: '6222021234567890123', acct_name: '张三丰' },
              noOrder,
            ),
          }),
          batchId,
          i + 1,
        ),
      );
    }
    for (let i = 0; i < orders.length; i += 25)
      await Promise.all(orders.slice(i, i + 25).map((o) => deps.store.create(o)));
    await new DynamoBatchStoreDouble({ client: raw, tableName }).put(batchRecord(batchId, orders));

    const applies = () => sandbox.requests().filter((r) => r.path === APPLY_PATH).length;
    const appliesAtKills: number[] = [];
    const share = Math.max(1, Math.floor(items / (kills + 2)));
    for (let run = 0; run <= kills; run++) {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        env: {
          ...process.env,
          BATCH_CRASH_ENV: JSON.stringify(stack.env),
          BATCH_CRASH_ID: batchId,
          BATCH_CRASH_RATE: '100',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      if (run < kills) {
        // Killed mid-batch: once it has sent another share of the items (or, at worst, when it is done).
        const target = applies() + share;
        let code: number | null | undefined;
        void exited.then((c) => {
          code = c;
        });
        while (applies() < target && code === undefined) await new Promise((r) => setTimeout(r, 5));
        child.kill('SIGKILL');
        await exited;
        appliesAtKills.push(applies());
        progress(`batch_crash: dispatcher killed after ${applies()} applies`);
      } else {
        const code = await exited;
        if (code !== 0) throw new Error(`the last dispatcher exited with ${code}`);
      }
    }

    // Later, as the schedule would: past the grace, a claimed-but-never-sent item is resent; everything
    // the provider has is answered. Two passes: a resend's result is read by the next one.
    const hour = 3_600_000;
    await stack.reconcileOnce({ now: new Date(Date.now() + 2 * hour) });
    await new Promise((r) => setTimeout(r, 1_000));
    await stack.reconcileOnce({ now: new Date(Date.now() + 6 * hour) });

    let duplicates = 0;
    let unsent = 0;
    let notFinal = 0;
    for (const order of orders) {
      const accepted = sandbox.acceptedApplies(order.no_order);
      duplicates += Math.max(0, accepted - 1);
      if (accepted === 0) unsent++;
      const stored = await deps.store.get(order.no_order);
      if (!stored || !isFinal(stored.status)) notFinal++;
    }
    progress(`batch_crash: ${duplicates} duplicate applies, ${unsent} unsent, ${notFinal} not final`);
    return {
      items,
      kills,
      duplicate_applies: duplicates,
      items_unsent: unsent,
      items_not_final: notFinal,
      applies_at_kills: appliesAtKills,
      ok: duplicates === 0 && unsent === 0 && notFinal === 0,
    };
  } finally {
    await stack.close();
    await raw.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    raw.destroy();
  }
}
