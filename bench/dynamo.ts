import { type DynamoLocal, startDynamoLocal } from '../local/dynamodb';

/**
 * DynamoDB Local for the bench, stopped on every way out: normal completion and errors (the callers'
 * finally blocks) and Ctrl-C / SIGTERM (below), so no Java process outlives the run.
 */
const running = new Set<DynamoLocal>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping DynamoDB Local…\n`);
      void Promise.allSettled([...running].map((d) => d.stop())).then(() => process.exit(130));
    });
  }
}

export async function startBenchDynamo(): Promise<DynamoLocal> {
  installHandlers();
  const dynamo = await startDynamoLocal();
  running.add(dynamo);
  return {
    endpoint: dynamo.endpoint,
    stop: async () => {
      running.delete(dynamo);
      await dynamo.stop();
    },
  };
}
