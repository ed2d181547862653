import type { APIGatewayProxyEvent } from 'aws-lambda';
import { noOrder as noOrderSchema } from '../../src/lianlian/messages';
import { HttpError } from './http';

/** The path's no_order, validated as the apply validates it. */
export function pathNoOrder(event: Pick<APIGatewayProxyEvent, 'pathParameters'>): string {
  const noOrder = event.pathParameters?.no_order ?? '';
  if (!noOrderSchema.safeParse(noOrder).success) {
    throw new HttpError(400, 'invalid_request', 'no_order in the path is invalid');
  }
  return noOrder;
}
