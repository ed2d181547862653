/**
 * `npm run sandbox`: the LianLian sandbox as a standalone process (configuration: docs/sandbox.md);
 * `npm run sandbox -- topup <amount>` credits a running one (sandbox/topup.ts).
 * Stops on SIGINT/SIGTERM by closing the server and letting the event loop drain, so an exit that
 * hangs would expose a timer or socket the sandbox failed to release.
 */
import { formatFen } from '../src/lianlian/money';
import { optionsFromEnv, SANDBOX_ENV, SandboxConfigError } from './config';
import { SCENARIO_NAMES, SCENARIOS } from './scenarios';
import { startSandbox } from './server';
import { runTopup, TOPUP_USAGE } from './topup';

function stamp(line: string): string {
  return `${new Date().toISOString()} ${line}`;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof optionsFromEnv>;
  try {
    options = optionsFromEnv(process.env);
  } catch (error) {
    if (!(error instanceof SandboxConfigError)) throw error;
    console.error(`sandbox: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  if (!options.merchantPublicKey && !options.md5Key) {
    console.warn(
      `sandbox: neither ${SANDBOX_ENV.merchantPublicKey} nor ${SANDBOX_ENV.md5Key} is set: every request will get 1001`,
    );
  }

  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await startSandbox({ ...options, log: (line) => console.log(stamp(line)) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      code
        ? `sandbox: cannot listen on ${options.host}:${options.port}: ${code}`
        : `sandbox: ${(error as Error).message}`,
    );
    process.exitCode = code ? 1 : 2;
    return;
  }
  console.log(`LianLian sandbox: ${sandbox.url}  (LLP_API_BASE)`);
  console.log(`merchant (oid_partner): ${sandbox.oidPartner}`);
  console.log(
    `balance (amt_balance): ${formatFen(sandbox.balance())}  (top up: npm run sandbox -- topup <amount>)`,
  );
  console.log(`provider public key (LLP_PUBLIC_KEY): ${sandbox.providerPublicKeyBase64}`);
  if (!options.providerPrivateKey) {
    console.log(
      `the provider key was generated: set ${SANDBOX_ENV.providerPrivateKey} to keep it across restarts`,
    );
  }
  console.log(
    `scenarios by cents: ${SCENARIO_NAMES.filter((n) => n !== 'success')
      .map((n) => `.${SCENARIOS[n].cents} ${n}`)
      .join(', ')}; anything else succeeds`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(stamp(`${signal}: stopping`));
    sandbox.close().then(
      () => console.log(stamp('stopped')),
      (error: unknown) => {
        console.error(`sandbox: close failed: ${(error as Error).message}`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** `npm run sandbox` serves; `npm run sandbox -- topup <amount>` credits one that is running. */
async function dispatch(args: readonly string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === undefined) {
    await main();
    return;
  }
  if (command === 'topup') {
    const result = await runTopup(rest, process.env);
    if (result.out) console.log(result.out);
    if (result.err) console.error(`sandbox: ${result.err}`);
    process.exitCode = result.code;
    return;
  }
  console.error(`sandbox: unknown command ${JSON.stringify(command)}\n${TOPUP_USAGE}`);
  process.exitCode = 2;
}

await dispatch(process.argv.slice(2));
