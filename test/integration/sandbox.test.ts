import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { amountFor, SCENARIO_NAMES, SCENARIOS, scenarioForAmount } from '../../sandbox/scenarios';
import {
  ManualClock,
  type NotificationAttempt,
  type Sandbox,
  type SandboxEvent,
  type SandboxOptions,
  startSandbox,
} from '../../sandbox/server';
import {
  ACCT_NAME,
  applyFields,
  CARD_NO,
  MD5_KEY,
  type Merchant,
  newNoOrder,
  OID,
  post,
  rsaPair,
  startMerchant,
} from '../../sandbox/testkit';
import { HttpProviderClient } from '../../src/adapters/provider/http-client';
import { APPLY_PATH, QUERY_PATH, resolveEndpoints } from '../../src/lianlian/endpoints';
import { exportPublicKeyBase64 } from '../../src/lianlian/keys';
import type { ApplyFields } from '../../src/lianlian/messages';
import { type SigningKeys, signFields, verifyFields, verifyQueryResponse } from '../../src/lianlian/sign';

/**
 * Every sandbox here runs on a ManualClock: processing steps, retries, deadlines and held-back answers
 * happen when a test advances the clock, and tests wait for the sandbox's events, never for wall time.
 * The values are the spec's own (notifications every 2 minutes, 5 s deadline), since time costs nothing.
 */
const STEP = 1_000;
const INTERVAL = 120_000;
const MAX_ATTEMPTS = 4;
const NOTIFY_TIMEOUT = 5_000;
const APPLY_DELAY = 15_000;
const NOT_FOUND_FOR = 5_000;

const NOTIFICATION_FIELDS = [
  'dt_order',
  'info_order',
  'money_order',
  'no_order',
  'oid_partner',
  'oid_paybill',
  'result_pay',
  'settle_date',
  'sign',
  'sign_type',
];

let merchantKeys: { privateKey: KeyObject; publicKey: KeyObject };
let providerKeys: { privateKey: KeyObject; publicKey: KeyObject };
let merchant: Merchant;
let sandbox: Sandbox;
let clock: ManualClock;
let client: HttpProviderClient;
const logs: string[] = [];
const extra: Sandbox[] = [];

let rsa: SigningKeys;
const md5: SigningKeys = { signType: 'MD5', md5Key: MD5_KEY };

function baseOptions(): SandboxOptions {
  return {
    oidPartner: OID,
    merchantPublicKey: merchantKeys.publicKey,
    md5Key: MD5_KEY,
    providerPrivateKey: providerKeys.privateKey,
    stepMs: STEP,
    notifyIntervalMs: INTERVAL,
    notifyMaxAttempts: MAX_ATTEMPTS,
    notifyTimeoutMs: NOTIFY_TIMEOUT,
    applyDelayMs: APPLY_DELAY,
    notFoundForMs: NOT_FOUND_FOR,
  };
}

/** A separate sandbox (own clock) for tests that change global state or need other keys; closed after the file. */
async function another(
  overrides: Partial<SandboxOptions> = {},
): Promise<{ box: Sandbox; clock: ManualClock }> {
  const own = new ManualClock();
  const box = await startSandbox({ ...baseOptions(), clock: own, ...overrides });
  extra.push(box);
  return { box, clock: own };
}

function clientFor(box: Sandbox, timeoutMs = 2_000): HttpProviderClient {
  return new HttpProviderClient({
    endpoints: resolveEndpoints({ base: box.url }),
    oidPartner: OID,
    signing: rsa,
    verifying: { publicKey: box.providerPublicKey, md5Key: MD5_KEY },
    timeoutMs,
  });
}

function fields(overrides: Partial<ApplyFields> = {}): ApplyFields {
  return applyFields(merchant.url, overrides);
}

function queryBody(noOrder: string, extraFields: Record<string, string> = {}, keys = rsa) {
  return signFields({ oid_partner: OID, no_order: noOrder, type_dc: '1', ...extraFields }, keys);
}

const applyUrl = (box: Sandbox = sandbox) => `${box.url}${APPLY_PATH}`;
const queryUrl = (box: Sandbox = sandbox) => `${box.url}${QUERY_PATH}`;

type Attempted = Extract<SandboxEvent, { type: 'notification' }>;
type Ended = Extract<SandboxEvent, { type: 'seriesEnded' }>;

/** The `nth` finished notification attempt of one series (resolves at once if it already finished). */
function attempt(
  noOrder: string,
  resultPay: string,
  nth = 1,
  box: Sandbox = sandbox,
): Promise<NotificationAttempt> {
  return box
    .waitFor(
      (e): e is Attempted =>
        e.type === 'notification' &&
        e.attempt.no_order === noOrder &&
        e.attempt.result_pay === resultPay &&
        e.attempt.attempt === nth,
    )
    .then((e) => e.attempt);
}

function seriesEnded(noOrder: string, resultPay: string, box: Sandbox = sandbox): Promise<Ended> {
  return box.waitFor(
    (e): e is Ended => e.type === 'seriesEnded' && e.no_order === noOrder && e.result_pay === resultPay,
  );
}

/** What the merchant received in the first attempt of the `resultPay` series (already under way). */
async function finalNotification(noOrder: string, resultPay: string) {
  await attempt(noOrder, resultPay);
  const note = merchant.of(noOrder).find((r) => r.fields.result_pay === resultPay);
  if (!note) throw new Error(`the merchant never saw the ${resultPay} notification for ${noOrder}`);
  return note;
}

/** Orders reach their final state after two steps (WAITING → PROCESSING → final). */
const toFinal = (c: ManualClock = clock) => c.advance(2 * STEP);

beforeAll(async () => {
  merchantKeys = rsaPair();
  providerKeys = rsaPair();
  rsa = { signType: 'RSA', privateKey: merchantKeys.privateKey };
  merchant = await startMerchant();
  clock = new ManualClock();
  sandbox = await startSandbox({ ...baseOptions(), clock, log: (line) => logs.push(line) });
  client = clientFor(sandbox);
});

// Shared server, nothing shared between tests: each starts from an empty sandbox, merchant and log.
beforeEach(() => {
  sandbox.reset();
  merchant.clear();
  logs.length = 0;
});

afterAll(async () => {
  await Promise.all([sandbox?.close(), ...extra.map((box) => box.close())]);
  await merchant?.close();
});

describe('apply', () => {
  it('accepts a signed apply and signs its answer with the provider key', async () => {
    const apply = fields();
    const answer = await post(applyUrl(), signFields(apply, rsa));

    expect(answer.status).toBe(200);
    expect(answer.fields).toMatchObject({
      ret_code: '0000',
      ret_msg: '交易成功',
      oid_partner: OID,
      no_order: apply.no_order,
      sign_type: 'RSA',
    });
    expect(answer.fields.oid_paybill).toMatch(/^[0-9]{16,32}$/);
    expect(verifyFields(answer.fields, { publicKey: providerKeys.publicKey })).toEqual({
      ok: true,
      signType: 'RSA',
    });
    expect(sandbox.providerPublicKeyBase64).toBe(exportPublicKeyBase64(providerKeys.publicKey));
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(1);
    const order = sandbox.order(apply.no_order);
    expect(order).toMatchObject({ money_order: '1.00', oid_paybill: answer.fields.oid_paybill });
    expect(order?.history[0]?.result_pay).toBe('WAITING');
  });

  it('works end to end with HttpProviderClient', async () => {
    const apply = fields({ money_order: '2.50' });
    const outcome = await client.apply(apply);
    expect(outcome).toMatchObject({ kind: 'accepted', retCode: '0000' });
    expect(outcome.kind === 'accepted' && outcome.oidPaybill).toBe(
      sandbox.order(apply.no_order)?.oid_paybill,
    );
  });

  it('hands out a distinct oid_paybill for every order', async () => {
    const bills = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => (await post(applyUrl(), signFields(fields(), rsa))).fields.oid_paybill),
    );
    expect(new Set(bills).size).toBe(5);
  });

  it('records, logs and serves requests with card number and payee name masked', async () => {
    const apply = fields();
    await client.apply(apply);
    const recorded = sandbox.requests().find((r) => r.body.no_order === apply.no_order);
    expect(recorded).toMatchObject({ path: APPLY_PATH, retCode: '0000' });
    expect(recorded?.body.card_no).toBe('622202*********0123');
    expect(recorded?.body.acct_name).toBe('张**');
    expect(sandbox.order(apply.no_order)).toMatchObject({
      card_no_masked: '622202*********0123',
      acct_name_masked: '张**',
    });
    const admin = await (await fetch(`${sandbox.url}/__sandbox/requests?no_order=${apply.no_order}`)).text();
    const orders = await (await fetch(`${sandbox.url}/__sandbox/orders`)).text();
    expect(admin).toContain('622202*********0123');
    for (const text of [
      JSON.stringify(sandbox.requests()),
      JSON.stringify(sandbox.orders()),
      admin,
      orders,
    ]) {
      expect(text).not.toContain(CARD_NO);
      expect(text).not.toContain(ACCT_NAME);
    }
    expect(logs.some((line) => line.includes(apply.no_order))).toBe(true);
    expect(logs.filter((line) => line.includes(CARD_NO) || line.includes(ACCT_NAME))).toEqual([]);
  });

  it('answers an unsigned 1001 when a field was changed after signing, and takes nothing', async () => {
    const apply = fields();
    const tampered = { ...signFields(apply, rsa), money_order: '1000.00' };
    const answer = await post(applyUrl(), tampered);
    expect(answer.fields).toEqual({ ret_code: '1001', ret_msg: expect.any(String) });
    expect(sandbox.order(apply.no_order)).toBeUndefined();
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(0);
  });

  it.each([
    ['a missing sign', (f: Record<string, string>) => ({ ...f, sign: '' })],
    ['an unknown sign_type', (f: Record<string, string>) => ({ ...f, sign_type: 'SHA256' })],
    [
      'a signature made with another key',
      () => signFields(fields(), { ...rsa, privateKey: rsaPair().privateKey }),
    ],
  ])('answers 1001 for %s', async (_label, mutate) => {
    const answer = await post(applyUrl(), mutate(signFields(fields(), rsa)));
    expect(answer.fields.ret_code).toBe('1001');
    expect(answer.fields.sign).toBeUndefined();
  });

  it('accepts an MD5-signed apply and answers signed with the MD5 key', async () => {
    const apply = fields();
    const answer = await post(applyUrl(), signFields(apply, md5));
    expect(answer.fields).toMatchObject({ ret_code: '0000', sign_type: 'MD5', no_order: apply.no_order });
    expect(verifyFields(answer.fields, { md5Key: MD5_KEY })).toEqual({ ok: true, signType: 'MD5' });
    expect(sandbox.order(apply.no_order)?.sign_type).toBe('MD5');
  });

  it('answers 1001 to MD5 without an MD5 key and to RSA without a merchant public key', async () => {
    const { box: rsaOnly } = await another({ md5Key: undefined });
    const { box: md5Only } = await another({ merchantPublicKey: undefined });
    const viaMd5 = await post(applyUrl(rsaOnly), signFields(fields(), md5));
    const viaRsa = await post(applyUrl(md5Only), signFields(fields(), rsa));
    expect(viaMd5.fields.ret_code).toBe('1001');
    expect(viaRsa.fields.ret_code).toBe('1001');
    // …while the configured method still works on each.
    expect((await post(applyUrl(rsaOnly), signFields(fields(), rsa))).fields.ret_code).toBe('0000');
    expect((await post(applyUrl(md5Only), signFields(fields(), md5))).fields.ret_code).toBe('0000');
  });

  it.each<[string, Record<string, string>]>([
    ['money_order', { money_order: '12.5' }],
    ['money_order', { money_order: '1.0E7' }],
    ['dt_order', { dt_order: '2024-01-01 10:00:00' }],
    ['card_no', { card_no: '6222 0212 3456' }],
    ['flag_card', { flag_card: '2' }],
    ['notify_url', { notify_url: 'not a url' }],
    ['api_version', { api_version: '1.0' }],
    ['bank_code', { flag_card: '1', prcptcd: '102100099996' }],
    ['extra_field', { extra_field: 'x' }],
  ])('answers 1004 naming [%s]', async (field, overrides) => {
    const answer = await post(applyUrl(), signFields({ ...fields(), ...overrides }, rsa));
    expect(answer.fields).toEqual({ ret_code: '1004', ret_msg: `商户请求参数[${field}]非法` });
  });

  it('answers 1004 naming a missing required field', async () => {
    const { info_order: _dropped, ...rest } = fields();
    const answer = await post(applyUrl(), signFields(rest, rsa));
    expect(answer.fields).toEqual({ ret_code: '1004', ret_msg: '商户请求参数[info_order]非法' });
  });

  it('answers 1002 to a second apply of a taken no_order and keeps the first order', async () => {
    const apply = fields();
    const first = await post(applyUrl(), signFields(apply, rsa));
    const again = await post(applyUrl(), signFields({ ...apply, money_order: '9.99' }, rsa));
    expect(first.fields.ret_code).toBe('0000');
    expect(again.fields).toEqual({ ret_code: '1002', ret_msg: expect.any(String) });
    expect(await client.apply(apply)).toMatchObject({ kind: 'unknown', retCode: '1002' });
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(1);
    expect(sandbox.order(apply.no_order)).toMatchObject({
      money_order: '1.00',
      oid_paybill: first.fields.oid_paybill,
    });
  });

  it('answers 3001 to another merchant number, even correctly signed', async () => {
    const apply = fields({ oid_partner: '201400000000000099' });
    const answer = await post(applyUrl(), signFields(apply, rsa));
    expect(answer.fields).toEqual({ ret_code: '3001', ret_msg: expect.any(String) });
    expect(sandbox.order(apply.no_order)).toBeUndefined();
  });

  it.each([
    ['not JSON', 'money_order=1.00&no_order=x'],
    ['a JSON array', '["0000"]'],
    ['a JSON number value', JSON.stringify({ oid_partner: OID, money_order: 1.5 })],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ])('answers 1012 when the body is %s', async (_label, body) => {
    const answer = await post(applyUrl(), body);
    expect(answer.fields).toEqual({ ret_code: '1012', ret_msg: expect.any(String) });
    expect(sandbox.requests().at(-1)).toMatchObject({ retCode: '1012', body: {} });
  });
});

describe('query', () => {
  it('finds an order with type_dc=1 and signs the answer (HttpProviderClient)', async () => {
    const apply = fields({ money_order: '3.45' });
    await client.apply(apply);
    const outcome = await client.query(apply.no_order, apply.dt_order);
    expect(outcome.kind).toBe('found');
    if (outcome.kind !== 'found') return;
    expect(outcome.result).toMatchObject({
      oid_partner: OID,
      no_order: apply.no_order,
      dt_order: apply.dt_order,
      money_order: '3.45',
      oid_paybill: sandbox.order(apply.no_order)?.oid_paybill,
      info_order: '测试代付',
    });
    // No time has passed on the sandbox's clock: still where an apply leaves it.
    expect(outcome.result.result_pay).toBe('WAITING');
  });

  it('leaves bank_name outside the signature with query_version 1.1', async () => {
    const apply = fields({ bank_code: '01020000' });
    await client.apply(apply);
    const answer = await post(queryUrl(), queryBody(apply.no_order, { query_version: '1.1' }));
    const keys = { publicKey: providerKeys.publicKey };
    expect(answer.fields.bank_name).toBe('工商银行');
    expect(verifyFields(answer.fields, keys)).toEqual({ ok: false, reason: 'mismatch' });
    const { bank_name: _outside, ...signed } = answer.fields;
    expect(verifyFields(signed, keys).ok).toBe(true);
    expect(verifyQueryResponse(answer.fields, keys).ok).toBe(true);
  });

  it('covers bank_name when signBankName is set, and leaves it out without query_version 1.1', async () => {
    const { box } = await another({ signBankName: true });
    const apply = fields();
    await post(applyUrl(box), signFields(apply, rsa));
    const v11 = await post(queryUrl(box), queryBody(apply.no_order, { query_version: '1.1' }));
    const v10 = await post(queryUrl(box), queryBody(apply.no_order));
    expect(v11.fields.bank_name).toBe('工商银行');
    expect(verifyFields(v11.fields, { publicKey: providerKeys.publicKey }).ok).toBe(true);
    expect(v10.fields.ret_code).toBe('0000');
    expect(v10.fields.bank_name).toBeUndefined();
    expect(verifyFields(v10.fields, { publicKey: providerKeys.publicKey }).ok).toBe(true);
  });

  it('answers an MD5-signed query signed with the MD5 key', async () => {
    const apply = fields();
    await client.apply(apply);
    const answer = await post(queryUrl(), queryBody(apply.no_order, {}, md5));
    expect(answer.fields).toMatchObject({ ret_code: '0000', sign_type: 'MD5' });
    expect(verifyFields(answer.fields, { md5Key: MD5_KEY }).ok).toBe(true);
  });

  it('answers 8901 without type_dc or with type_dc=0 (it searched receipts), 1004 for other values', async () => {
    const apply = fields();
    await client.apply(apply);
    const base = { oid_partner: OID, no_order: apply.no_order };
    const missing = await post(queryUrl(), signFields(base, rsa));
    const receipts = await post(queryUrl(), signFields({ ...base, type_dc: '0' }, rsa));
    const other = await post(queryUrl(), signFields({ ...base, type_dc: '2' }, rsa));
    expect(missing.fields).toEqual({ ret_code: '8901', ret_msg: expect.any(String) });
    expect(receipts.fields).toEqual({ ret_code: '8901', ret_msg: expect.any(String) });
    expect(other.fields).toEqual({ ret_code: '1004', ret_msg: '商户请求参数[type_dc]非法' });
  });

  it('answers an unsigned 8901 for an unknown order', async () => {
    const noOrder = newNoOrder('NONE');
    const answer = await post(queryUrl(), queryBody(noOrder));
    expect(answer.fields).toEqual({ ret_code: '8901', ret_msg: expect.any(String) });
    expect(await client.query(noOrder)).toMatchObject({ kind: 'not_found', retCode: '8901' });
  });

  it('answers 8901 when dt_order or oid_paybill name a different order', async () => {
    const apply = fields();
    await client.apply(apply);
    const otherTime = await post(queryUrl(), queryBody(apply.no_order, { dt_order: '20200101120000' }));
    const otherBill = await post(queryUrl(), queryBody(apply.no_order, { oid_paybill: '1' }));
    expect(otherTime.fields.ret_code).toBe('8901');
    expect(otherBill.fields.ret_code).toBe('8901');
  });

  it('answers 1001 to a tampered query and 3001 to another merchant', async () => {
    const apply = fields();
    await client.apply(apply);
    const tampered = { ...queryBody(apply.no_order), no_order: newNoOrder() };
    const foreign = queryBody(apply.no_order);
    const stranger = signFields({ ...foreign, oid_partner: '201400000000000099' }, rsa);
    expect((await post(queryUrl(), tampered)).fields).toEqual({
      ret_code: '1001',
      ret_msg: expect.any(String),
    });
    expect((await post(queryUrl(), stranger)).fields).toEqual({
      ret_code: '3001',
      ret_msg: expect.any(String),
    });
  });
});

describe('processing and notifications', () => {
  it('goes WAITING → PROCESSING → SUCCESS one step apart and notifies with a signature over all fields', async () => {
    const apply = fields({ money_order: '12.34' });
    await client.apply(apply);
    clock.advance(STEP - 1);
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('WAITING');
    clock.advance(1);
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('PROCESSING');
    clock.advance(STEP);
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('SUCCESS');
    const note = await finalNotification(apply.no_order, 'SUCCESS');

    expect(note.contentType).toBe('text/json;charset=utf-8');
    expect(Object.keys(note.fields).sort()).toEqual(NOTIFICATION_FIELDS);
    expect(verifyFields(note.fields, { publicKey: providerKeys.publicKey })).toEqual({
      ok: true,
      signType: 'RSA',
    });
    const order = sandbox.order(apply.no_order);
    expect(note.fields).toMatchObject({
      oid_partner: OID,
      no_order: apply.no_order,
      dt_order: apply.dt_order,
      money_order: '12.34',
      oid_paybill: order?.oid_paybill,
      info_order: '测试代付',
      settle_date: order?.settle_date,
    });
    expect(note.fields.settle_date).toMatch(/^20[0-9]{6}$/);
    expect(order?.history.map((h) => h.result_pay)).toEqual(['WAITING', 'PROCESSING', 'SUCCESS']);
    const times = order?.history.map((h) => Date.parse(h.at)) ?? [];
    expect([(times[1] ?? 0) - (times[0] ?? 0), (times[2] ?? 0) - (times[1] ?? 0)]).toEqual([STEP, STEP]);

    // Delivered at once: the series is over, and three intervals later nothing else was sent.
    expect(await seriesEnded(apply.no_order, 'SUCCESS')).toMatchObject({ attempts: 1, delivered: true });
    expect(sandbox.pendingTimers()).toBe(0);
    expect(clock.advance(INTERVAL * 3)).toBe(0);
    const attempts = sandbox.notifications().filter((a) => a.no_order === apply.no_order);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, delivered: true, status: 200, answeredRetCode: '0000' });
    expect(attempts[0]?.body).toEqual(note.fields);
    expect(sandbox.stats().notificationsSent).toBe(1);
    expect(merchant.of(apply.no_order)).toHaveLength(1);
  });

  it('signs the notification of an MD5 order with the MD5 key', async () => {
    const apply = fields();
    await post(applyUrl(), signFields(apply, md5));
    toFinal();
    const note = await finalNotification(apply.no_order, 'SUCCESS');
    expect(note.fields.sign_type).toBe('MD5');
    expect(verifyFields(note.fields, { md5Key: MD5_KEY }).ok).toBe(true);
  });

  it('retries every notifyIntervalMs until the merchant answers 0000: exactly 3 attempts, then no more', async () => {
    const apply = fields();
    const nack = JSON.stringify({ ret_code: '9999', ret_msg: '验签失败' });
    merchant.policies.set(apply.no_order, (nth) => (nth <= 2 ? { body: nack } : {}));
    await client.apply(apply);
    toFinal();
    expect(await attempt(apply.no_order, 'SUCCESS', 1)).toMatchObject({ delivered: false });
    // One ms short of the interval nothing is sent; at the interval the retry goes.
    expect(clock.advance(INTERVAL - 1)).toBe(0);
    expect(sandbox.stats().notificationsSent).toBe(1);
    clock.advance(1);
    expect(await attempt(apply.no_order, 'SUCCESS', 2)).toMatchObject({ delivered: false });
    clock.advance(INTERVAL);
    expect(await seriesEnded(apply.no_order, 'SUCCESS')).toMatchObject({ attempts: 3, delivered: true });
    expect(clock.advance(INTERVAL * 3)).toBe(0);

    const attempts = sandbox.notifications().filter((a) => a.no_order === apply.no_order);
    expect(attempts.map((a) => [a.attempt, a.delivered, a.answeredRetCode])).toEqual([
      [1, false, '9999'],
      [2, false, '9999'],
      [3, true, '0000'],
    ]);
    const sent = attempts.map((a) => Date.parse(a.at));
    expect([(sent[1] ?? 0) - (sent[0] ?? 0), (sent[2] ?? 0) - (sent[1] ?? 0)]).toEqual([INTERVAL, INTERVAL]);
    expect(merchant.of(apply.no_order)).toHaveLength(3);
  });

  it('gives up after notifyMaxAttempts when the merchant never acknowledges', async () => {
    const apply = fields();
    merchant.policies.set(apply.no_order, () => ({ status: 500, body: 'oops' }));
    await client.apply(apply);
    toFinal();
    for (let nth = 1; nth < MAX_ATTEMPTS; nth++) {
      await attempt(apply.no_order, 'SUCCESS', nth);
      clock.advance(INTERVAL);
    }
    expect(await seriesEnded(apply.no_order, 'SUCCESS')).toMatchObject({
      attempts: MAX_ATTEMPTS,
      delivered: false,
    });
    expect(sandbox.pendingTimers()).toBe(0);
    expect(clock.advance(INTERVAL * 4)).toBe(0);

    const attempts = sandbox.notifications().filter((a) => a.no_order === apply.no_order);
    expect(merchant.of(apply.no_order)).toHaveLength(MAX_ATTEMPTS);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(attempts.every((a) => !a.delivered && a.status === 500)).toBe(true);
  });

  it('counts only HTTP 200 with a JSON ret_code 0000 within the timeout as delivered', async () => {
    const apply = fields();
    const script = [
      { hang: true },
      { body: 'SUCCESS' },
      { status: 201, body: JSON.stringify({ ret_code: '0000' }) },
      {},
    ];
    merchant.policies.set(apply.no_order, (nth) => script[nth - 1] ?? {});
    await client.apply(apply);
    toFinal();
    // The merchant holds the first attempt: it fails when, and only when, notifyTimeoutMs has passed.
    const first = await merchant.arrival(apply.no_order, 1);
    clock.advance(NOTIFY_TIMEOUT - 1);
    expect(sandbox.notifications()).toHaveLength(0);
    clock.advance(1);
    expect(await attempt(apply.no_order, 'SUCCESS', 1)).toMatchObject({
      delivered: false,
      error: 'timeout',
      durationMs: NOTIFY_TIMEOUT,
    });
    await first.done; // the sender dropped the connection
    for (const nth of [2, 3, 4]) {
      clock.advance(INTERVAL);
      await attempt(apply.no_order, 'SUCCESS', nth);
    }
    const attempts = sandbox.notifications().filter((a) => a.no_order === apply.no_order);
    expect(attempts).toHaveLength(4);
    expect(attempts[1]).toMatchObject({ attempt: 2, delivered: false, status: 200 });
    expect(attempts[2]).toMatchObject({ attempt: 3, delivered: false, status: 201, answeredRetCode: '0000' });
    expect(attempts[3]).toMatchObject({ attempt: 4, delivered: true, status: 200 });
  });

  it('records a refused connection as a failed attempt and retries', async () => {
    const closed = await startMerchant();
    const url = closed.url;
    await closed.close();
    const apply = fields({ notify_url: url });
    await client.apply(apply);
    toFinal();
    const first = await attempt(apply.no_order, 'SUCCESS', 1);
    expect(first).toMatchObject({ attempt: 1, delivered: false, error: 'ECONNREFUSED' });
    expect(first.status).toBeUndefined();
    clock.advance(INTERVAL);
    expect(await attempt(apply.no_order, 'SUCCESS', 2)).toMatchObject({ delivered: false });
  });
});

describe('scenarios', () => {
  it('selects scenarios by cents, with amountFor as the way to ask for one', () => {
    for (const name of SCENARIO_NAMES) {
      expect(amountFor(name)).toBe(SCENARIOS[name].amount);
      expect(scenarioForAmount(amountFor(name, 37))).toBe(name);
    }
    expect(amountFor('fail')).toBe('1.13');
    expect(amountFor('cancel', 250)).toBe('250.14');
    expect(scenarioForAmount('5.99')).toBe('success');
    expect(scenarioForAmount('0.13')).toBe('fail');
    expect(() => amountFor('success', 0)).toThrow(RangeError);
    expect(() => amountFor('fail', 1.5)).toThrow(RangeError);
  });

  it('fail: accepted, then FAILURE with a memo', async () => {
    const apply = fields({ money_order: amountFor('fail') });
    expect(await client.apply(apply)).toMatchObject({ kind: 'accepted' });
    toFinal();
    const note = await finalNotification(apply.no_order, 'FAILURE');
    expect(verifyFields(note.fields, { publicKey: providerKeys.publicKey }).ok).toBe(true);
    const outcome = await client.query(apply.no_order);
    expect(outcome.kind === 'found' && outcome.result).toMatchObject({
      result_pay: 'FAILURE',
      memo: '户名与卡号不符',
      settle_date: expect.stringMatching(/^[0-9]{8}$/),
    });
    expect(merchant.of(apply.no_order).map((r) => r.fields.result_pay)).toEqual(['FAILURE']);
  });

  it('cancel: SUCCESS, then CANCEL one step later, each with its own notification series', async () => {
    const apply = fields({ money_order: amountFor('cancel') });
    await client.apply(apply);
    toFinal();
    await finalNotification(apply.no_order, 'SUCCESS');
    clock.advance(STEP);
    const cancel = await finalNotification(apply.no_order, 'CANCEL');
    expect(merchant.of(apply.no_order).map((r) => r.fields.result_pay)).toEqual(['SUCCESS', 'CANCEL']);
    expect(verifyFields(cancel.fields, { publicKey: providerKeys.publicKey }).ok).toBe(true);
    const attempts = sandbox.notifications().filter((a) => a.no_order === apply.no_order);
    expect(attempts.map((a) => [a.result_pay, a.attempt])).toEqual([
      ['SUCCESS', 1],
      ['CANCEL', 1],
    ]);
    const order = sandbox.order(apply.no_order);
    expect(order?.history.map((h) => h.result_pay)).toEqual(['WAITING', 'PROCESSING', 'SUCCESS', 'CANCEL']);
    const outcome = await client.query(apply.no_order);
    expect(outcome.kind === 'found' && outcome.result).toMatchObject({
      result_pay: 'CANCEL',
      memo: '银行退票',
    });
  });

  it('slow: stays PROCESSING for ten steps before SUCCESS', async () => {
    const apply = fields({ money_order: amountFor('slow') });
    await client.apply(apply);
    clock.advance(STEP);
    clock.advance(STEP * 10 - 1);
    const during = await client.query(apply.no_order);
    expect(during.kind === 'found' && during.result.result_pay).toBe('PROCESSING');
    clock.advance(1);
    await finalNotification(apply.no_order, 'SUCCESS');
    const times = sandbox.order(apply.no_order)?.history.map((h) => Date.parse(h.at)) ?? [];
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBe(STEP * 10);
  });

  it('applyTimeout: the client times out, yet the order was taken and is paid', async () => {
    const apply = fields({ money_order: amountFor('applyTimeout') });
    // The sandbox holds the answer until its clock moves, so the client's own (real) timeout fires.
    const impatient = clientFor(sandbox, 200);
    expect(await impatient.apply(apply)).toEqual({ kind: 'unknown', reason: 'timeout' });
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(1);
    toFinal();
    await finalNotification(apply.no_order, 'SUCCESS');
    const found = await client.query(apply.no_order);
    expect(found.kind === 'found' && found.result.result_pay).toBe('SUCCESS');
    expect(await client.apply(apply)).toMatchObject({ kind: 'unknown', retCode: '1002' });
  });

  it('applyTimeout: a patient caller gets the signed 0000 after exactly applyDelayMs', async () => {
    const apply = fields({ money_order: amountFor('applyTimeout', 5) });
    const pending = post(applyUrl(), signFields(apply, rsa));
    const decided = await sandbox.waitFor(
      (e) => e.type === 'request' && e.no_order === apply.no_order && e.delayMs === APPLY_DELAY,
    );
    clock.advance(APPLY_DELAY - 1);
    expect(sandbox.events().some((e) => e.type === 'reply')).toBe(false);
    clock.advance(1);
    const reply = await sandbox.waitFor((e) => e.type === 'reply' && e.no_order === apply.no_order);
    expect(Date.parse(reply.at) - Date.parse(decided.at)).toBe(APPLY_DELAY);
    const answer = await pending;
    expect(answer.fields.ret_code).toBe('0000');
    expect(verifyFields(answer.fields, { publicKey: providerKeys.publicKey }).ok).toBe(true);
  });

  it('systemErrorTaken: answers unsigned 9999 but takes the order and pays it', async () => {
    const apply = fields({ money_order: amountFor('systemErrorTaken') });
    const answer = await post(applyUrl(), signFields(apply, rsa));
    expect(answer.fields).toEqual({ ret_code: '9999', ret_msg: expect.any(String) });
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(1);
    toFinal();
    await finalNotification(apply.no_order, 'SUCCESS');
    const found = await client.query(apply.no_order);
    expect(found.kind === 'found' && found.result.result_pay).toBe('SUCCESS');
  });

  it('systemErrorNotTaken: answers unsigned 9999 and nothing is ever processed or notified', async () => {
    const apply = fields({ money_order: amountFor('systemErrorNotTaken') });
    expect(await client.apply(apply)).toMatchObject({ kind: 'unknown', reason: 'code', retCode: '9999' });
    expect(sandbox.pendingTimers()).toBe(0);
    expect(clock.advance(STEP * 3)).toBe(0);
    expect(await client.query(apply.no_order)).toMatchObject({ kind: 'not_found' });
    expect(sandbox.order(apply.no_order)).toBeUndefined();
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(0);
    expect(sandbox.stats().notificationsSent).toBe(0);
    expect(merchant.of(apply.no_order)).toHaveLength(0);
  });

  it('notFoundAtFirst: queries answer 8901 for notFoundForMs, then find the order', async () => {
    const apply = fields({ money_order: amountFor('notFoundAtFirst') });
    expect(await client.apply(apply)).toMatchObject({ kind: 'accepted' });
    expect(await client.query(apply.no_order)).toMatchObject({ kind: 'not_found' });
    clock.advance(NOT_FOUND_FOR - 1);
    expect(await client.query(apply.no_order)).toMatchObject({ kind: 'not_found' });
    clock.advance(1);
    const found = await client.query(apply.no_order);
    expect(found.kind === 'found' && found.result.result_pay).toBe('SUCCESS');
    await seriesEnded(apply.no_order, 'SUCCESS');
  });

  it('silent: reaches SUCCESS but never notifies', async () => {
    const apply = fields({ money_order: amountFor('silent') });
    await client.apply(apply);
    toFinal();
    expect(sandbox.order(apply.no_order)?.result_pay).toBe('SUCCESS');
    // A series would have started synchronously with the transition: none did, and nothing is scheduled.
    expect(sandbox.pendingTimers()).toBe(0);
    expect(clock.advance(INTERVAL * 3)).toBe(0);
    expect(sandbox.stats().notificationsSent).toBe(0);
    expect(sandbox.events().filter((e) => e.type === 'notification' || e.type === 'seriesEnded')).toEqual([]);
    expect(merchant.of(apply.no_order)).toHaveLength(0);
  });

  it.each([
    ['creditCard', '5502'],
    ['insufficientBalance', '9104'],
  ] as const)('%s: answers unsigned %s and takes nothing', async (scenario, code) => {
    const apply = fields({ money_order: amountFor(scenario) });
    expect(await client.apply(apply)).toMatchObject({ kind: 'rejected', retCode: code });
    const again = await post(applyUrl(), signFields(apply, rsa));
    expect(again.fields).toEqual({ ret_code: code, ret_msg: expect.any(String) });
    expect(sandbox.order(apply.no_order)).toBeUndefined();
    expect(await client.query(apply.no_order)).toMatchObject({ kind: 'not_found' });
  });

  it('badSignature: the 0000 answer fails verification, but the order is taken and queries verify', async () => {
    const apply = fields({ money_order: amountFor('badSignature') });
    expect(await client.apply(apply)).toMatchObject({ kind: 'unknown', reason: 'bad_signature' });
    const raw = await post(applyUrl(), signFields({ ...apply, no_order: newNoOrder() }, rsa));
    expect(raw.fields.ret_code).toBe('0000');
    // Still well-formed base64 of a 1024-bit signature: only verification can tell.
    expect(raw.fields.sign).toMatch(/^[A-Za-z0-9+/]{171}=$/);
    expect(verifyFields(raw.fields, { publicKey: providerKeys.publicKey })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(sandbox.acceptedApplies(apply.no_order)).toBe(1);
    toFinal();
    const note = await finalNotification(apply.no_order, 'SUCCESS');
    expect(verifyFields(note.fields, { publicKey: providerKeys.publicKey }).ok).toBe(true);
    const found = await client.query(apply.no_order);
    expect(found.kind === 'found' && found.result.result_pay).toBe('SUCCESS');
  });

  it('badSignature over MD5 corrupts the MD5 signature too', async () => {
    const apply = fields({ money_order: amountFor('badSignature') });
    const raw = await post(applyUrl(), signFields(apply, md5));
    expect(raw.fields.sign).toMatch(/^[0-9a-f]{32}$/);
    expect(verifyFields(raw.fields, { md5Key: MD5_KEY }).ok).toBe(false);
  });
});

describe('admin endpoints and lifecycle', () => {
  it('serves stats, orders, requests and notifications, and resets', async () => {
    const { box, clock: boxClock } = await another();
    const boxClient = clientFor(box);
    const apply = fields();
    await boxClient.apply(apply);
    await boxClient.query(apply.no_order);
    toFinal(boxClock);
    await seriesEnded(apply.no_order, 'SUCCESS', box);

    const get = async (path: string) => (await fetch(`${box.url}/__sandbox/${path}`)).json();
    expect(await get('stats')).toMatchObject({
      applies: 1,
      acceptedApplies: 1,
      queries: 1,
      // One of each in the 2 s the sandbox's clock has run.
      appliesPerSecond: 0.5,
      queriesPerSecond: 0.5,
      notificationsSent: 1,
      notificationsDelivered: 1,
      orders: 1,
      pendingTimers: 0,
      retCodes: { '0000': 2 },
    });
    expect(await get(`orders?no_order=${apply.no_order}`)).toMatchObject([
      { no_order: apply.no_order, result_pay: 'SUCCESS' },
    ]);
    expect(await get('requests')).toMatchObject([
      { path: APPLY_PATH, retCode: '0000' },
      { path: QUERY_PATH, retCode: '0000' },
    ]);
    expect(await get('notifications')).toMatchObject([{ no_order: apply.no_order, delivered: true }]);
    expect(await get('info')).toMatchObject({
      oidPartner: OID,
      providerPublicKey: box.providerPublicKeyBase64,
    });

    const reset = await fetch(`${box.url}/__sandbox/reset`, { method: 'POST' });
    expect(reset.status).toBe(200);
    expect(box.orders()).toEqual([]);
    expect(box.requests()).toEqual([]);
    expect(box.acceptedApplies()).toBe(0);
    expect(box.events().map((e) => e.type)).toEqual(['reset']);
    expect(await get('stats')).toMatchObject({ applies: 0, queries: 0, orders: 0 });
    expect((await fetch(`${box.url}/__sandbox/nope`)).status).toBe(404);
  });

  it('drops notifications while switched off and delivers a later retry once switched on', async () => {
    const { box, clock: boxClock } = await another({ dropNotifications: true });
    const apply = fields();
    await clientFor(box).apply(apply);
    toFinal(boxClock);
    expect(box.order(apply.no_order)?.result_pay).toBe('SUCCESS');
    boxClock.advance(INTERVAL);
    // Two attempts swallowed, synchronously: nothing went over the wire.
    expect(box.events().filter((e) => e.type === 'notificationDropped')).toMatchObject([
      { no_order: apply.no_order, attempt: 1 },
      { no_order: apply.no_order, attempt: 2 },
    ]);
    expect(box.stats()).toMatchObject({ notificationsDropped: 2, notificationsSent: 0 });
    expect(box.notifications()).toHaveLength(0);
    expect(merchant.of(apply.no_order)).toHaveLength(0);

    const bad = await fetch(`${box.url}/__sandbox/drop-notifications`, {
      method: 'POST',
      body: '{"drop":1}',
    });
    expect(bad.status).toBe(400);
    const on = await fetch(`${box.url}/__sandbox/drop-notifications`, {
      method: 'POST',
      body: JSON.stringify({ drop: false }),
    });
    expect(await on.json()).toEqual({ drop: false });
    boxClock.advance(INTERVAL);
    expect(await attempt(apply.no_order, 'SUCCESS', 3, box)).toMatchObject({ delivered: true });
    expect(merchant.of(apply.no_order)).toHaveLength(1);
  });

  it('reset() cancels processing: a forgotten order is never processed or notified', async () => {
    const { box, clock: boxClock } = await another();
    const apply = fields();
    await clientFor(box).apply(apply);
    expect(box.pendingTimers()).toBeGreaterThan(0);
    box.reset();
    expect(box.pendingTimers()).toBe(0);
    expect(boxClock.advance(STEP * 4)).toBe(0);
    expect(box.order(apply.no_order)).toBeUndefined();
    expect(box.events().map((e) => e.type)).toEqual(['reset']);
    expect(merchant.of(apply.no_order)).toHaveLength(0);
  });

  it('close() cancels every timer: nothing fires afterwards and the port is released', async () => {
    const own = new ManualClock();
    const box = await startSandbox({ ...baseOptions(), clock: own });
    const apply = fields();
    await clientFor(box).apply(apply);
    expect(box.pendingTimers()).toBeGreaterThan(0);
    await box.close();
    expect(box.pendingTimers()).toBe(0);
    expect(own.pending).toBe(0);
    expect(own.advance(STEP * 4)).toBe(0);
    expect(box.order(apply.no_order)?.result_pay).toBe('WAITING');
    expect(merchant.of(apply.no_order)).toHaveLength(0);
    await expect(fetch(`${box.url}${QUERY_PATH}`, { method: 'POST', body: '{}' })).rejects.toThrow();
    await box.close(); // idempotent
  });

  it('close() aborts an in-flight notification and a held-back apply answer', async () => {
    const own = new ManualClock();
    const box = await startSandbox({ ...baseOptions(), clock: own });
    const apply = fields();
    merchant.policies.set(apply.no_order, () => ({ hang: true }));
    await clientFor(box).apply(apply);
    toFinal(own);
    const inFlight = await merchant.arrival(apply.no_order, 1);
    const heldApply = fields({ money_order: amountFor('applyTimeout') });
    const held = post(applyUrl(box), signFields(heldApply, rsa));
    await box.waitFor((e) => e.type === 'request' && e.no_order === heldApply.no_order);

    // The clock never moves: neither the 5 s notification deadline nor the 15 s hold can release them.
    await box.close();
    expect(box.pendingTimers()).toBe(0);
    expect(own.pending).toBe(0);
    await expect(held).rejects.toThrow();
    await inFlight.done;
    expect(box.notifications()).toHaveLength(0);
    expect(merchant.of(apply.no_order)).toHaveLength(1);
  });

  it('onEvent sees every event in order, without card data; a throwing listener is logged, not raised', async () => {
    const seen: SandboxEvent[] = [];
    const lines: string[] = [];
    const { box, clock: boxClock } = await another({
      onEvent: (event) => {
        seen.push(event);
        if (event.type === 'order' && event.result_pay === 'PROCESSING') throw new Error('listener broke');
      },
      log: (line) => lines.push(line),
    });
    const apply = fields();
    await clientFor(box).apply(apply);
    toFinal(boxClock);
    await seriesEnded(apply.no_order, 'SUCCESS', box);

    expect(seen).toEqual(box.events());
    expect(seen.map((e) => (e.type === 'order' ? `order ${e.result_pay}` : e.type))).toEqual([
      'order WAITING',
      'request',
      'order PROCESSING',
      'order SUCCESS',
      'notification',
      'seriesEnded',
    ]);
    // The throw did not stop the order or its notification; it went to the log.
    expect(lines).toContain('onEvent threw: listener broke');
    expect(box.order(apply.no_order)?.result_pay).toBe('SUCCESS');
    const text = JSON.stringify(seen);
    expect(text).not.toContain(CARD_NO);
    expect(text).not.toContain(ACCT_NAME);
  });

  it('waitFor rejects after its real-time guard when nothing matches', async () => {
    await expect(sandbox.waitFor((e) => e.type === 'closed', { timeoutMs: 20 })).rejects.toThrow(
      /no matching event within 20 ms/,
    );
  });

  it('refuses an oidPartner that is not 18 digits', async () => {
    await expect(startSandbox({ ...baseOptions(), oidPartner: '201408071' })).rejects.toThrow(/18 digits/);
  });
});

describe('ManualClock', () => {
  it('runs due timers in due order, each at its own time, including ones they set', () => {
    const c = new ManualClock(0);
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`b@${c.now()}`), 20);
    c.setTimeout(() => {
      seen.push(`a@${c.now()}`);
      c.setTimeout(() => seen.push(`c@${c.now()}`), 5);
    }, 10);
    const dropped = c.setTimeout(() => seen.push('never'), 15);
    c.clearTimeout(dropped);
    expect(c.advance(14)).toBe(1);
    expect(c.advance(30)).toBe(2);
    expect(seen).toEqual(['a@10', 'c@15', 'b@20']);
    expect(c.now()).toBe(44);
    expect(c.pending).toBe(0);
    expect(() => c.advance(-1)).toThrow(RangeError);
  });
});
