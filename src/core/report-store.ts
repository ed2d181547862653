/**
 * Where generated reports go (the daily close's statements, large CSV exports): a versioned S3 bucket on
 * AWS (src/adapters/s3/report-store.ts), files under `.local/reports/` in local mode. Writing a key again
 * keeps the earlier version. Reports hold masked data only.
 */
export interface ReportStore {
  /** Stores `body` under `key`; answers the version written (S3 VersionId, or a local sequence number). */
  put(key: string, body: string, contentType: string): Promise<{ version: string }>;
  /** The current version's content, or undefined when nothing was written under `key`. */
  get(key: string): Promise<string | undefined>;
  /** A short-lived URL to download `key` (S3: a presigned GET; local: a URL of the local front). */
  link(key: string, ttlSeconds: number): Promise<string>;
}
