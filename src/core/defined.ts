/**
 * The object without its undefined-valued keys: what gets stored or published carries only what is
 * known (DynamoDB's marshaller and the event schema would otherwise see explicit undefineds).
 */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
