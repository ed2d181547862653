import { processRuntime } from '../shared/process-runtime';
import { reviewHandler } from './handler';

/** POST /payouts/{no_order}/approve | deny | void: the second person's decisions. */
export const handler = reviewHandler(processRuntime);
