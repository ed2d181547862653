import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign as rsaSign } from 'node:crypto';
import { promisify } from 'node:util';
import type { ApplyFields } from '../src/lianlian/messages';
import { buildSignString, signFields, verifyFields } from '../src/lianlian/sign';

/**
 * Our MD5withRSA paths against OpenSSL's own speed on the same machine in the same run. Both are
 * single-threaded: crypto.sign is synchronous on the main thread, and `openssl speed` without -multi
 * uses one core.
 */

const run = promisify(execFile);

/** A realistic apply as createPayout builds it (spec §2), before sign_type/sign are added. */
export const APPLY_FIELDS: ApplyFields = {
  oid_partner: '201400000000000001',
  api_version: '1.2',
  no_order: 'LLP20261127000000000001',
  dt_order: '20261127120000',
  money_order: '1234.50',
  flag_card: '0',
  card_no: '6222021234567890123',
  acct_name: '张三丰',
  info_order: '供应商货款结算',
  notify_url: 'https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/v1/lianlian/notify',
};

/** A result notification as the provider sends it (spec §5), before signing. */
export const NOTIFY_FIELDS: Record<string, string> = {
  oid_partner: '201400000000000001',
  no_order: 'LLP20261127000000000001',
  dt_order: '20261127120000',
  money_order: '1234.50',
  oid_paybill: '2026112700012345678',
  result_pay: 'SUCCESS',
  settle_date: '20261127',
  info_order: '供应商货款结算',
};

export interface Throughput {
  readonly opsPerSecond: number;
  readonly ops: number;
  readonly seconds: number;
}

/** Calls `fn` in batches until `seconds` have passed (after a warm-up) and reports calls per second. */
export function throughput(fn: () => unknown, seconds: number, warmup = 300): Throughput {
  for (let i = 0; i < warmup; i++) fn();
  const budgetMs = seconds * 1000;
  const start = performance.now();
  let ops = 0;
  let elapsed = 0;
  // Batches keep the clock reads out of the measurement without overshooting the budget by much.
  while (elapsed < budgetMs) {
    for (let i = 0; i < 25; i++) fn();
    ops += 25;
    elapsed = performance.now() - start;
  }
  return { opsPerSecond: ops / (elapsed / 1000), ops, seconds: elapsed / 1000 };
}

export interface OpensslSpeed {
  readonly signPerSecond: number;
  readonly verifyPerSecond: number;
  readonly command: string;
  readonly line: string;
}

export const OPENSSL_SPEED_ARGS = ['speed', '-seconds', '3', 'rsa1024'] as const;

export async function opensslSpeed(): Promise<OpensslSpeed> {
  const { stdout } = await run('openssl', [...OPENSSL_SPEED_ARGS], { maxBuffer: 1 << 20 });
  return { ...parseOpensslSpeed(stdout), command: `openssl ${OPENSSL_SPEED_ARGS.join(' ')}` };
}

/**
 * Reads the `rsa 1024 bits` row of `openssl speed` under its header. Columns are matched from the right
 * because OpenSSL 3.2+ inserts encrypt/decrypt columns before sign/s and verify/s.
 */
export function parseOpensslSpeed(output: string): {
  signPerSecond: number;
  verifyPerSecond: number;
  line: string;
} {
  const lines = output.split(/\r?\n/);
  const rowIndex = lines.findIndex((l) => /^rsa\s+1024\s+bits\s/.test(l.trim()));
  if (rowIndex < 0) throw new Error('openssl speed printed no "rsa 1024 bits" row');
  let headerIndex = rowIndex - 1;
  while (headerIndex >= 0 && !/sign\/s/.test(lines[headerIndex]!)) headerIndex--;
  if (headerIndex < 0) throw new Error('openssl speed printed no sign/s header');
  const header = lines[headerIndex]!.trim().split(/\s+/);
  const row = lines[rowIndex]!.trim().split(/\s+/).slice(3);
  const column = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`openssl speed header has no ${name}`);
    const value = Number(row[row.length - (header.length - i)]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`openssl speed ${name} is not a number`);
    return value;
  };
  return {
    signPerSecond: column('sign/s'),
    verifyPerSecond: column('verify/s'),
    line: lines[rowIndex]!.trim(),
  };
}

export interface SignBenchResult {
  readonly sign: Throughput[];
  readonly openssl: OpensslSpeed[];
  readonly verify: Throughput;
  /** Where the time goes: the best round of each (buildSignString alone: 1 s). */
  readonly breakdown: {
    readonly buildSignStringOpsPerSecond: number;
    readonly rawCryptoSignOpsPerSecond: number;
  };
}

export interface SignKeys {
  readonly merchant: KeyObject;
  readonly provider: KeyObject;
  readonly providerPublic: KeyObject;
}

export function newSignKeys(): SignKeys {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const provider = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return { merchant, provider: provider.privateKey, providerPublic: provider.publicKey };
}

/**
 * Alternates our sign path and `openssl speed` (rounds × both), so a neighbour's load on this shared
 * machine hits both sides alike; the best round of each is what the hardware can do.
 */
export async function signBench(
  keys: SignKeys,
  rounds: number,
  seconds: number,
  progress: (line: string) => void,
): Promise<SignBenchResult> {
  const signing = { signType: 'RSA' as const, privateKey: keys.merchant };
  const ours = () => signFields({ ...APPLY_FIELDS }, signing);
  const withType = { ...APPLY_FIELDS, sign_type: 'RSA' };
  const text = buildSignString(withType);
  const bytes = Buffer.from(text, 'utf8');
  const sign: Throughput[] = [];
  const raw: Throughput[] = [];
  const openssl: OpensslSpeed[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = throughput(ours, seconds);
    sign.push(t);
    progress(`sign round ${r + 1}: ${t.opsPerSecond.toFixed(0)}/s`);
    // crypto.sign alone in the same round: the ceiling under the same load.
    raw.push(throughput(() => rsaSign('md5', bytes, keys.merchant), seconds / 2));
    const o = await opensslSpeed();
    openssl.push(o);
    progress(`openssl round ${r + 1}: ${o.signPerSecond.toFixed(0)} sign/s`);
  }

  const notification = signFields({ ...NOTIFY_FIELDS }, { signType: 'RSA', privateKey: keys.provider });
  const verifying = { publicKey: keys.providerPublic };
  if (!verifyFields(notification, verifying).ok) throw new Error('bench notification does not verify');
  const verify = throughput(() => verifyFields(notification, verifying), seconds);
  progress(`verify: ${verify.opsPerSecond.toFixed(0)}/s`);

  const best = (list: Throughput[]) => Math.max(...list.map((t) => t.opsPerSecond));
  const breakdown = {
    buildSignStringOpsPerSecond: throughput(() => buildSignString({ ...withType }), 1).opsPerSecond,
    rawCryptoSignOpsPerSecond: best(raw),
  };
  return { sign, openssl, verify, breakdown };
}
