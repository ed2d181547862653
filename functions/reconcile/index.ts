import { withBatchLooks } from '../dispatch/wiring';
import { processRuntime } from '../shared/runtime';
import { reconcileHandler } from './handler';

/** EventBridge schedule → one reconciliation pass (payload: ReconcileSchedulePayload). */
export const handler = reconcileHandler(() => withBatchLooks(processRuntime()));
