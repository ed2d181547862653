import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { METRICS } from '../../src/config/contract';
import type { Log, MetricsPort } from '../../src/core/ports';

/**
 * Defence in depth behind "never log payee data": the payout code passes only masked or non-secret
 * attributes, and this replacer still redacts secret-named keys, card-like digit runs, PEM blocks and long
 * base64 blobs (keys, signatures, sealed payee data) anywhere in a log record, so a future careless
 * `logger.info(..., { body })` cannot leak a card number or key.
 *
 * It must not destroy what an operator needs to find a record again: identifiers that are long digit
 * strings (stream sequence numbers, shard ids, bill numbers) are kept by key, and a digit run only counts
 * as card-like when it stands alone — a 21+ digit sequence number inside a message is not a card number
 * with extra digits, and cutting 19 digits out of it would make the record impossible to find.
 */
const SECRET_KEYS =
  /^(card_?no|card_?number|acct_?name|payee|payee_?sealed|sign|signature|plaintext|authorization|password|secret|token|\w*private_?key|\w*md5_?key)$/i;
/** Identifiers that may be long digit strings but are not secret, and are how a record is found again. */
const DIGIT_IDS = new Set([
  'no_order',
  'oid_partner',
  'oid_paybill',
  'dt_order',
  'settle_date',
  'requestId',
  'awsRequestId',
  'function_request_id',
  'xray_trace_id',
  'sequenceNumber',
  'SequenceNumber',
  'eventID',
  'eventId',
  'id',
  'shard',
  'shardId',
]);
/**
 * 15–19 digits, optionally grouped by single spaces ("6222 0200 …"), with no digit on either side: card
 * numbers are 15–19 digits, and a longer run is some other identifier.
 */
const CARD_LIKE = /(?<!\d)\d(?: ?\d){14,18}(?!\d)/g;
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
/** 88+ base64/base64url characters: 64+ bytes of key, signature or sealed data; no identifier is that long. */
const BLOB = /[A-Za-z0-9+/_-]{88,}={0,2}/g;

export function redact(key: string, value: unknown): unknown {
  if (SECRET_KEYS.test(key)) return '[REDACTED]';
  // A card number that arrived as a JSON number.
  if (typeof value === 'number' && Number.isInteger(value) && /^\d{15,19}$/.test(String(value))) {
    return '[REDACTED-DIGITS]';
  }
  if (typeof value !== 'string' || DIGIT_IDS.has(key)) return value;
  return value
    .replace(PEM_BLOCK, '[REDACTED-PEM]')
    .replace(BLOB, '[REDACTED-BLOB]')
    .replace(CARD_LIKE, '[REDACTED-DIGITS]');
}

export function createLogger(serviceName = 'lianlian-payout'): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redact });
}

/**
 * Flushes what an invocation counted, after it and on error. Unlike Powertools' logMetrics it stays silent
 * when nothing was counted (the happy path emits no business metric), instead of logging a warning line
 * on every invocation.
 */
export function flushMetrics(metrics: Metrics): MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/** Powertools Metrics (EMF) behind the core's MetricsPort; flushed by `flushMetrics`. */
export function createMetrics(serviceName = 'lianlian-payout'): { port: MetricsPort; metrics: Metrics } {
  const metrics = new Metrics({ namespace: METRICS.namespace, serviceName });
  return {
    metrics,
    port: {
      count(name, value = 1, dimensions) {
        if (dimensions && Object.keys(dimensions).length > 0) {
          const single = metrics.singleMetric();
          single.addDimensions(dimensions);
          single.addMetric(name, MetricUnit.Count, value);
        } else {
          metrics.addMetric(name, MetricUnit.Count, value);
        }
      },
    },
  };
}

/** Local mode and tests: counts in memory (what an alarm would see). */
export class MemoryMetrics implements MetricsPort {
  readonly counts = new Map<string, number>();
  count(name: string, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** Adapts Powertools' variadic signature to the core's small Log port. */
export function asLog(logger: Logger): Log {
  return {
    debug: (message, attributes) => (attributes ? logger.debug(message, attributes) : logger.debug(message)),
    info: (message, attributes) => (attributes ? logger.info(message, attributes) : logger.info(message)),
    warn: (message, attributes) => (attributes ? logger.warn(message, attributes) : logger.warn(message)),
    error: (message, attributes) => (attributes ? logger.error(message, attributes) : logger.error(message)),
  };
}
