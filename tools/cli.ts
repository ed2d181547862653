import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KMSClient } from '@aws-sdk/client-kms';
import { SSMClient } from '@aws-sdk/client-ssm';
import { callApi, formatAnswer, parseApprovalCommand, requestFor } from './approvals';
import { fetchBalance, formatBalance, parseBalanceArgs } from './balance';
import { followBatch, parseBatchId, submitBatch } from './batch';
import { encryptMerchantKey, formatEncryptResult, parseKind, parseOidPartner } from './encrypt-key';
import { ToolError } from './errors';
import { formatKeyPair, generateMerchantKeyPair, parseKeySize } from './keygen';
import { formatQueryOutcome, providerClientFromEnv, queryOrder } from './query-order';
import { formatReplay, replayNotify } from './replay-notify';
import { formatSignDebug, signDebug } from './sign-debug';

/**
 * Operator commands: `npm run ops -- <command> [options]`. The logic lives in the modules beside this
 * file (and is tested there); this file only reads flags and files and prints.
 */

const USAGE = `Usage: npm run ops -- <command> [options]

  keygen [--bits 1024|2048] [--private-key-out <file>]
      New merchant RSA key pair: base64 PKCS#8 private key, base64 X.509 public key (for the portal).

  encrypt-key --kms-key <id|arn|alias> --param <ssm name> --oid-partner <18 digits> --kind rsa|md5 --key-file <path>
      Encrypts the merchant key with KMS (context: purpose, oid_partner, kind) into a String SSM parameter.
      Uses the default AWS credentials and region (AWS_PROFILE, AWS_REGION). Never prints the key.

  sign-debug --file <message.json> [--private-key-file f | --md5-key-file f] [--public-key-file f] [--signature s]
      Prints the exact string to sign, the signature the key makes, and whether the signature verifies.

  replay-notify --file <raw body> --url <notify url>
      POSTs a stored notification body byte for byte (Content-Type: text/json;charset=utf-8).

  query-order --no-order <no_order> [--dt-order yyyyMMddHHmmss]
      Asks the provider for a payout's result, using LLP_API_BASE, LLP_OID_PARTNER, LLP_SIGN_TYPE,
      LLP_MERCHANT_PRIVATE_KEY or LLP_MD5_KEY, LLP_PUBLIC_KEY from the environment.

  approvals list [--limit n] [--cursor c]
  approvals approve <no_order>
  approvals deny <no_order> --reason "…"
  approvals void <no_order> [--reason "…"]
      Payouts awaiting approval, and the second person's decisions, through the payout API (--api <url>
      or PAYOUT_API_URL). Deployed API: signed (SigV4) with your AWS credentials, which are the principal
      (AWS_PROFILE; AWS_REGION if the host does not say). Local mode (http://127.0.0.1:…): --principal
      <name> plays a person (x-principal, default "local").

  balance [--api <url>] [--principal <name>]
      The provider's balance beside our in-flight and waiting amounts (GET /balance, cached 60 s), through
      the payout API like approvals (--api or PAYOUT_API_URL).
  batch submit <file.csv> --id <batch_id> [--api <url>] [--principal <name>] [--no-follow]
      PUTs a batch file (docs/batches.md) to /batches/<batch_id>, then follows the batch with a progress
      bar until it is COMPLETED, DENIED or VOIDED (exit 0 only for COMPLETED). Same --api/--principal
      rules as approvals.
`;

type Options = Record<string, { type: 'string' | 'boolean' }>;

function flags<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, strict: true }).values as {
      [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean;
    } & { help?: boolean };
  } catch (error) {
    throw new ToolError(error instanceof Error ? error.message : 'invalid options');
  }
}

/** Flags and positionals (the API commands: approvals, batch), every parse error a ToolError. */
function withPositionals<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ToolError(error instanceof Error ? error.message : 'invalid options');
  }
}

/** The payout API to call (--api or PAYOUT_API_URL) and the principal to call it as. */
function apiTarget(api: unknown, principal: unknown): { baseUrl: string; principal?: string } {
  const baseUrl = (typeof api === 'string' ? api : undefined) ?? process.env.PAYOUT_API_URL;
  if (!baseUrl) throw new ToolError('--api <url> (or PAYOUT_API_URL) is required');
  return { baseUrl, ...(typeof principal === 'string' ? { principal } : {}) };
}

/** Names every missing flag at once, so one run tells the operator everything that is wrong. */
function requireFlags(values: Record<string, string | boolean | undefined>, names: readonly string[]): void {
  const missing = names.filter((n) => !values[n]);
  if (missing.length > 0) throw new ToolError(`missing ${missing.map((n) => `--${n}`).join(', ')}`);
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new ToolError(`${flag} is required`);
  return value;
}

function readText(path: string | undefined, flag: string): string {
  return readBytes(required(path, flag), flag).toString('utf8');
}

function readBytes(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new ToolError(`${flag}: cannot read ${path}`);
  }
}

const print = (lines: readonly string[]) => console.log(lines.join('\n'));

const commands: Record<string, (args: string[]) => Promise<number>> = {
  async keygen(args) {
    const f = flags(args, { bits: { type: 'string' }, 'private-key-out': { type: 'string' } });
    const pair = generateMerchantKeyPair(parseKeySize(f.bits));
    const out = f['private-key-out'];
    if (out) {
      try {
        // 'wx': never overwrite an existing key file (it may be the only copy of the current key).
        writeFileSync(out, `${pair.privateKey}\n`, { mode: 0o600, flag: 'wx' });
      } catch {
        throw new ToolError(`--private-key-out: cannot create ${out} (it must not exist yet)`);
      }
      chmodSync(out, 0o600);
    }
    print(formatKeyPair(pair, out));
    return 0;
  },

  async 'encrypt-key'(args) {
    const f = flags(args, {
      'kms-key': { type: 'string' },
      param: { type: 'string' },
      'oid-partner': { type: 'string' },
      kind: { type: 'string' },
      'key-file': { type: 'string' },
    });
    requireFlags(f, ['kms-key', 'param', 'oid-partner', 'kind', 'key-file']);
    const result = await encryptMerchantKey(
      { kms: new KMSClient({}), ssm: new SSMClient({}) },
      {
        kmsKeyId: required(f['kms-key'], '--kms-key'),
        parameterName: required(f.param, '--param'),
        oidPartner: parseOidPartner(f['oid-partner']),
        kind: parseKind(f.kind),
        keyText: readText(f['key-file'], '--key-file'),
      },
    );
    print(formatEncryptResult(result));
    return 0;
  },

  async 'sign-debug'(args) {
    const f = flags(args, {
      file: { type: 'string' },
      'private-key-file': { type: 'string' },
      'md5-key-file': { type: 'string' },
      'public-key-file': { type: 'string' },
      signature: { type: 'string' },
    });
    const optional = (flag: 'private-key-file' | 'md5-key-file' | 'public-key-file') =>
      f[flag] ? readText(f[flag], `--${flag}`) : undefined;
    const report = signDebug({
      messageJson: readText(f.file, '--file'),
      privateKey: optional('private-key-file'),
      md5Key: optional('md5-key-file'),
      publicKey: optional('public-key-file'),
      signature: f.signature,
    });
    print(formatSignDebug(report));
    return report.verifies === false ? 1 : 0;
  },

  async 'replay-notify'(args) {
    const f = flags(args, { file: { type: 'string' }, url: { type: 'string' } });
    const body = readBytes(required(f.file, '--file'), '--file');
    const result = await replayNotify({ url: required(f.url, '--url'), body });
    print(formatReplay(result));
    return result.acknowledged ? 0 : 1;
  },

  async 'query-order'(args) {
    const f = flags(args, { 'no-order': { type: 'string' }, 'dt-order': { type: 'string' } });
    const client = providerClientFromEnv(process.env);
    const outcome = await queryOrder(client, required(f['no-order'], '--no-order'), f['dt-order']);
    print(formatQueryOutcome(outcome));
    return outcome.kind === 'found' ? 0 : 1;
  },
};

async function approvals(args: string[]): Promise<number> {
  const parsed = withPositionals(args, {
    api: { type: 'string' },
    principal: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  });
  const f = parsed.values as Record<string, string | undefined>;
  const command = parseApprovalCommand(parsed.positionals, f);
  const answer = await callApi(apiTarget(f.api, f.principal), requestFor(command));
  print(formatAnswer(command, answer));
  return answer.status < 400 ? 0 : 1;
}
commands.approvals = approvals;

async function balance(args: string[]): Promise<number> {
  const parsed = parseBalanceArgs(args);
  const answer = await fetchBalance(apiTarget(parsed.api, parsed.principal));
  print(formatBalance(answer));
  return answer.status === 200 ? 0 : 1;
}
commands.balance = balance;
/** `batch submit <file.csv> --id <batch_id>` (issue 11): PUT the file, then follow it to the end. */
async function batch(args: string[]): Promise<number> {
  const parsed = withPositionals(args, {
    api: { type: 'string' },
    principal: { type: 'string' },
    id: { type: 'string' },
    'no-follow': { type: 'boolean' },
  });
  const [verb, file, ...extra] = parsed.positionals;
  if (verb !== 'submit' || !file || extra.length > 0) {
    throw new ToolError('usage: batch submit <file.csv> --id <batch_id> [--api <url>] [--principal <name>]');
  }
  const f = parsed.values as Record<string, string | boolean | undefined>;
  const batchId = parseBatchId(f.id as string | undefined);
  const target = apiTarget(f.api, f.principal);
  const accepted = await submitBatch(target, batchId, readBytes(file, 'file').toString('utf8'));
  print([
    `batch ${accepted.batch_id}: ${accepted.status}, ${accepted.item_count} items, ${accepted.total_amount}`,
  ]);
  if (f['no-follow']) return 0;
  const last = await followBatch(target, batchId, {
    tty: process.stdout.isTTY === true,
    write: (text) => process.stdout.write(text),
  });
  return last.status === 'COMPLETED' ? 0 : 1;
}
commands.batch = batch;

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    if (name === undefined || name === 'help' || name === '--help') {
      console.log(USAGE);
      return 0;
    }
    console.error(`unknown command: ${name}\n\n${USAGE}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  try {
    return await command(args);
  } catch (error) {
    if (error instanceof ToolError || (error instanceof Error && error.name === 'KeyFormatError')) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    // AWS SDK and network errors: the name and message, never the request (which may carry key material).
    console.error(`failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
