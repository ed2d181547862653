import { type ChildProcess, spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { optionsFromEnv, SandboxConfigError } from '../../sandbox/config';
import { amountFor, type ScenarioName } from '../../sandbox/scenarios';
import { ManualClock, type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/server';
import {
  applyFields,
  MD5_KEY,
  type Merchant,
  OID,
  post,
  rsaPair,
  startMerchant,
} from '../../sandbox/testkit';
import { runTopup, sandboxUrl } from '../../sandbox/topup';
import { HttpProviderClient } from '../../src/adapters/provider/http-client';
import { APPLY_PATH, BALANCE_PATH, resolveEndpoints } from '../../src/lianlian/endpoints';
import type { ApplyFields } from '../../src/lianlian/messages';
import { parseWireAmount } from '../../src/lianlian/money';
import { type SigningKeys, signFields, verifyFields } from '../../src/lianlian/sign';

/**
 * The sandbox's balance (spec §11, §7 9104): on a ManualClock, so processing happens when a test advances
 * the clock. Every test starts from reset(), which restores the starting balance.
 */
const STEP = 1_000;
const START_FEN = 10_000; // 100.00 yuan: small enough for a payout not to fit

let merchantKeys: { privateKey: KeyObject; publicKey: KeyObject };
let providerKeys: { privateKey: KeyObject; publicKey: KeyObject };
let merchant: Merchant;
let sandbox: Sandbox;
let clock: ManualClock;
let client: HttpProviderClient;
let rsa: SigningKeys;
const logs: string[] = [];

function options(): SandboxOptions {
  return {
    oidPartner: OID,
    merchantPublicKey: merchantKeys.publicKey,
    md5Key: MD5_KEY,
    providerPrivateKey: providerKeys.privateKey,
    stepMs: STEP,
    notifyIntervalMs: 120_000,
    notifyMaxAttempts: 1,
    balanceFen: START_FEN,
  };
}

const fields = (overrides: Partial<ApplyFields> = {}) => applyFields(merchant.url, overrides);
const applyUrl = () => `${sandbox.url}${APPLY_PATH}`;
const balanceUrl = () => `${sandbox.url}${BALANCE_PATH}`;
const toFinal = () => clock.advance(2 * STEP);

beforeAll(async () => {
  merchantKeys = rsaPair();
  providerKeys = rsaPair();
  rsa = { signType: 'RSA', privateKey: merchantKeys.privateKey };
  merchant = await startMerchant();
  clock = new ManualClock();
  sandbox = await startSandbox({ ...options(), clock, log: (line) => logs.push(line) });
  client = new HttpProviderClient({
    endpoints: resolveEndpoints({ base: sandbox.url }),
    oidPartner: OID,
    signing: rsa,
    verifying: { publicKey: providerKeys.publicKey, md5Key: MD5_KEY },
    timeoutMs: 2_000,
  });
});

beforeEach(() => {
  sandbox.reset();
  merchant.clear();
  logs.length = 0;
});

afterAll(async () => {
  await sandbox?.close();
  await merchant?.close();
});

describe('the balance query (POST {base}/traderAcctQuery.htm)', () => {
  it('is served exactly where resolveEndpoints puts it for the sandbox base', () => {
    expect(resolveEndpoints({ base: sandbox.url }).balanceUrl).toBe(balanceUrl());
  });

  it('answers the balance, signed with the provider key; HttpProviderClient reads it in fen', async () => {
    await expect(client.balance()).resolves.toEqual({
      kind: 'known',
      balanceFen: START_FEN,
      unsettledFen: 0,
      retMsg: expect.any(String),
    });
    const answer = await post(balanceUrl(), signFields({ oid_partner: OID, api_version: '1.0' }, rsa));
    expect(answer.fields).toEqual({
      ret_code: '0000',
      ret_msg: expect.any(String),
      amt_balance: '100.00',
      amt_unsettle: '0.00',
      sign_type: 'RSA',
      sign: expect.any(String),
    });
    expect(verifyFields(answer.fields, { publicKey: providerKeys.publicKey })).toEqual({
      ok: true,
      signType: 'RSA',
    });
    expect(sandbox.stats()).toMatchObject({ balanceQueries: 2, balance: '100.00', balanceFen: START_FEN });
  });

  it('signs by the request sign_type: an MD5 query gets an MD5 answer', async () => {
    const md5: SigningKeys = { signType: 'MD5', md5Key: MD5_KEY };
    const answer = await post(balanceUrl(), signFields({ oid_partner: OID, api_version: '1.1' }, md5));
    expect(answer.fields.sign_type).toBe('MD5');
    expect(verifyFields(answer.fields, { md5Key: MD5_KEY }).ok).toBe(true);
  });

  it('refuses a tampered, foreign or malformed query unsigned, as the other endpoints do', async () => {
    const signed = signFields({ oid_partner: OID, api_version: '1.0' }, rsa);
    const cases: [Record<string, string>, string][] = [
      [{ ...signed, api_version: '1.1' }, '1001'],
      [signFields({ oid_partner: '201400000000000009', api_version: '1.0' }, rsa), '3001'],
      [signFields({ oid_partner: OID, api_version: '1.2' }, rsa), '1004'],
      [signFields({ oid_partner: OID }, rsa), '1004'],
      [signFields({ oid_partner: OID, api_version: '1.0', no_order: 'X1' }, rsa), '1004'],
    ];
    for (const [body, code] of cases) {
      const answer = await post(balanceUrl(), body);
      expect(answer.fields).toEqual({ ret_code: code, ret_msg: expect.any(String) });
    }
    expect((await post(balanceUrl(), '{')).fields.ret_code).toBe('1012');
  });
});

describe('payouts and the balance', () => {
  it('debits a taken order at once, whatever its answer', async () => {
    await expect(client.apply(fields({ money_order: '30.00' }))).resolves.toMatchObject({ kind: 'accepted' });
    expect(sandbox.balance()).toBe(START_FEN - 3_000);
    // The order is taken though the answer is 9999: the money is gone all the same.
    await post(applyUrl(), signFields(fields({ money_order: amountFor('systemErrorTaken', 10) }), rsa));
    expect(sandbox.balance()).toBe(START_FEN - 3_000 - 1_017);
    await expect(client.balance()).resolves.toMatchObject({ balanceFen: START_FEN - 4_017 });
  });

  it('an underfunded payout gets an unsigned 9104 and nothing is recorded; after a top-up the same no_order is taken', async () => {
    const apply = fields({ money_order: '100.01' });
    const refused = await post(applyUrl(), signFields(apply, rsa));
    expect(refused.fields).toEqual({ ret_code: '9104', ret_msg: expect.any(String) });
    expect(sandbox.order(apply.no_order)).toBeUndefined();
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(0);
    expect(sandbox.balance()).toBe(START_FEN);
    await expect(client.apply(apply)).resolves.toMatchObject({ kind: 'rejected', retCode: '9104' });

    expect(sandbox.topup(1)).toBe(10_001);
    // Spec §7: the same no_order with identical fields may be resent after a 9104.
    await expect(client.apply(apply)).resolves.toMatchObject({ kind: 'accepted' });
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(1);
    expect(sandbox.balance()).toBe(0);
    // A payout that fits exactly leaves zero, and zero is reported as a balance, not as unknown.
    await expect(client.balance()).resolves.toMatchObject({ kind: 'known', balanceFen: 0 });
  });

  it('a taken no_order resent while the balance is short still answers 1002, never 9104', async () => {
    const apply = fields({ money_order: '80.00' });
    await expect(client.apply(apply)).resolves.toMatchObject({ kind: 'accepted' });
    expect(sandbox.balance()).toBe(2_000);
    const again = await post(applyUrl(), signFields(apply, rsa));
    expect(again.fields.ret_code).toBe('1002');
    expect(sandbox.balance()).toBe(2_000);
  });

  it('FAILURE credits the amount back, once', async () => {
    const apply = fields({ money_order: amountFor('fail', 50) });
    await client.apply(apply);
    expect(sandbox.balance()).toBe(START_FEN - 5_013);
    toFinal();
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('FAILURE');
    expect(sandbox.balance()).toBe(START_FEN);
    clock.advance(10 * STEP);
    expect(sandbox.balance()).toBe(START_FEN);
  });

  it('CANCEL after SUCCESS credits the amount back; SUCCESS alone does not', async () => {
    const apply = fields({ money_order: amountFor('cancel', 20) });
    await client.apply(apply);
    toFinal();
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('SUCCESS');
    expect(sandbox.balance()).toBe(START_FEN - 2_014);
    clock.advance(STEP);
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('CANCEL');
    expect(sandbox.balance()).toBe(START_FEN);
  });

  it('the .23 insufficientBalance scenario still answers 9104 however much there is', async () => {
    const apply = fields({ money_order: amountFor('insufficientBalance') });
    await expect(client.apply(apply)).resolves.toMatchObject({ kind: 'rejected', retCode: '9104' });
    expect(sandbox.order(apply.no_order)).toBeUndefined();
    expect(sandbox.balance()).toBe(START_FEN);
  });

  it('reset() restores the starting balance', async () => {
    sandbox.topup(500);
    await client.apply(fields({ money_order: '3.00' }));
    expect(sandbox.balance()).toBe(START_FEN + 500 - 300);
    sandbox.reset();
    expect(sandbox.balance()).toBe(START_FEN);
  });

  it('topup() refuses anything but a positive whole number of fen', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER]) {
      expect(() => sandbox.topup(bad)).toThrow(RangeError);
      expect(() => sandbox.topup(bad)).toThrow(/^amount /);
    }
    expect(sandbox.balance()).toBe(START_FEN);
  });
});

describe('property: the balance is the starting balance minus what stays paid', () => {
  it('any mix of payouts and top-ups: 9104 exactly when it does not fit, never below zero, returns credited', async () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('pay' as const),
        yuan: fc.integer({ min: 1, max: 60 }),
        scenario: fc.constantFrom<ScenarioName>('success', 'fail', 'cancel', 'systemErrorTaken'),
      }),
      fc.record({ kind: fc.constant('topup' as const), fen: fc.integer({ min: 1, max: 5_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        sandbox.reset();
        let expected = START_FEN;
        let stillPaid = 0;
        for (const s of steps) {
          if (s.kind === 'topup') {
            expected += s.fen;
            expect(sandbox.topup(s.fen)).toBe(expected);
            continue;
          }
          const money = amountFor(s.scenario, s.yuan);
          const parsed = parseWireAmount(money);
          if (!parsed.ok) throw new Error(`amountFor gave ${money}`);
          const fen = parsed.fen;
          const answer = await post(applyUrl(), signFields(fields({ money_order: money }), rsa));
          if (fen > expected) {
            expect(answer.fields.ret_code).toBe('9104');
          } else {
            expect(answer.fields.ret_code).not.toBe('9104');
            expected -= fen;
            if (s.scenario !== 'fail' && s.scenario !== 'cancel') stillPaid += fen;
          }
          expect(sandbox.balance()).toBe(expected);
          expect(sandbox.balance()).toBeGreaterThanOrEqual(0);
        }
        // Everything reaches its last state; FAILURE and CANCEL gave their amounts back.
        clock.advance(4 * STEP);
        expect(sandbox.balance()).toBe(START_FEN + topups(steps) - stillPaid);
        await expect(client.balance()).resolves.toMatchObject({
          kind: 'known',
          balanceFen: sandbox.balance(),
        });
      }),
      { numRuns: 15 },
    );
  });
});

function topups(steps: readonly { kind: string; fen?: number }[]): number {
  return steps.reduce((sum, s) => sum + (s.kind === 'topup' ? (s.fen ?? 0) : 0), 0);
}

describe('admin API and CLI', () => {
  it('POST /__sandbox/topup credits yuan, GET /__sandbox/stats and /__sandbox/balance show it', async () => {
    const topup = await post(`${sandbox.url}/__sandbox/topup`, { amount: '123.45' });
    expect(topup).toMatchObject({ status: 200, fields: { balance: '223.45', balanceFen: 22_345 } });
    const stats = (await (await fetch(`${sandbox.url}/__sandbox/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ balance: '223.45', balanceFen: 22_345 });
    const balance = await (await fetch(`${sandbox.url}/__sandbox/balance`)).json();
    expect(balance).toEqual({ balance: '223.45', balanceFen: 22_345 });
  });

  it.each([
    ['a JSON number', { amount: 12.5 }],
    ['a negative amount', { amount: '-1.00' }],
    ['three decimals', { amount: '1.234' }],
    ['no amount', {}],
    ['not JSON', '{'],
  ])('POST /__sandbox/topup refuses %s with a 400 naming amount', async (_label, body) => {
    const answer = await post(`${sandbox.url}/__sandbox/topup`, body);
    expect(answer.status).toBe(400);
    expect(answer.fields.field).toBe('amount');
    expect(answer.fields.error).toMatch(/^amount /);
    expect(sandbox.balance()).toBe(START_FEN);
  });

  it('runTopup credits the sandbox at SANDBOX_URL, else at SANDBOX_HOST/SANDBOX_PORT', async () => {
    await expect(runTopup(['50'], { SANDBOX_URL: sandbox.url })).resolves.toEqual({
      code: 0,
      out: 'topped up 50; balance now 150.00',
    });
    const port = new URL(sandbox.url).port;
    await expect(runTopup(['0.5'], { SANDBOX_HOST: '0.0.0.0', SANDBOX_PORT: port })).resolves.toMatchObject({
      code: 0,
    });
    expect(sandbox.balance()).toBe(START_FEN + 5_000 + 50);
  });

  it('runTopup explains bad usage (2) and an unreachable sandbox (1)', async () => {
    expect(await runTopup([], {})).toMatchObject({ code: 2, err: expect.stringMatching(/usage/) });
    expect(await runTopup(['1.234'], {})).toMatchObject({ code: 2, err: expect.stringMatching(/^amount /) });
    expect(await runTopup(['1'], { SANDBOX_URL: 'ftp://x' })).toMatchObject({ code: 2 });
    expect(await runTopup(['1'], { SANDBOX_PORT: '0' })).toMatchObject({ code: 2 });
    const down = await runTopup(['1'], { SANDBOX_URL: sandbox.url }, (() =>
      Promise.reject(new Error('ECONNREFUSED'))) as typeof fetch);
    expect(down).toMatchObject({ code: 1, err: expect.stringContaining('no sandbox answering') });
    expect(sandboxUrl({})).toEqual({ ok: true, url: 'http://127.0.0.1:8089' });
  });

  it('SANDBOX_BALANCE sets the starting balance in yuan; a malformed one is named', () => {
    expect(optionsFromEnv({ SANDBOX_BALANCE: '5000.00' }).balanceFen).toBe(500_000);
    expect(optionsFromEnv({ SANDBOX_BALANCE: '0' }).balanceFen).toBe(0);
    expect(optionsFromEnv({ SANDBOX_BALANCE: '12.5' }).balanceFen).toBe(1_250);
    expect(optionsFromEnv({})).not.toHaveProperty('balanceFen');
    for (const bad of ['-1', '1.234', '1e6', 'lots']) {
      expect(() => optionsFromEnv({ SANDBOX_BALANCE: bad })).toThrow(SandboxConfigError);
      expect(() => optionsFromEnv({ SANDBOX_BALANCE: bad })).toThrow(/^SANDBOX_BALANCE /);
    }
  });

  it('npm run sandbox -- topup <amount> talks to a running sandbox', async () => {
    const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('SANDBOX_')),
    );
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'sandbox/cli.ts', 'topup', '7.00'],
      {
        cwd: repoRoot,
        env: { ...clean, SANDBOX_URL: sandbox.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(out).toContain('balance now 107.00');
    expect(sandbox.balance()).toBe(START_FEN + 700);
  }, 20_000);
});
