import * as z from 'zod/mini';
import { ENV } from './contract';
import { envProblem, invalid, nonEmpty, optionalPositiveInt, setValues, url } from './env-values';

/**
 * The export function's configuration (functions/export, issue 12): only what an export needs — the table
 * it reads, the reports bucket it writes to, and the inline limit. No provider, no merchant key: it never
 * signs, so it does not load the payout functions' configuration (src/config/env.ts). The values follow
 * the same rules as there (src/config/env-values.ts): EXPORT_INLINE_MAX_BYTES a positive whole number of
 * bytes, DYNAMODB_ENDPOINT a URL.
 */
export interface ExportConfig {
  readonly tableName: string;
  readonly dynamoEndpoint?: string;
  readonly reportsBucket: string;
  readonly reportsKmsKeyId?: string;
  /** EXPORT_INLINE_MAX_BYTES; absent = the export's default (src/core/export.ts INLINE_MAX_BYTES). */
  readonly inlineMaxBytes?: number;
}

const schema = z.object({
  [ENV.tableName]: nonEmpty,
  [ENV.reportsBucket]: nonEmpty,
  [ENV.dynamoEndpoint]: z.optional(url),
  [ENV.reportsKmsKeyId]: z.optional(nonEmpty),
  [ENV.exportInlineMaxBytes]: optionalPositiveInt(),
});

export function loadExportConfig(env: Record<string, string | undefined>): ExportConfig {
  const values = setValues(env);
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((issue) => envProblem(issue, values, ENV.tableName)));
  }
  const c = parsed.data;
  const endpoint = c[ENV.dynamoEndpoint];
  const kmsKeyId = c[ENV.reportsKmsKeyId];
  const limit = c[ENV.exportInlineMaxBytes];
  return {
    tableName: c[ENV.tableName],
    reportsBucket: c[ENV.reportsBucket],
    ...(endpoint !== undefined ? { dynamoEndpoint: endpoint } : {}),
    ...(kmsKeyId !== undefined ? { reportsKmsKeyId: kmsKeyId } : {}),
    ...(limit !== undefined ? { inlineMaxBytes: limit } : {}),
  };
}
