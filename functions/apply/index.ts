import { applyHandler } from '../shared/handlers';
import { processRuntime } from '../shared/runtime';

export const handler = applyHandler(processRuntime);
