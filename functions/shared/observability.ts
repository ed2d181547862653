import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { METRICS } from '../../src/config/contract';
import type { Log, MetricsPort } from '../../src/core/ports';

/**
 * Defence in depth behind "never log payee data": the payout code passes only masked or non-secret
 * attributes, and this replacer still redacts secret-named keys and card-like digit runs anywhere in a
 * log record, so a future careless `logger.info(..., { body })` cannot leak a card number or key.
 */
const SECRET_KEYS =
  /^(card_no|acct_name|sign|payee|payee_sealed|private_?key|md5_?key|plaintext|authorization)$/i;
// Identifiers that are long digit strings but not secret.
const DIGIT_IDS = new Set(['no_order', 'oid_partner', 'oid_paybill', 'dt_order', 'settle_date', 'requestId']);
const CARD_LIKE = /\d{15,19}/g;

export function redact(key: string, value: unknown): unknown {
  if (SECRET_KEYS.test(key)) return '[REDACTED]';
  if (typeof value === 'string' && !DIGIT_IDS.has(key)) return value.replace(CARD_LIKE, '[REDACTED-DIGITS]');
  return value;
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
