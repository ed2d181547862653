import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { notifyHandler } from '../../functions/notify/handler';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { LOCAL_OID_PARTNER as OID } from '../../local/test-merchant';
import { amountFor } from '../../sandbox/scenarios';
import { type Sandbox, type SandboxEvent, startSandbox } from '../../sandbox/server';
import type { PayoutView } from '../../src/core/view';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../src/lianlian/keys';
import { signFields } from '../../src/lianlian/sign';

/**
 * The money path end to end: HTTP → local front → the deployed handlers → DynamoDB Local, and the
 * provider sandbox over HTTP, which answers, processes and notifies as LianLian does.
 */

const CARD = '6222000000004321';
const NAME = '测试收款人';
const APPLY_TIMEOUT_MS = 400;

let sandbox: Sandbox;
let stack: LocalStack;
let providerKey: KeyObject;
const stdout: string[] = [];
let restoreStdout: (() => void) | undefined;

beforeAll(async () => {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const provider = generateKeyPairSync('rsa', { modulusLength: 1024 });
  providerKey = provider.privateKey;
  sandbox = await startSandbox({
    oidPartner: OID,
    merchantPublicKey: merchant.publicKey,
    providerPrivateKey: provider.privateKey,
    stepMs: 30,
    notifyIntervalMs: 100,
    applyDelayMs: APPLY_TIMEOUT_MS * 3,
    notFoundForMs: 300,
  });
  stack = await startLocalStack({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `e2e-${randomUUID()}`,
    env: {
      LLP_API_BASE: sandbox.url,
      LLP_OID_PARTNER: OID,
      LLP_PUBLIC_KEY: exportPublicKeyBase64(provider.publicKey),
      LLP_MERCHANT_PRIVATE_KEY: exportPrivateKeyBase64(merchant.privateKey),
      LLP_TIMEOUT_MS: String(APPLY_TIMEOUT_MS),
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    },
  });
  // Everything the functions log goes to stdout (Powertools); keep it to check what it must never contain.
  // Patched by hand rather than with vi.spyOn: the config's restoreMocks would undo a spy before each test.
  const write = process.stdout.write.bind(process.stdout);
  restoreStdout = () => {
    process.stdout.write = write;
  };
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stdout.push(String(chunk));
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
});

afterAll(async () => {
  restoreStdout?.();
  await stack?.close();
  await sandbox?.close();
});

function payout(overrides: Record<string, unknown> = {}) {
  return {
    no_order: `E${randomUUID().replaceAll('-', '').slice(0, 20)}`,
    money_order: '0.01',
    card_no: CARD,
    acct_name: NAME,
    flag_card: '0',
    info_order: 'e2e payout',
    ...overrides,
  };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(noOrder: string, refresh = false): Promise<{ status: number; body: PayoutView }> {
  const res = await fetch(`${stack.url}/payouts/${noOrder}${refresh ? '?refresh=true' : ''}`);
  return { status: res.status, body: (await res.json()) as PayoutView };
}

async function until(noOrder: string, status: string, timeoutMs = 5_000): Promise<PayoutView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await get(noOrder)).body;
    if (view.status === status) return view;
    if (Date.now() > deadline) throw new Error(`${noOrder} is ${view.status}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function notifyBody(fields: Record<string, string>, key = providerKey): string {
  return JSON.stringify(signFields({ oid_partner: OID, ...fields }, { signType: 'RSA', privateKey: key }));
}

describe('POST /payouts', () => {
  it('pays to SUCCESS by notification, with a masked view and the transition history', async () => {
    const body = payout();
    const created = await post('/payouts', body);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ no_order: body.no_order, status: 'ACCEPTED', money_order: '0.01' });
    const done = await until(body.no_order, 'SUCCESS');
    expect(done).toMatchObject({
      card_no_masked: '622200******4321',
      acct_name_masked: '测****',
      result_pay: 'SUCCESS',
      flag_card: '0',
    });
    expect(done.oid_paybill).toMatch(/^\d+$/);
    expect(done.settle_date).toMatch(/^\d{8}$/);
    expect(done.history.map((h) => [h.source, h.to])).toEqual([
      ['apply', 'ACCEPTED'],
      ['notify', 'SUCCESS'],
    ]);
    expect(JSON.stringify(done)).not.toContain(CARD);
    expect(JSON.stringify(done)).not.toContain(NAME);
    expect(sandbox.acceptedApplies(body.no_order)).toBe(1);
  });

  it('reaches FAILURE and CANCEL (returned after success) as the provider reports them', async () => {
    const fail = payout({ money_order: amountFor('fail') });
    const cancel = payout({ money_order: amountFor('cancel') });
    await post('/payouts', fail);
    await post('/payouts', cancel);
    const failed = await until(fail.no_order, 'FAILURE');
    expect(failed.result_pay).toBe('FAILURE');
    // The notification carries no reason; a 1.1 query does (memo).
    expect((await get(fail.no_order, true)).body.memo).toBeTruthy();
    const cancelled = await until(cancel.no_order, 'CANCEL');
    // The SUCCESS and CANCEL notifications may cross on the wire; CANCEL implies the success before it,
    // so ACCEPTED → CANCEL is as valid as ACCEPTED → SUCCESS → CANCEL. What never happens is a step back.
    const path = cancelled.history.map((h) => h.to).join(' → ');
    expect(['ACCEPTED → SUCCESS → CANCEL', 'ACCEPTED → CANCEL']).toContain(path);
  });

  it('answers an identical repeat with 200 and a different one with 409, sending nothing again', async () => {
    const body = payout();
    expect((await post('/payouts', body)).status).toBe(202);
    const again = await post('/payouts', body);
    expect(again.status).toBe(200);
    expect(again.body.no_order).toBe(body.no_order);
    const conflict = await post('/payouts', { ...body, money_order: '0.02' });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { code: 'conflict' } });
    const applies = sandbox
      .requests()
      .filter((r) => r.path.endsWith('cardandpay.htm') && r.body.no_order === body.no_order);
    expect(applies).toHaveLength(1);
  });

  it('sends exactly one apply for 20 concurrent identical requests', async () => {
    const body = payout();
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/payouts', body)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    const applies = sandbox
      .requests()
      .filter((r) => r.path.endsWith('cardandpay.htm') && r.body.no_order === body.no_order);
    expect(applies).toHaveLength(1);
    expect(sandbox.acceptedApplies(body.no_order)).toBe(1);
  });

  it('refuses invalid input with 400 naming each field, and records and sends nothing', async () => {
    const body = payout({ money_order: 12.5, card_no: '62220000abc', flag_card: '1' });
    const answer = await post('/payouts', body);
    expect(answer.status).toBe(400);
    const error = answer.body.error as { code: string; fields: { field: string }[] };
    expect(error.code).toBe('invalid_request');
    expect(error.fields.map((f) => f.field)).toEqual(
      expect.arrayContaining(['money_order', 'card_no', 'bank_code']),
    );
    expect((await get(body.no_order)).status).toBe(404);
    expect(sandbox.requests().some((r) => r.body.no_order === body.no_order)).toBe(false);
  });

  it('answers non-JSON with 400 and an oversized body with 413, never 500', async () => {
    expect((await post('/payouts', '{"no_order":')).status).toBe(400);
    expect((await post('/payouts', '[1,2]')).status).toBe(400);
    const huge = JSON.stringify(payout({ info_order: 'x'.repeat(40_000) }));
    expect((await post('/payouts', huge)).status).toBe(413);
  });

  it('marks an unsigned conclusive refusal REJECTED and a 9999 UNKNOWN', async () => {
    const refused = payout({ money_order: amountFor('creditCard') });
    const created = await post('/payouts', refused);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'REJECTED', ret_code: '5502' });
    const error = payout({ money_order: amountFor('systemErrorNotTaken') });
    expect((await post('/payouts', error)).body).toMatchObject({ status: 'UNKNOWN', ret_code: '9999' });
  });

  it('treats a 0000 with a bad signature as UNKNOWN, never ACCEPTED', async () => {
    const body = payout({ money_order: amountFor('badSignature') });
    expect((await post('/payouts', body)).body).toMatchObject({ status: 'UNKNOWN' });
  });
});

describe('GET /payouts/{no_order}', () => {
  it('answers 404 for an unknown order and 400 for a malformed number', async () => {
    expect((await get('NO_SUCH_ORDER')).status).toBe(404);
    expect((await fetch(`${stack.url}/payouts/${'x'.repeat(40)}`)).status).toBe(400);
  });

  it('apply timeout → UNKNOWN → ?refresh=true queries the provider → final', async () => {
    sandbox.setDropNotifications(true);
    try {
      const body = payout({ money_order: amountFor('applyTimeout') });
      const created = await post('/payouts', body);
      expect(created.body).toMatchObject({ status: 'UNKNOWN' });
      // Wait until the provider, which did take the order, has paid it.
      const deadline = Date.now() + 5_000;
      while (sandbox.order(body.no_order)?.result_pay !== 'SUCCESS') {
        if (Date.now() > deadline) throw new Error('sandbox never paid');
        await new Promise((r) => setTimeout(r, 25));
      }
      expect((await get(body.no_order)).body.status).toBe('UNKNOWN');
      const refreshed = await get(body.no_order, true);
      expect(refreshed.body.status).toBe('SUCCESS');
      expect(refreshed.body.history.at(-1)).toMatchObject({
        source: 'query',
        from: 'UNKNOWN',
        to: 'SUCCESS',
      });
      const query = sandbox
        .requests()
        .find((r) => r.path.endsWith('orderquery.htm') && r.body.no_order === body.no_order);
      expect(query?.body.type_dc).toBe('1');
      expect(sandbox.acceptedApplies(body.no_order)).toBe(1);
    } finally {
      sandbox.setDropNotifications(false);
    }
  });

  it('refresh on 8901 inside the grace period leaves the order as it is', async () => {
    const body = payout({ money_order: amountFor('systemErrorNotTaken') });
    await post('/payouts', body);
    const refreshed = await get(body.no_order, true);
    expect(refreshed.body.status).toBe('UNKNOWN');
    expect(refreshed.body.history).toHaveLength(1);
  });
});

describe('POST /lianlian/notify', () => {
  async function paid() {
    const body = payout();
    await post('/payouts', body);
    await until(body.no_order, 'SUCCESS');
    // Our handler writes SUCCESS before it answers, and the sandbox records the attempt once the answer
    // is in: wait for that event rather than racing it.
    const delivered = await sandbox.waitFor(
      (e): e is Extract<SandboxEvent, { type: 'notification' }> =>
        e.type === 'notification' && e.attempt.no_order === body.no_order && e.attempt.delivered,
    );
    return { body, notification: delivered.attempt.body };
  }

  it('acknowledges a duplicate with no second effect', async () => {
    const { body, notification } = await paid();
    const before = (await get(body.no_order)).body;
    const raw = JSON.stringify(notification);
    const res = await fetch(`${stack.url}/lianlian/notify`, {
      method: 'POST',
      headers: { 'content-type': 'text/json;charset=utf-8' },
      body: raw,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ret_code: '0000', ret_msg: '交易成功' });
    const after = (await get(body.no_order)).body;
    expect(after.updated_at).toBe(before.updated_at);
    expect(after.history).toHaveLength(before.history.length);
  });

  it('accepts the body base64-encoded, as API Gateway hands over some payloads', async () => {
    const body = payout({ money_order: amountFor('silent') });
    await post('/payouts', body);
    const deadline = Date.now() + 5_000;
    while (sandbox.order(body.no_order)?.result_pay !== 'SUCCESS') {
      if (Date.now() > deadline) throw new Error('sandbox never paid');
      await new Promise((r) => setTimeout(r, 25));
    }
    const raw = notifyBody({
      no_order: body.no_order,
      money_order: body.money_order,
      result_pay: 'SUCCESS',
      oid_paybill: sandbox.order(body.no_order)!.oid_paybill,
    });
    const handler = notifyHandler(() => stack.runtime);
    const event = {
      httpMethod: 'POST',
      path: '/lianlian/notify',
      resource: '/lianlian/notify',
      headers: { 'content-type': 'text/json;charset=utf-8' },
      body: Buffer.from(raw, 'utf8').toString('base64'),
      isBase64Encoded: true,
    } as unknown as APIGatewayProxyEvent;
    const result = await handler(event, {
      awsRequestId: 'test',
      getRemainingTimeInMillis: () => 10_000,
    } as Context);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ ret_code: '0000', ret_msg: '交易成功' });
    expect((await get(body.no_order)).body.status).toBe('SUCCESS');
  });

  it('ignores an out-of-order SUCCESS after CANCEL, and acknowledges it', async () => {
    const body = payout({ money_order: amountFor('cancel') });
    await post('/payouts', body);
    await until(body.no_order, 'CANCEL');
    const success = sandbox
      .notifications()
      .find((n) => n.no_order === body.no_order && n.result_pay === 'SUCCESS' && n.delivered);
    expect(success).toBeDefined();
    const answer = await post('/lianlian/notify', JSON.stringify(success!.body));
    expect(answer.body.ret_code).toBe('0000');
    expect((await get(body.no_order)).body.status).toBe('CANCEL');
  });

  it('refuses tampered, wrong-partner and unknown-order notifications, changing nothing', async () => {
    const { body, notification } = await paid();
    const before = (await get(body.no_order)).body;
    const { sign: _s, sign_type: _t, ...unsigned } = notification;
    const cases = [
      JSON.stringify({ ...notification, result_pay: 'FAILURE' }), // tampered after signing
      notifyBody({ ...unsigned, result_pay: 'FAILURE', oid_partner: '201400000000000009' }), // wrong partner
      notifyBody({ ...unsigned, no_order: 'NO_SUCH_ORDER' }), // unknown order
      notifyBody(
        { ...unsigned, result_pay: 'FAILURE' },
        generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
      ),
      'not json at all',
    ];
    for (const raw of cases) {
      const answer = await post('/lianlian/notify', raw, { 'content-type': 'text/json;charset=utf-8' });
      expect(answer.status).toBe(200);
      expect(answer.body.ret_code).not.toBe('0000');
    }
    const after = (await get(body.no_order)).body;
    expect(after).toEqual(before);
  });

  it('refuses a signed wrong-amount notification and records it once as an anomaly (also on retries)', async () => {
    const { body, notification } = await paid();
    const { sign: _s, sign_type: _t, ...unsigned } = notification;
    const raw = notifyBody({ ...unsigned, result_pay: 'FAILURE', money_order: '0.02' });
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await post('/lianlian/notify', raw, { 'content-type': 'text/json;charset=utf-8' });
      expect(answer.status).toBe(200);
      expect(answer.body.ret_code).not.toBe('0000');
    }
    const after = (await get(body.no_order)).body;
    expect(after.status).toBe('SUCCESS');
    expect(after.history.filter((h) => h.anomaly === 'provider reported a different amount')).toHaveLength(1);
  });
});

describe('logs', () => {
  it('never contain the card number, the payee name or a signature', async () => {
    // A payout of its own, so the test does not depend on the others having run first.
    const body = payout();
    await post('/payouts', body);
    await until(body.no_order, 'SUCCESS');
    const text = stdout.join('');
    expect(text).toContain('payout status changed'); // the capture works
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(NAME);
    const signatures = sandbox.notifications().map((n) => n.body.sign);
    for (const sig of signatures) if (sig) expect(text).not.toContain(sig);
    // Correlation id: every payout log line carries its no_order.
    const recorded = text.split('\n').filter((line) => line.includes('"payout status changed"'));
    expect(recorded.length).toBeGreaterThan(0);
    for (const line of recorded) expect(JSON.parse(line).no_order).toMatch(/^E/);
  });
});
