import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Runtime } from '../functions/shared/runtime';
import { DynamoDispatchClaims } from '../src/adapters/dynamodb/dispatch-claims';
import type { BatchStore, DispatchTrigger } from '../src/core/batch-model';
import {
  type BalanceGate,
  type DispatchDeps,
  type DispatchSummary,
  dispatchBatch,
} from '../src/core/dispatch';
import { type RateLimiter, TokenBucket } from '../src/core/rate-limit';

/**
 * Local mode's dispatch trigger: the same dispatchBatch as the deployed function, in process. Like the
 * SQS FIFO queue with its one message group, batches run one at a time in the order they became ready
 * (oldest first), all under one limiter at DISPATCH_RATE_PER_SECOND. batchReady only enqueues: the batch
 * API answers at once and the items go out behind it. A batch already waiting is not queued twice.
 */
export class LocalDispatcher implements DispatchTrigger {
  private readonly waiting: string[] = [];
  private running: Promise<void> | undefined;
  private closed = false;
  readonly runs: { batchId: string; summary?: DispatchSummary; error?: string }[] = [];

  constructor(
    private readonly deps: DispatchDeps,
    private readonly options: { concurrency: number; log?: (line: string) => void },
  ) {}

  async batchReady(batchId: string): Promise<void> {
    if (this.closed) return;
    if (!this.waiting.includes(batchId)) this.waiting.push(batchId);
    this.kick();
  }

  /** Starts draining unless a drain is running; a batch queued as a drain ends is picked up by the next. */
  private kick(): void {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      if (this.waiting.length > 0 && !this.closed) this.kick();
    });
  }

  /** Resolves once nothing is waiting or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    await this.idle();
  }

  private async drain(): Promise<void> {
    for (let batchId = this.waiting.shift(); batchId !== undefined; batchId = this.waiting.shift()) {
      try {
        const summary = await dispatchBatch({ ...this.deps, trigger: this }, batchId, {
          concurrency: this.options.concurrency,
          // No Lambda deadline locally: a run goes on until the batch is done or paused.
          remainingTimeMs: () => Number.POSITIVE_INFINITY,
          safetyMarginMs: 0,
        });
        this.runs.push({ batchId, summary });
        this.options.log?.(
          `[dispatch] batch ${batchId}: claimed ${summary.claimed}, stopped ${summary.stopped}${summary.batchStatus ? `, ${summary.batchStatus}` : ''}`,
        );
      } catch (error) {
        // The batch stays DISPATCHING; its due look re-triggers it.
        const name = error instanceof Error ? error.name : 'unknown';
        this.runs.push({ batchId, error: name });
        this.options.log?.(`[dispatch] batch ${batchId} failed (${name}); reconciliation re-triggers it`);
      }
    }
  }
}

/** A LocalDispatcher over a local-mode runtime: the DynamoDB claim, one limiter at the configured rate. */
export function localDispatcher(
  runtime: Runtime,
  parts: {
    client: DynamoDBClient;
    batches: BatchStore;
    balance?: BalanceGate;
    limiter?: RateLimiter;
    /** Default: DISPATCH_CONCURRENCY. */
    concurrency?: number;
    log?: (line: string) => void;
  },
): LocalDispatcher {
  const { config } = runtime;
  return new LocalDispatcher(
    {
      ...runtime.deps,
      batches: parts.batches,
      claims: new DynamoDispatchClaims({ client: parts.client, tableName: config.tableName }),
      limiter: parts.limiter ?? new TokenBucket({ ratePerSecond: config.dispatch.ratePerSecond }),
      ...(parts.balance ? { balance: parts.balance } : {}),
    },
    {
      concurrency: parts.concurrency ?? config.dispatch.concurrency,
      ...(parts.log ? { log: parts.log } : {}),
    },
  );
}
