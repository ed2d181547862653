import { queryHandler } from '../shared/handlers';
import { processRuntime } from '../shared/runtime';

export const handler = queryHandler(processRuntime);
