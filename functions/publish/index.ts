import { processPublishRuntime, publishHandler } from './handler';

/** DynamoDB stream of the payouts table → payout events on EventBridge (EVENT_BUS_NAME). */
export const handler = publishHandler(processPublishRuntime);
