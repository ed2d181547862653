import { processRuntime } from '../shared/process-runtime';
import { queryHandler } from './handler';

export const handler = queryHandler(processRuntime);
