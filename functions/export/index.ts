import { buildExportRuntime, type ExportRuntime, exportHandler } from './handler';

let runtime: ExportRuntime | undefined;

/** GET /payouts/export.csv (issue 12): inline CSV, or a large one through the reports bucket and a link. */
export const handler = exportHandler(() => {
  runtime ??= buildExportRuntime(process.env);
  return runtime;
});
