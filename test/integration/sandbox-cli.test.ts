import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OID_PARTNER, DEFAULT_PORT, optionsFromEnv, SandboxConfigError } from '../../sandbox/config';
import {
  ACCT_NAME,
  applyFields,
  CARD_NO,
  type Merchant,
  OID,
  rsaPair,
  startMerchant,
  waitFor,
} from '../../sandbox/testkit';
import { HttpProviderClient } from '../../src/adapters/provider/http-client';
import { resolveEndpoints } from '../../src/lianlian/endpoints';
import { exportPrivateKeyBase64, exportPublicKeyBase64, parsePublicKey } from '../../src/lianlian/keys';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const merchantKeys = rsaPair();
const providerKeys = rsaPair();
const merchantPublicPem = merchantKeys.publicKey.export({ format: 'pem', type: 'spki' }).toString();

describe('optionsFromEnv', () => {
  it('defaults to port 8089, an 18-digit test merchant and the server defaults', () => {
    const options = optionsFromEnv({});
    expect(options).toEqual({ oidPartner: DEFAULT_OID_PARTNER, host: '127.0.0.1', port: DEFAULT_PORT });
    expect(DEFAULT_OID_PARTNER).toMatch(/^[0-9]{18}$/);
    expect(DEFAULT_PORT).toBe(8089);
  });

  it('reads every variable, keys as base64 DER or PEM, empty values as unset', () => {
    const options = optionsFromEnv({
      SANDBOX_HOST: '0.0.0.0',
      SANDBOX_PORT: '0',
      LLP_OID_PARTNER: OID,
      SANDBOX_MERCHANT_PUBLIC_KEY: merchantPublicPem,
      SANDBOX_MD5_KEY: 'k',
      SANDBOX_PROVIDER_PRIVATE_KEY: exportPrivateKeyBase64(providerKeys.privateKey),
      SANDBOX_NOTIFY_INTERVAL_MS: '100',
      SANDBOX_NOTIFY_MAX_ATTEMPTS: '3',
      SANDBOX_NOTIFY_TIMEOUT_MS: '250',
      SANDBOX_STEP_MS: '0',
      SANDBOX_APPLY_DELAY_MS: '700',
      SANDBOX_NOT_FOUND_FOR_MS: '900',
      SANDBOX_DROP_NOTIFICATIONS: 'true',
      SANDBOX_SIGN_BANK_NAME: '0',
    });
    expect(options).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      oidPartner: OID,
      md5Key: 'k',
      notifyIntervalMs: 100,
      notifyMaxAttempts: 3,
      notifyTimeoutMs: 250,
      stepMs: 0,
      applyDelayMs: 700,
      notFoundForMs: 900,
      dropNotifications: true,
      signBankName: false,
    });
    expect(options.merchantPublicKey?.equals(merchantKeys.publicKey)).toBe(true);
    expect(options.providerPrivateKey?.equals(providerKeys.privateKey)).toBe(true);
    const base64 = optionsFromEnv({
      SANDBOX_MERCHANT_PUBLIC_KEY: exportPublicKeyBase64(merchantKeys.publicKey),
      SANDBOX_MD5_KEY: '',
    });
    expect(base64.merchantPublicKey?.equals(merchantKeys.publicKey)).toBe(true);
    expect(base64).not.toHaveProperty('md5Key');
  });

  it.each([
    ['SANDBOX_PORT', '65536'],
    ['SANDBOX_PORT', '80a'],
    ['LLP_OID_PARTNER', '2014080710000015'],
    ['SANDBOX_NOTIFY_INTERVAL_MS', '-1'],
    ['SANDBOX_NOTIFY_MAX_ATTEMPTS', '0'],
    ['SANDBOX_NOTIFY_TIMEOUT_MS', '5s'],
    ['SANDBOX_STEP_MS', '1.5'],
    ['SANDBOX_APPLY_DELAY_MS', 'soon'],
    ['SANDBOX_NOT_FOUND_FOR_MS', '1e3'],
    ['SANDBOX_DROP_NOTIFICATIONS', 'maybe'],
    ['SANDBOX_SIGN_BANK_NAME', 'yes please'],
  ])('names a malformed %s', (name, value) => {
    expect(() => optionsFromEnv({ [name]: value })).toThrow(SandboxConfigError);
    expect(() => optionsFromEnv({ [name]: value })).toThrow(new RegExp(`^${name} `));
  });

  it.each([
    ['SANDBOX_MERCHANT_PUBLIC_KEY', 'c2VjcmV0LWJ1dC1ub3QtYS1rZXk='],
    ['SANDBOX_MERCHANT_PUBLIC_KEY', 'secret!material'],
    ['SANDBOX_PROVIDER_PRIVATE_KEY', 'c2VjcmV0LWJ1dC1ub3QtYS1rZXk='],
    ['SANDBOX_PROVIDER_PRIVATE_KEY', '-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----'],
  ])('names a malformed %s without quoting the key material', (name, value) => {
    let message = '';
    try {
      optionsFromEnv({ [name]: value });
    } catch (error) {
      expect(error).toBeInstanceOf(SandboxConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(new RegExp(`^${name} `));
    expect(message).not.toContain('c2VjcmV0');
    expect(message).not.toContain('secret');
  });

  it('refuses a private key given as the merchant public key, in either encoding', () => {
    const pem = merchantKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const der = exportPrivateKeyBase64(merchantKeys.privateKey);
    for (const secret of [pem, der]) {
      expect(() => optionsFromEnv({ SANDBOX_MERCHANT_PUBLIC_KEY: secret })).toThrow(
        /^SANDBOX_MERCHANT_PUBLIC_KEY /,
      );
    }
  });
});

interface Cli {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnCli(env: Record<string, string>): Cli {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('SANDBOX_') && key !== 'LLP_OID_PARTNER'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/cli.ts'], {
    cwd: repoRoot,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  spawned.push(child);
  return { child, stdout: () => out, stderr: () => err, exited };
}

const spawned: ChildProcess[] = [];
let merchant: Merchant;

beforeAll(async () => {
  merchant = await startMerchant();
});

afterAll(async () => {
  // Only if a test failed half-way: never leave a sandbox process behind.
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await merchant?.close();
});

async function within<T>(ms: number, promise: Promise<T>): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  const result = await Promise.race([promise, timeout]);
  clearTimeout(timer);
  return result;
}

describe('npm run sandbox (sandbox/cli.ts)', () => {
  it('prints its URL and provider key, serves payouts, and exits cleanly on SIGTERM mid-retry', async () => {
    const cli = spawnCli({
      SANDBOX_PORT: '0',
      LLP_OID_PARTNER: OID,
      SANDBOX_MERCHANT_PUBLIC_KEY: exportPublicKeyBase64(merchantKeys.publicKey),
      SANDBOX_STEP_MS: '20',
      SANDBOX_NOTIFY_INTERVAL_MS: '100',
    });
    await waitFor('the banner', () => cli.stdout().includes('scenarios by cents'), 10_000);
    const url = /LianLian sandbox: (http:\/\/127\.0\.0\.1:[0-9]+)/.exec(cli.stdout())?.[1] ?? '';
    const printedKey = /\(LLP_PUBLIC_KEY\): ([A-Za-z0-9+/=]+)/.exec(cli.stdout())?.[1];
    expect(printedKey).toBeDefined();

    const client = new HttpProviderClient({
      endpoints: resolveEndpoints({ base: url }),
      oidPartner: OID,
      signing: { signType: 'RSA', privateKey: merchantKeys.privateKey },
      verifying: { publicKey: parsePublicKey(printedKey ?? '') },
    });
    const apply = applyFields(merchant.url);
    merchant.policies.set(apply.no_order, () => ({ status: 503, body: 'busy' }));
    // Accepted means the answer verified with the printed key: it is the key the sandbox signs with.
    expect(await client.apply(apply)).toMatchObject({ kind: 'accepted' });
    await merchant.arrival(apply.no_order, 2, 10_000);

    cli.child.kill('SIGTERM');
    // Exiting by itself (no process.exit in the CLI) proves close() left no timer or socket behind: a
    // retry still scheduled would keep the event loop, and so the process, alive. An exited process
    // sends nothing more, so there is nothing to wait and watch for afterwards.
    expect(await within(5_000, cli.exited)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toContain(apply.no_order);
    expect(cli.stdout()).toContain('stopped');
    expect(cli.stdout()).not.toContain(CARD_NO);
    expect(cli.stdout()).not.toContain(ACCT_NAME);
  });

  it('stops on SIGINT too, and starts from SANDBOX_BALANCE', async () => {
    const cli = spawnCli({ SANDBOX_PORT: '0', SANDBOX_MD5_KEY: 'k', SANDBOX_BALANCE: '5000' });
    await waitFor('the banner', () => cli.stdout().includes('scenarios by cents'), 10_000);
    expect(cli.stdout()).toContain(`merchant (oid_partner): ${DEFAULT_OID_PARTNER}`);
    // SANDBOX_BALANCE reaches the running sandbox (yuan in, the wire's two decimals out).
    expect(cli.stdout()).toContain('balance (amt_balance): 5000.00');
    cli.child.kill('SIGINT');
    expect(await within(5_000, cli.exited)).toEqual({ code: 0, signal: null });
  });

  it('fails fast naming a malformed variable, without quoting a key', async () => {
    const cli = spawnCli({ SANDBOX_PORT: '0', SANDBOX_PROVIDER_PRIVATE_KEY: 'bm90LWEta2V5' });
    expect(await within(10_000, cli.exited)).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toContain('SANDBOX_PROVIDER_PRIVATE_KEY');
    expect(cli.stderr()).not.toContain('bm90LWEta2V5');
    expect(cli.stdout()).not.toContain('LianLian sandbox:');
  });
});
