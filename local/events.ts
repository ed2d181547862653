import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoStreamPoller, type StreamCheckpoints } from '../src/adapters/dynamodb/stream-poller';
import { publishStreamRecords } from '../src/adapters/eventbridge/stream-publish';
import type { PayoutEvent, PayoutEventSink } from '../src/core/events';
import type { Log } from '../src/core/ports';
import { LOCAL_AWS } from './dynamodb';

/**
 * Local mode has no EventBridge: payout events go to this sink, which writes each one to the log and
 * keeps it in memory (tests read it). It can be told to fail, to show that the poller retries.
 */
export class LocalEventSink implements PayoutEventSink {
  private readonly delivered: PayoutEvent[] = [];
  private failuresLeft = 0;
  private calls = 0;

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  /** The next `n` publish calls throw (nothing delivered), like an unreachable event bus. */
  failNext(n: number): void {
    this.failuresLeft = n;
  }

  /** Publish calls so far, failed ones included. */
  get attempts(): number {
    return this.calls;
  }

  events(): readonly PayoutEvent[] {
    return [...this.delivered];
  }

  async publish(events: readonly PayoutEvent[]): Promise<{ failed: readonly number[] }> {
    this.calls++;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('local event sink: injected failure');
    }
    for (const event of events) {
      this.delivered.push(event);
      this.log(`[event] ${event.detailType} ${JSON.stringify(event.detail)}`);
    }
    return { failed: [] };
  }
}

/** Stream positions in a small JSON file, so a restart of `npm start` neither replays nor skips. */
export function fileCheckpoints(path: string): StreamCheckpoints {
  return {
    async load() {
      try {
        const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
          return Object.fromEntries(
            Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
          );
        }
      } catch {
        // no checkpoint yet: start from the stream's oldest record
      }
      return {};
    },
    async save(positions) {
      mkdirSync(dirname(path), { recursive: true });
      // Write then rename: a crash mid-write must not leave a truncated checkpoint behind.
      const tmp = `${path}.tmp`;
      writeFileSync(tmp, JSON.stringify(positions));
      renameSync(tmp, path);
    },
  };
}

/** The Log port over a line printer (local mode prints; tests collect or drop). */
export function lineLog(prefix: string, print: (line: string) => void): Log {
  const line = (level: string) => (message: string, attributes?: Record<string, unknown>) =>
    print(`${prefix} ${level} ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ''}`);
  return { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error') };
}

export interface LocalEvents {
  readonly sink: LocalEventSink;
  readonly poller: DynamoStreamPoller;
  /** Resolves once every change written before the call has had its events delivered. */
  caughtUp(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface LocalEventsOptions {
  readonly dynamo: DynamoDBClient;
  readonly endpoint: string;
  readonly tableName: string;
  readonly log: (line: string) => void;
  readonly sink?: LocalEventSink;
  readonly pollMs?: number;
  readonly retryMs?: number;
  /** Keep stream positions here (local mode's data dir); omitted = in memory, from the oldest record. */
  readonly checkpointPath?: string;
}

/** DynamoDB Local's table stream → the same publish step as the deployed function → the local sink. */
export function startLocalEvents(options: LocalEventsOptions): LocalEvents {
  const sink = options.sink ?? new LocalEventSink(options.log);
  const log = lineLog('[events]', options.log);
  const streams = new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint: options.endpoint });
  const poller = new DynamoStreamPoller({
    dynamo: options.dynamo,
    streams,
    tableName: options.tableName,
    handle: (records) => publishStreamRecords(records, sink, log),
    log,
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    ...(options.checkpointPath ? { checkpoints: fileCheckpoints(options.checkpointPath) } : {}),
  });
  poller.start();
  return {
    sink,
    poller,
    caughtUp: (timeoutMs) => poller.caughtUp(timeoutMs),
    close: async () => {
      await poller.stop();
      streams.destroy();
    },
  };
}
