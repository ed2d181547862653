/** The dispatch queue's message body: the batch id only (no payee data, no amounts). No SDK here. */
export interface DispatchMessage {
  readonly batch_id: string;
}

/** The batch id of a dispatch message body, or undefined for anything else (never trusted further). */
export function parseDispatchMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<DispatchMessage>;
    return typeof parsed.batch_id === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(parsed.batch_id)
      ? parsed.batch_id
      : undefined;
  } catch {
    return undefined;
  }
}
