import { processRuntime } from '../shared/runtime';
import { queryHandler } from './handler';

export const handler = queryHandler(processRuntime);
