import { notifyHandler } from '../shared/handlers';
import { processRuntime } from '../shared/runtime';

export const handler = notifyHandler(processRuntime);
