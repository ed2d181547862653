import { processRuntimeWithoutMerchantKey } from '../shared/runtime';
import { batchesHandler } from './handler';

/** PUT/GET /batches/{batch_id}, its items, its report and the approve/deny/void decisions (issue 11). */
export const handler = batchesHandler(processRuntimeWithoutMerchantKey);
