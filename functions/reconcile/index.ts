import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeFundsEvents } from '../../src/adapters/eventbridge/funds-events';
import { withBatchLooks } from '../dispatch/wiring';
import { processRuntime } from '../shared/process-runtime';
import type { Runtime } from '../shared/runtime';
import { reconcileHandler } from './handler';

/** Funds Low goes to the payout bus (EVENT_BUS_NAME); only this function publishes it. */
function withFundsEvents(runtime: Runtime): Runtime {
  const bus = runtime.config.eventBusName;
  if (!bus || runtime.funds.events) return runtime;
  const events = new EventBridgeFundsEvents(new EventBridgeClient({}), bus);
  return { ...runtime, funds: { ...runtime.funds, events } };
}

/** EventBridge schedule → one reconciliation pass (payload: ReconcileSchedulePayload). */
export const handler = reconcileHandler(() => withBatchLooks(withFundsEvents(processRuntime())));
