import { processRuntime } from '../shared/process-runtime';
import { balanceHandler } from './handler';

export const handler = balanceHandler(processRuntime);
