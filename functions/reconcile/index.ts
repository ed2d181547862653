import { TableDispatchTrigger } from '../../src/adapters/dynamodb/table-dispatch-trigger';
import { maintainBatch } from '../../src/core/batches';
import { batchLooks } from '../../src/core/dispatch';
import type { PayoutDeps } from '../../src/core/payouts';
import type { ReconcileDeps } from '../../src/core/reconcile';
import { batchStoreParts } from '../shared/batch-parts';
import { processRuntime } from '../shared/process-runtime';
import type { Runtime } from '../shared/runtime';
import { reconcileHandler } from './handler';

/**
 * The reconcile function's runtime with the batch looks (due BATCH# records, due QUEUED items: re-trigger,
 * approval wait, end with the batch). Its re-trigger is a request written on the batch record, which the
 * stream's publisher sends to the dispatch queue (TableDispatchTrigger): this function holds no SQS
 * client, and no EventBridge client either (Funds Low also leaves through the stream), which keeps its
 * bundle, the one with the merchant key's SSM and KMS clients, under the 500 kB budget.
 * `maintainBatch`: the batch module's look at the other batch statuses (approval expiry).
 */
export function withBatchLooks(runtime: Runtime): Runtime {
  const { client, batches } = batchStoreParts(runtime);
  const trigger = new TableDispatchTrigger({ client, tableName: runtime.config.tableName });
  const maintain = (batchId: string) =>
    maintainBatch({ ...runtime.deps, batches, dispatch: trigger }, batchId);
  const looks: Partial<ReconcileDeps> = {
    batchLooks: () => batchLooks({ ...runtime.deps, batches, trigger }, maintain),
  };
  return { ...runtime, deps: { ...runtime.deps, ...looks } as PayoutDeps };
}

/** EventBridge schedule → one reconciliation pass (payload: ReconcileSchedulePayload). */
export const handler = reconcileHandler(() => withBatchLooks(processRuntime()));
