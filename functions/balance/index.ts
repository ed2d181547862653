import { processRuntime } from '../shared/runtime';
import { balanceHandler } from './handler';

export const handler = balanceHandler(processRuntime);
