/** A problem the operator can fix (bad flag, unreadable file, wrong key): printed without a stack trace. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}
