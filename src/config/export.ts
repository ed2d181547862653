import { ENV } from './contract';
import { type ConfigProblem, configError } from './problems';

/**
 * The export function's configuration (functions/export, issue 12): only what an export needs — the table
 * it reads, the reports bucket it writes to, and the inline limit. No provider, no merchant key: it never
 * signs. Checked by hand rather than with zod on purpose: this function exists to keep its bundle and cold
 * start small, and zod alone is ~90 kB of it (src/config/env.ts, which the payout functions load anyway,
 * parses EXPORT_INLINE_MAX_BYTES with zod and the same rule: a positive whole number of bytes).
 */
export interface ExportConfig {
  readonly tableName: string;
  readonly dynamoEndpoint?: string;
  readonly reportsBucket: string;
  readonly reportsKmsKeyId?: string;
  /** EXPORT_INLINE_MAX_BYTES; absent = the export's default (src/core/export.ts INLINE_MAX_BYTES). */
  readonly inlineMaxBytes?: number;
}

export function loadExportConfig(env: Record<string, string | undefined>): ExportConfig {
  // Empty strings are "not set", as in loadConfig.
  const value = (name: string) => (env[name] === '' ? undefined : env[name]);
  const problems: ConfigProblem[] = [];
  const required = (name: string): string => {
    const v = value(name);
    if (v === undefined) problems.push({ name, message: 'is required' });
    return v ?? '';
  };
  const tableName = required(ENV.tableName);
  const reportsBucket = required(ENV.reportsBucket);
  const endpoint = value(ENV.dynamoEndpoint);
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    problems.push({ name: ENV.dynamoEndpoint, message: 'must be a URL' });
  }
  const limit = value(ENV.exportInlineMaxBytes);
  if (limit !== undefined && !/^[0-9]+$/.test(limit)) {
    problems.push({ name: ENV.exportInlineMaxBytes, message: 'must be a whole number' });
  } else if (limit !== undefined && Number(limit) <= 0) {
    problems.push({ name: ENV.exportInlineMaxBytes, message: 'must be greater than zero' });
  }
  // The variable is named, never its value.
  if (problems.length > 0) throw configError('invalid configuration: ', problems, '; ');
  const kmsKeyId = value(ENV.reportsKmsKeyId);
  return {
    tableName,
    reportsBucket,
    ...(endpoint !== undefined ? { dynamoEndpoint: endpoint } : {}),
    ...(kmsKeyId !== undefined ? { reportsKmsKeyId: kmsKeyId } : {}),
    ...(limit !== undefined ? { inlineMaxBytes: Number(limit) } : {}),
  };
}
