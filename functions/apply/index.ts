import { processRuntime } from '../shared/runtime';
import { applyHandler } from './handler';

export const handler = applyHandler(processRuntime);
