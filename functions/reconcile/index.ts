import { reconcileHandler } from '../shared/reconcile-handler';
import { processRuntime } from '../shared/runtime';

/** EventBridge schedule → one reconciliation pass (payload: ReconcileSchedulePayload). */
export const handler = reconcileHandler(processRuntime);
