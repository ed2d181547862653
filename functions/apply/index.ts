import { processRuntime } from '../shared/process-runtime';
import { applyHandler } from './handler';

export const handler = applyHandler(processRuntime);
