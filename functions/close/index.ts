import { buildCloseRuntime, type CloseRuntime, closeHandler } from './handler';

let runtime: CloseRuntime | undefined;

/** The daily close (schedule) and GET /close/{date}. */
export const handler = closeHandler(() => {
  runtime ??= buildCloseRuntime(process.env);
  return runtime;
});
