/**
 * The contract between the infrastructure and the functions: environment variable names, the schedule
 * payload and the KMS encryption contexts. Both sides import it, so a rename cannot drift.
 */

export const ENV = {
  /** `kms` in AWS (keys are KMS ciphertext in SSM), `env` in local mode (keys given by environment). */
  keySource: 'KEY_SOURCE',
  tableName: 'TABLE_NAME',
  /** Local mode only: DynamoDB Local's endpoint. */
  dynamoEndpoint: 'DYNAMODB_ENDPOINT',
  /** One 2014-style base: apply and query at `{base}/traderapi/…` (spec §12). The simple default. */
  apiBase: 'LLP_API_BASE',
  /** Each endpoint on its own (the later hosts, spec §12); each one set wins over LLP_API_BASE. */
  applyUrl: 'LLP_APPLY_URL',
  queryUrl: 'LLP_QUERY_URL',
  balanceUrl: 'LLP_BALANCE_URL',
  oidPartner: 'LLP_OID_PARTNER',
  signType: 'LLP_SIGN_TYPE',
  providerPublicKey: 'LLP_PUBLIC_KEY',
  timeoutMs: 'LLP_TIMEOUT_MS',
  notifyUrl: 'NOTIFY_URL',
  /** env mode: the merchant private key itself (base64 PKCS#8 DER or PEM). */
  merchantPrivateKey: 'LLP_MERCHANT_PRIVATE_KEY',
  /** env mode: the MD5 key itself. */
  md5Key: 'LLP_MD5_KEY',
  /** kms mode: SSM parameter holding the KMS ciphertext (base64) of the merchant private key. */
  merchantKeyParam: 'LLP_MERCHANT_KEY_PARAM',
  /** kms mode: SSM parameter holding the KMS ciphertext (base64) of the MD5 key. */
  md5KeyParam: 'LLP_MD5_KEY_PARAM',
  /** kms mode: the KMS key (id or ARN) the merchant key ciphertext was made with. */
  merchantKeyKmsKeyId: 'MERCHANT_KEY_KMS_KEY_ID',
  /**
   * How long a loaded merchant key is used before it is read again (seconds, default 300): a key rotated in
   * SSM is picked up within this long, without a cold start.
   */
  keyCacheSeconds: 'MERCHANT_KEY_CACHE_SECONDS',
  /** kms mode: the KMS key (id or ARN) that generates data keys for field-level encryption. */
  fieldKeyKmsKeyId: 'FIELD_KEY_KMS_KEY_ID',
  /** env mode: base64 of a 32-byte local master key for field-level encryption. */
  localFieldKey: 'LOCAL_FIELD_KEY',
  notFoundGraceSeconds: 'NOT_FOUND_GRACE_SECONDS',
  /** After SUCCESS, reconciliation looks once more this much later for a lost CANCEL; 0 = off. */
  returnWatchSeconds: 'RETURN_WATCH_SECONDS',
  eventBusName: 'EVENT_BUS_NAME',
  reconcileMinAgeSeconds: 'RECONCILE_MIN_AGE_SECONDS',
  reconcileRatePerSecond: 'RECONCILE_RATE_PER_SECOND',
  reconcileConcurrency: 'RECONCILE_CONCURRENCY',
  stuckAfterSeconds: 'STUCK_AFTER_SECONDS',
  /**
   * Batch dispatch (issue 11): the provider's whole budget (applies + queries per second), the batch applies
   * within it, in-flight applies per dispatch worker, how often a known balance is asked again (seconds),
   * and the dispatch queue (AWS: the SQS FIFO queue URL the batch API and reconciliation send to).
   */
  providerRatePerSecond: 'PROVIDER_RATE_PER_SECOND',
  dispatchRatePerSecond: 'DISPATCH_RATE_PER_SECOND',
  dispatchConcurrency: 'DISPATCH_CONCURRENCY',
  dispatchQueueUrl: 'DISPATCH_QUEUE_URL',
  /** Spending controls (docs/controls.md): amounts are yuan strings; each unset = that control is off. */
  approvalMinAmount: 'APPROVAL_MIN_AMOUNT',
  payoutMaxAmount: 'PAYOUT_MAX_AMOUNT',
  dailyLimitAmount: 'DAILY_LIMIT_AMOUNT',
  payeeDailyLimitAmount: 'PAYEE_DAILY_LIMIT_AMOUNT',
  payeeDailyLimitCount: 'PAYEE_DAILY_LIMIT_COUNT',
  /** An unapproved payout is voided after this; default 259200 (3 days). */
  approvalTtlSeconds: 'APPROVAL_TTL_SECONDS',
  /** A batch whose total is at least this waits for approval (issue 11); unset = only its items decide. */
  approvalMinBatchAmount: 'APPROVAL_MIN_BATCH_AMOUNT',
  /** Funds (issue 13, docs/funds.md): the balance check's minimum interval, seconds (default 300). */
  balanceCheckSeconds: 'BALANCE_CHECK_SECONDS',
  /** How long a 9104-refused payout waits for funds before it is REJECTED, seconds (default 86400). */
  fundsWaitSeconds: 'FUNDS_WAIT_SECONDS',
  /** Yuan: the low-balance alarm and the Funds Low event fire below it; unset = only the waiting amount. */
  lowBalanceAmount: 'LOW_BALANCE_AMOUNT',
  /** kms mode, payee limits only: the KMS HMAC key that turns a card number into a payee key. */
  payeeHmacKmsKeyId: 'PAYEE_HMAC_KMS_KEY_ID',
  /** env mode, payee limits only: base64 of a 32-byte local HMAC key. */
  localPayeeHmacKey: 'LOCAL_PAYEE_HMAC_KEY',
  /** The daily close (issue 13): the reports bucket (versioned, KMS) and its customer key. */
  reportsBucket: 'REPORTS_BUCKET',
  reportsKmsKeyId: 'REPORTS_KMS_KEY_ID',
  /** Local mode: the reports directory (default `.local/reports`). */
  localReportsDir: 'LOCAL_REPORTS_DIR',
  /**
   * A tuning knob of `GET /payouts/export.csv` (issue 12): the largest CSV answered inline, bytes; a larger
   * one goes to the reports bucket behind a short-lived link. Default 4 MB (src/core/export.ts says why).
   */
  exportInlineMaxBytes: 'EXPORT_INLINE_MAX_BYTES',
  /** Powertools */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

/** Encryption context bound to the merchant key ciphertext; KMS refuses Decrypt without it. */
export function merchantKeyContext(oidPartner: string, kind: 'rsa' | 'md5'): Record<string, string> {
  return { purpose: 'lianlian-payout/merchant-key', oid_partner: oidPartner, kind };
}

/** Encryption context of field-level data keys. */
export const FIELD_KEY_CONTEXT: Readonly<Record<string, string>> = {
  purpose: 'lianlian-payout/payee-fields',
};

/** Metric namespace and the names alarms watch (shared with infra). */
export const METRICS = {
  namespace: 'LianLianPayout',
  anomalies: 'PayoutAnomalies',
  stuck: 'PayoutsStuck',
  unknownCodes: 'ProviderUnknownCodes',
  /** Every failed signature check, with dimension `kind`: apply | query | notify (and balance later). */
  signatureFailures: 'SignatureFailures',
  /**
   * A resend refused conclusively (9104, 9912, …): the order stays open because the first apply may still
   * be paying. Someone should look (balance, limits) — but the order is never closed on it.
   */
  resendRefused: 'PayoutResendRefused',
  /** An order whose applied_at cannot be read: its 8901 grace is treated as never over. Repair the record. */
  appliedAtUnreadable: 'PayoutAppliedAtUnreadable',
  reconcileExamined: 'ReconcileExamined',
  reconcileChanged: 'ReconcileChanged',
  reconcileResent: 'ReconcileResent',
  reconcileErrors: 'ReconcileErrors',
  /** Open orders examined by a run, by age since creation: one metric per bucket (one EMF record a run). */
  reconcileOpenUnder1h: 'ReconcileOpenUnder1h',
  reconcileOpen1to6h: 'ReconcileOpen1to6h',
  reconcileOpen6to24h: 'ReconcileOpen6to24h',
  reconcileOpenOver24h: 'ReconcileOpenOver24h',
  eventsPublished: 'PayoutEventsPublished',
  /** The provider's available balance (amt_balance), yuan, published by every balance check (issue 13). */
  availableBalance: 'AvailableBalance',
  /** What waits to be paid (queued, awaiting approval, awaiting funds), yuan, beside AvailableBalance. */
  waitingAmount: 'WaitingAmount',
  /** A balance check whose answer could not be believed (unknown is never zero): nothing was resent. */
  balanceUnknown: 'BalanceUnknown',
  /** AWAITING_FUNDS payouts claimed and resent because the balance covered them. */
  fundsResent: 'FundsResent',
  eventRecordsRetried: 'PayoutEventRecordsRetried',
  eventRecordsMalformed: 'PayoutEventRecordsMalformed',
  /** Reconciliation's dispatch requests the publisher could not send to the queue (the next due look asks again). */
  dispatchRequestsFailed: 'DispatchRequestsFailed',
  /** Batch dispatch (issue 11): items claimed and sent by a run. */
  dispatchClaimed: 'DispatchClaimed',
} as const;

/** The payload the EventBridge schedule sends to the reconciliation function. */
export interface ReconcileSchedulePayload {
  readonly kind: 'reconcile';
  /** Optional override of the minimum age, seconds. */
  readonly minAgeSeconds?: number;
}

/** The payload the daily schedule sends to the close function; `date` (yyyy-mm-dd) overrides yesterday. */
export interface CloseSchedulePayload {
  readonly kind: 'close';
  readonly date?: string;
}

/** The env var each controls field is read from (src/config/controls.ts names the fields). */
export const CONTROLS_ENV = {
  approvalMin: ENV.approvalMinAmount,
  payoutMax: ENV.payoutMaxAmount,
  dailyLimit: ENV.dailyLimitAmount,
  payeeDailyLimit: ENV.payeeDailyLimitAmount,
  payeeDailyLimitCount: ENV.payeeDailyLimitCount,
  approvalTtlSeconds: ENV.approvalTtlSeconds,
  approvalMinBatch: ENV.approvalMinBatchAmount,
} as const;

/** Function names as used by the infrastructure and the bench (entry: functions/<name>/index.ts). */
export const FUNCTION_NAMES = [
  'apply',
  'query',
  'review',
  'notify',
  'reconcile',
  'publish',
  'dispatch',
  'batches',
  'balance',
  'export',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];
