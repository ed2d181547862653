import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign as rsaSign } from 'node:crypto';
import { promisify } from 'node:util';
import { LOCAL_OID_PARTNER } from '../local/test-merchant';
import type { ApplyFields } from '../src/lianlian/messages';
import { buildSignString, signFields, verifyFields } from '../src/lianlian/sign';
import { median } from './stats';

/**
 * Our MD5withRSA paths against OpenSSL's own speed on the same machine in the same run. Both are
 * single-threaded: crypto.sign is synchronous on the main thread, and `openssl speed` without -multi
 * uses one core.
 */

const run = promisify(execFile);

/** A realistic apply as createPayout builds it (spec §2), before sign_type/sign are added. */
export const APPLY_FIELDS: ApplyFields = {
  oid_partner: LOCAL_OID_PARTNER,
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
  oid_partner: LOCAL_OID_PARTNER,
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

/** Calls per second of this process's CPU time (user + system), not of the wall clock. */
export interface CpuThroughput extends Throughput {
  readonly opsPerCpuSecond: number;
}

/**
 * Measures `a` and `b` for `seconds` each, alternating in slices of about a tenth of a second (who goes
 * first alternates too), so a neighbour's load or a CPU frequency change hits both alike. Each side also
 * gets its rate per second of this process's CPU time: on a shared machine the wall clock also counts the
 * time the scheduler gave to others, which is noise in a comparison of two pieces of our own code.
 */
export function interleaved(
  a: () => unknown,
  b: () => unknown,
  seconds: number,
  sliceSeconds = 0.1,
): { a: CpuThroughput; b: CpuThroughput } {
  const slices = Math.max(2, Math.round(seconds / sliceSeconds));
  const sum = { a: { ops: 0, seconds: 0, cpu: 0 }, b: { ops: 0, seconds: 0, cpu: 0 } };
  for (let i = 0; i < slices; i++) {
    const order = i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const which of order) {
      const fn = which === 'a' ? a : b;
      // A full warm-up before the first slice of each; later slices only re-enter a hot function.
      for (let w = 0; w < (i < 2 ? 300 : 5); w++) fn();
      const cpu = process.cpuUsage();
      const t = throughput(fn, seconds / slices, 0);
      const used = process.cpuUsage(cpu);
      sum[which].ops += t.ops;
      sum[which].seconds += t.seconds;
      sum[which].cpu += (used.user + used.system) / 1e6;
    }
  }
  const total = (x: { ops: number; seconds: number; cpu: number }): CpuThroughput => ({
    opsPerSecond: x.ops / x.seconds,
    opsPerCpuSecond: x.ops / x.cpu,
    ops: x.ops,
    seconds: x.seconds,
  });
  return { a: total(sum.a), b: total(sum.b) };
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
  /**
   * Our whole sign path against bare `crypto.sign` over the same bytes with the same key, interleaved in
   * short slices within each round so both see the same load; unlike the ratio to `openssl speed`, this one
   * does not depend on the machine's OpenSSL build. Rates are per CPU second (see `interleaved`); `ratio`
   * is the median of the rounds' ratios.
   */
  readonly vsBareCrypto: {
    readonly ratio: number;
    readonly rounds: readonly { readonly ours: number; readonly bare: number; readonly ratio: number }[];
  };
  /** Where the time goes: the best round of each (buildSignString alone: 1 s). */
  readonly breakdown: {
    readonly buildSignStringOpsPerSecond: number;
    readonly rawCryptoSignOpsPerSecond: number;
    /**
     * Bare `crypto.sign` on a fresh `Buffer.from(text)` each call ÷ on the one prepared Buffer, per CPU
     * second, interleaved: the share of the gap that is only encoding the sign string to bytes.
     */
    readonly freshBytesRatio: number;
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
  const pairs: { ours: number; bare: number; ratio: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const pair = interleaved(ours, () => rsaSign('md5', bytes, keys.merchant), seconds);
    sign.push(pair.a);
    raw.push(pair.b);
    const ratio = pair.a.opsPerCpuSecond / pair.b.opsPerCpuSecond;
    pairs.push({ ours: pair.a.opsPerCpuSecond, bare: pair.b.opsPerCpuSecond, ratio });
    progress(
      `sign round ${r + 1}: ${pair.a.opsPerSecond.toFixed(0)}/s, bare crypto.sign ` +
        `${pair.b.opsPerSecond.toFixed(0)}/s; per CPU second ${pair.a.opsPerCpuSecond.toFixed(0)} vs ` +
        `${pair.b.opsPerCpuSecond.toFixed(0)} (${ratio.toFixed(3)})`,
    );
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
  const fresh = interleaved(
    () => rsaSign('md5', Buffer.from(text, 'utf8'), keys.merchant),
    () => rsaSign('md5', bytes, keys.merchant),
    Math.max(1, seconds / 2),
  );
  const breakdown = {
    buildSignStringOpsPerSecond: throughput(() => buildSignString({ ...withType }), 1).opsPerSecond,
    rawCryptoSignOpsPerSecond: best(raw),
    freshBytesRatio: fresh.a.opsPerCpuSecond / fresh.b.opsPerCpuSecond,
  };
  const vsBareCrypto = { ratio: median(pairs.map((p) => p.ratio)), rounds: pairs };
  return { sign, openssl, verify, vsBareCrypto, breakdown };
}
