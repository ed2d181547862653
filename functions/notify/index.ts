import { processRuntime } from '../shared/process-runtime';
import { notifyHandler } from './handler';

export const handler = notifyHandler(processRuntime);
