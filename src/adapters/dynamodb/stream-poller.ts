import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { errorName } from '../../core/errors';
import type { Log } from '../../core/ports';
import type { StreamRecordLike } from '../eventbridge/stream-publish';

/**
 * Local mode's stand-in for the Lambda event source mapping: reads the payouts table's stream from
 * DynamoDB Local (DescribeTable → LatestStreamArn, DescribeStream, GetShardIterator, GetRecords) and
 * hands the records to the same publish step the deployed function runs.
 *
 * Like the event source mapping, it never moves past a record before that record's events were
 * delivered: on a failure it keeps the position just before the first failed record and retries it with
 * back-off, so a failing sink delays events but never loses them. Parents are read before their child
 * shards, so one order's changes keep their order.
 */

export type StreamHandler = (records: readonly StreamRecordLike[]) => Promise<{ firstFailed?: number }>;

/** Where each shard was left (last delivered sequence number), kept across restarts. */
export interface StreamCheckpoints {
  load(): Promise<Record<string, string>>;
  save(positions: Readonly<Record<string, string>>): Promise<void>;
}

export interface StreamPollerOptions {
  readonly dynamo: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
  readonly handle: StreamHandler;
  readonly log: Log;
  /** Pause after a round that found nothing; default 250 ms. */
  readonly pollMs?: number;
  /** First retry delay after a failure, doubling up to maxRetryMs; default 200 ms. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** GetRecords Limit; default 100. */
  readonly batchSize?: number;
  readonly checkpoints?: StreamCheckpoints;
  /**
   * Where to start in a shard without a checkpoint. Default TRIM_HORIZON: everything still in the stream,
   * so a change written while nothing was polling still gets its event (at least once).
   */
  readonly startAt?: 'TRIM_HORIZON' | 'LATEST';
}

interface ShardState {
  readonly id: string;
  readonly parent?: string;
  iterator?: string;
  /** Resume point when there is no live iterator. */
  position?: { readonly type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER'; readonly seq: string };
  /** Where to start without a position; default: the poller's startAt. */
  startAt?: 'TRIM_HORIZON' | 'LATEST';
  closed: boolean;
}

export interface RoundResult {
  /** Records read this round. */
  readonly read: number;
  readonly failed: boolean;
}

export class DynamoStreamPoller {
  private readonly shards = new Map<string, ShardState>();
  private streamArn: string | undefined;
  private describeNeeded = true;
  private checkpointsLoaded = false;
  private positions: Record<string, string> = {};
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private roundId = 0;
  private readonly roundListeners = new Set<(id: number, result: RoundResult) => void>();
  private readonly pollMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(private readonly options: StreamPollerOptions) {
    this.pollMs = options.pollMs ?? 250;
    this.retryMs = options.retryMs ?? 200;
    this.maxRetryMs = options.maxRetryMs ?? 5_000;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Stops after the current round; in-flight deliveries finish first. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /**
   * Resolves once a round that began after this call read nothing and failed nothing: every change
   * written before the call has been delivered. Rejects after timeoutMs (e.g. a sink that keeps failing).
   */
  caughtUp(timeoutMs = 10_000): Promise<void> {
    const after = this.roundId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.roundListeners.delete(listener);
        reject(new Error(`stream not caught up within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (id: number, result: RoundResult) => {
        if (id <= after || result.read > 0 || result.failed) return;
        clearTimeout(timer);
        this.roundListeners.delete(listener);
        resolve();
      };
      this.roundListeners.add(listener);
      this.wake?.();
    });
  }

  /** One pass over every readable shard. Exposed for tests; the loop calls it. */
  async pollOnce(): Promise<RoundResult> {
    const id = ++this.roundId;
    let result: RoundResult = { read: 0, failed: true };
    try {
      await this.loadCheckpoints();
      if (this.describeNeeded) await this.describe();
      let read = 0;
      let failed = false;
      for (const shard of this.shards.values()) {
        if (shard.closed || !this.parentDone(shard)) continue;
        const r = await this.readShard(shard);
        read += r.read;
        failed ||= r.failed;
      }
      result = { read, failed };
      return result;
    } finally {
      for (const listener of [...this.roundListeners]) listener(id, result);
    }
  }

  private async loop(): Promise<void> {
    let delay = this.retryMs;
    while (!this.stopping) {
      let result: RoundResult;
      try {
        result = await this.pollOnce();
      } catch (error) {
        this.options.log.warn('stream poll failed; retrying', { error: errorName(error) });
        result = { read: 0, failed: true };
      }
      if (result.failed) {
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.maxRetryMs);
        continue;
      }
      delay = this.retryMs;
      // A full batch means there is likely more: read on without pausing.
      if (result.read === 0) await this.sleep(this.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async loadCheckpoints(): Promise<void> {
    if (this.checkpointsLoaded) return;
    this.positions = { ...((await this.options.checkpoints?.load()) ?? {}) };
    this.checkpointsLoaded = true;
  }

  private async describe(): Promise<void> {
    if (!this.streamArn) {
      const out = await this.options.dynamo.send(
        new DescribeTableCommand({ TableName: this.options.tableName }),
      );
      this.streamArn = out.Table?.LatestStreamArn;
      if (!this.streamArn) throw new Error(`table ${this.options.tableName} has no stream`);
    }
    const first = this.shards.size === 0;
    let exclusiveStartShardId: string | undefined;
    const described: Shard[] = [];
    do {
      const out = await this.options.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      described.push(...(out.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = out.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    for (const shard of described) {
      if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
      const saved = this.positions[shard.ShardId];
      const state: ShardState = { id: shard.ShardId, parent: shard.ParentShardId, closed: false };
      if (saved) state.position = { type: 'AFTER_SEQUENCE_NUMBER', seq: saved };
      // Shards that appear after start (children of a split) are read from their beginning: every record
      // in them is new to us. LATEST applies only to what existed when we started.
      else if (!first) state.startAt = 'TRIM_HORIZON';
      this.shards.set(shard.ShardId, state);
    }
    this.describeNeeded = false;
  }

  private parentDone(shard: ShardState): boolean {
    if (!shard.parent) return true;
    const parent = this.shards.get(shard.parent);
    // A parent no longer described has been trimmed away: nothing is left to read before the child.
    return !parent || parent.closed;
  }

  private async iteratorFor(shard: ShardState): Promise<string | undefined> {
    if (shard.iterator) return shard.iterator;
    const type: ShardIteratorType =
      shard.position?.type ?? shard.startAt ?? this.options.startAt ?? 'TRIM_HORIZON';
    const out = await this.options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shard.id,
        ShardIteratorType: type,
        ...(shard.position ? { SequenceNumber: shard.position.seq } : {}),
      }),
    );
    shard.iterator = out.ShardIterator;
    return shard.iterator;
  }

  private async readShard(shard: ShardState): Promise<RoundResult> {
    let records: NonNullable<GetRecordsCommandOutput['Records']>;
    let next: string | undefined;
    try {
      const iterator = await this.iteratorFor(shard);
      if (!iterator) {
        this.closeShard(shard);
        return { read: 0, failed: false };
      }
      const out = await this.getRecords(iterator);
      records = out.Records ?? [];
      next = out.NextShardIterator;
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        // Iterators live 15 minutes; the position says where to pick up.
        shard.iterator = undefined;
        return { read: 0, failed: false };
      }
      if (error instanceof TrimmedDataAccessException) {
        // Our position fell out of the stream's retention: what was there is gone, whatever we do.
        this.options.log.error('stream records trimmed before delivery; resuming at the oldest', {
          shard: shard.id,
        });
        shard.iterator = undefined;
        shard.position = undefined;
        shard.startAt = 'TRIM_HORIZON';
        return { read: 0, failed: true };
      }
      throw error;
    }

    if (records.length > 0) {
      const { firstFailed } = await this.options.handle(records);
      if (firstFailed !== undefined) {
        const lastGood = firstFailed > 0 ? records[firstFailed - 1]?.dynamodb?.SequenceNumber : undefined;
        const failedSeq = records[firstFailed]?.dynamodb?.SequenceNumber;
        if (lastGood) await this.advance(shard, lastGood);
        else if (!shard.position && failedSeq)
          shard.position = { type: 'AT_SEQUENCE_NUMBER', seq: failedSeq };
        // Re-read from the position: the failed record and everything after it come again.
        shard.iterator = undefined;
        return { read: records.length, failed: true };
      }
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last) await this.advance(shard, last);
    }
    shard.iterator = next;
    if (!next) this.closeShard(shard);
    return { read: records.length, failed: false };
  }

  private getRecords(iterator: string): Promise<GetRecordsCommandOutput> {
    return this.options.streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize ?? 100 }),
    );
  }

  private closeShard(shard: ShardState): void {
    shard.closed = true;
    // Its children may already exist; look for them.
    this.describeNeeded = true;
  }

  private async advance(shard: ShardState, seq: string): Promise<void> {
    shard.position = { type: 'AFTER_SEQUENCE_NUMBER', seq };
    this.positions[shard.id] = seq;
    await this.options.checkpoints?.save(this.positions);
  }
}
