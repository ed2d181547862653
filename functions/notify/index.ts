import { processRuntime } from '../shared/runtime';
import { notifyHandler } from './handler';

export const handler = notifyHandler(processRuntime);
