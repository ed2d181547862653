import type { ClientRequest } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock, TimerHandle } from './clock';
import { type EventHub, pushBounded } from './events';
import type { TimerSet } from './timers';
import type { NotificationAttempt } from './types';

/**
 * Result notifications (spec §5): one series per state change, retried every notifyIntervalMs until the
 * merchant answers HTTP 200 with ret_code 0000 within notifyTimeoutMs, at most notifyMaxAttempts times.
 * The provider hands it the signed body; the notifier knows nothing of keys or orders.
 */

const MAX_ANSWER_BYTES = 64 * 1024;

export interface NotifierConfig {
  readonly notifyIntervalMs: number;
  readonly notifyMaxAttempts: number;
  readonly notifyTimeoutMs: number;
  readonly maxRecords: number;
}

export interface NotifierDeps {
  readonly config: NotifierConfig;
  readonly clock: Clock;
  /** Retries and per-attempt deadlines; cleared by the sandbox on reset() and close(). */
  readonly work: TimerSet;
  readonly events: EventHub;
  readonly log: (line: string) => void;
  /** True once the sandbox is closing: no new attempt starts. */
  readonly closed: () => boolean;
}

/** What one series sends: the state at the time of the change, signed. */
export interface SeriesInput {
  readonly noOrder: string;
  readonly url: string;
  readonly resultPay: string;
  readonly body: Readonly<Record<string, string>>;
}

interface Series extends SeriesInput {
  attempt: number;
  cancelled: boolean;
  inFlight?: ClientRequest;
}

interface DeliveryOutcome {
  delivered: boolean;
  status?: number;
  answeredRetCode?: string;
  error?: string;
}

export class Notifier {
  private readonly activeSeries = new Set<Series>();
  private attempts: NotificationAttempt[] = [];
  private counters = { sent: 0, delivered: 0, dropped: 0 };
  private dropAll: boolean;

  constructor(
    private readonly deps: NotifierDeps,
    dropNotifications: boolean,
  ) {
    this.dropAll = dropNotifications;
  }

  get dropping(): boolean {
    return this.dropAll;
  }

  setDropping(drop: boolean): void {
    this.dropAll = drop;
  }

  notifications(): readonly NotificationAttempt[] {
    return [...this.attempts];
  }

  get sent(): number {
    return this.counters.sent;
  }

  get delivered(): number {
    return this.counters.delivered;
  }

  get dropped(): number {
    return this.counters.dropped;
  }

  /**
   * Each series carries the state at the time of the change: a SUCCESS series still retrying when
   * CANCEL starts its own keeps going, so the merchant may see them out of order, as spec §5 warns.
   */
  start(input: SeriesInput): void {
    const series: Series = { ...input, body: Object.freeze({ ...input.body }), attempt: 0, cancelled: false };
    this.activeSeries.add(series);
    this.attemptDelivery(series);
  }

  /** Stops every series and aborts in-flight attempts (their timers are the sandbox's to clear). */
  cancelAll(): void {
    for (const series of this.activeSeries) {
      series.cancelled = true;
      series.inFlight?.destroy();
    }
    this.activeSeries.clear();
  }

  /** Forgets recordings and counters (after cancelAll). */
  forget(): void {
    this.attempts = [];
    this.counters = { sent: 0, delivered: 0, dropped: 0 };
  }

  private attemptDelivery(series: Series): void {
    const { clock, log, events } = this.deps;
    if (series.cancelled || this.deps.closed()) return;
    series.attempt += 1;
    if (this.dropAll) {
      this.counters.dropped += 1;
      log(`notify ${series.noOrder} ${series.resultPay} #${series.attempt} dropped`);
      events.emit({
        type: 'notificationDropped',
        at: new Date(clock.now()).toISOString(),
        no_order: series.noOrder,
        result_pay: series.resultPay,
        attempt: series.attempt,
      });
      this.retryLater(series);
      return;
    }
    const started = clock.now();
    this.counters.sent += 1;
    void this.deliver(series).then((outcome) => {
      if (series.cancelled) return;
      const finished = clock.now();
      const attempt: NotificationAttempt = Object.freeze({
        at: new Date(started).toISOString(),
        no_order: series.noOrder,
        attempt: series.attempt,
        url: series.url,
        result_pay: series.resultPay,
        ...outcome,
        durationMs: finished - started,
        body: series.body,
      });
      pushBounded(this.attempts, attempt, this.deps.config.maxRecords);
      const how = outcome.delivered
        ? 'delivered'
        : `not delivered (${outcome.error ?? `HTTP ${outcome.status} ret_code ${outcome.answeredRetCode ?? '-'}`})`;
      log(`notify ${series.noOrder} ${series.resultPay} #${series.attempt} ${how}`);
      events.emit({ type: 'notification', at: new Date(finished).toISOString(), attempt });
      if (outcome.delivered) {
        this.counters.delivered += 1;
        this.end(series, true);
        return;
      }
      this.retryLater(series);
    });
  }

  private retryLater(series: Series): void {
    if (series.attempt >= this.deps.config.notifyMaxAttempts) {
      this.deps.log(`notify ${series.noOrder} ${series.resultPay}: gave up after ${series.attempt} attempts`);
      this.end(series, false);
      return;
    }
    this.deps.work.add(() => this.attemptDelivery(series), this.deps.config.notifyIntervalMs);
  }

  private end(series: Series, delivered: boolean): void {
    this.activeSeries.delete(series);
    this.deps.events.emit({
      type: 'seriesEnded',
      at: new Date(this.deps.clock.now()).toISOString(),
      no_order: series.noOrder,
      result_pay: series.resultPay,
      attempts: series.attempt,
      delivered,
    });
  }

  /** One POST to notify_url; never rejects. */
  private deliver(series: Series): Promise<DeliveryOutcome> {
    const { work, config } = this.deps;
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      let settled = false;
      const finish = (outcome: DeliveryOutcome) => {
        if (settled) return;
        settled = true;
        work.cancel(timer);
        series.inFlight = undefined;
        resolve(outcome);
      };
      let target: URL;
      try {
        target = new URL(series.url);
      } catch {
        finish({ delivered: false, error: 'notify_url is not a URL' });
        return;
      }
      const send =
        target.protocol === 'http:' ? httpRequest : target.protocol === 'https:' ? httpsRequest : undefined;
      if (!send) {
        finish({ delivered: false, error: `unsupported protocol ${target.protocol}` });
        return;
      }
      const payload = JSON.stringify(series.body);
      const req = send(target, {
        method: 'POST',
        // No pooled sockets: nothing may stay open after close().
        agent: false,
        headers: {
          'content-type': 'text/json;charset=utf-8',
          'content-length': Buffer.byteLength(payload),
        },
      });
      series.inFlight = req;
      timer = work.add(() => {
        finish({ delivered: false, error: 'timeout' });
        req.destroy();
      }, config.notifyTimeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        finish({ delivered: false, error: error.code ?? error.message });
      });
      req.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
        });
        response.on('error', (error: NodeJS.ErrnoException) => {
          finish({ delivered: false, status, error: error.code ?? error.message });
        });
        response.on('end', () => {
          finish(judgeAnswer(status, Buffer.concat(chunks).toString('utf8')));
        });
      });
      req.end(payload);
    });
  }
}

function judgeAnswer(status: number, text: string): DeliveryOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { delivered: false, status, error: 'answer is not JSON' };
  }
  const retCode =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>).ret_code
      : undefined;
  const answeredRetCode = typeof retCode === 'string' ? retCode : undefined;
  return { delivered: status === 200 && answeredRetCode === '0000', status, answeredRetCode };
}
