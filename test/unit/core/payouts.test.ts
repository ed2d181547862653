import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../../src/config/contract';
import { approvePayout } from '../../../src/core/approvals';
import { NO_CONTROLS } from '../../../src/core/controls';
import { ConflictError, InvalidStateError, NotFoundError, ValidationError } from '../../../src/core/errors';
import {
  applyQueryOutcome,
  createPayout,
  getPayout,
  receiveNotification,
  resendPending,
} from '../../../src/core/payouts';
import type { QueryOutcome } from '../../../src/core/ports';
import { signFields, type VerifyingKeys } from '../../../src/lianlian/sign';
import { makeDeps, TEST_OID_PARTNER } from '../../support/fakes';

const CARD = '6222000000001234';
const NAME = '测试用户';

function request(overrides: Record<string, unknown> = {}) {
  return {
    no_order: `P${Math.random().toString(36).slice(2, 12)}`,
    money_order: '7.5',
    card_no: CARD,
    acct_name: NAME,
    flag_card: '0',
    info_order: 'supplier payout',
    ...overrides,
  };
}

let providerKey: KeyObject;
let keys: VerifyingKeys;

beforeAll(() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  providerKey = pair.privateKey;
  keys = { publicKey: pair.publicKey };
});

function notification(fields: Record<string, string>, key = providerKey): string {
  return JSON.stringify(
    signFields(
      {
        oid_partner: TEST_OID_PARTNER,
        dt_order: '20261127120000',
        oid_paybill: '2026112700000001',
        settle_date: '20261127',
        info_order: 'supplier payout',
        ...fields,
      },
      { signType: 'RSA', privateKey: key },
    ),
  );
}

describe('createPayout', () => {
  it('records, sends exactly one apply with provider-formatted fields, and answers the view', async () => {
    const deps = makeDeps();
    const body = request();
    const result = await createPayout(deps, body);

    expect(result.created).toBe(true);
    expect(result.view).toMatchObject({
      no_order: body.no_order,
      status: 'ACCEPTED',
      money_order: '7.50',
      card_no_masked: '622200******1234',
      acct_name_masked: '测***',
      oid_paybill: '2026112700000001',
    });
    expect(deps.provider.applies).toHaveLength(1);
    expect(deps.provider.applies[0]).toEqual({
      oid_partner: TEST_OID_PARTNER,
      api_version: '1.2',
      no_order: body.no_order,
      // 04:00Z is 12:00 in UTC+8.
      dt_order: '20261127120000',
      money_order: '7.50',
      flag_card: '0',
      card_no: CARD,
      acct_name: NAME,
      info_order: 'supplier payout',
      notify_url: 'http://127.0.0.1:3000/lianlian/notify',
    });
    expect(result.view.history.map((h) => [h.source, h.from, h.to])).toEqual([
      ['apply', 'PENDING', 'ACCEPTED'],
    ]);
  });

  it('stores the payee only sealed: neither the card number nor the name is in the stored order', async () => {
    const deps = makeDeps();
    const body = request();
    await createPayout(deps, body);
    const stored = await deps.store.get(body.no_order);
    const text = JSON.stringify(stored);
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(NAME);
    expect(await deps.cipher.open(stored!.payee_sealed, body.no_order)).toEqual({
      card_no: CARD,
      acct_name: NAME,
    });
  });

  it('answers a repeat with identical fields with the current view and sends nothing again', async () => {
    const deps = makeDeps();
    const body = request();
    await createPayout(deps, body);
    const again = await createPayout(deps, { ...body, money_order: '7.50' });
    expect(again.created).toBe(false);
    expect(again.view.status).toBe('ACCEPTED');
    expect(deps.provider.applies).toHaveLength(1);
  });

  it.each([
    ['amount', { money_order: '7.51' }],
    ['card', { card_no: '6222000000009999' }],
    ['name', { acct_name: '另一人' }],
    ['purpose', { info_order: 'other' }],
  ])('refuses a repeat with a different %s as a conflict and sends nothing', async (_what, change) => {
    const deps = makeDeps();
    const body = request();
    await createPayout(deps, body);
    await expect(createPayout(deps, { ...body, ...change })).rejects.toBeInstanceOf(ConflictError);
    expect(deps.provider.applies).toHaveLength(1);
  });

  it('sends exactly one apply for 20 concurrent identical requests', async () => {
    const deps = makeDeps();
    const body = request();
    const results = await Promise.all(Array.from({ length: 20 }, () => createPayout(deps, body)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(deps.provider.applies).toHaveLength(1);
  });

  it.each([
    [{ money_order: 7.5 }, 'money_order'],
    [{ money_order: '7.555' }, 'money_order'],
    [{ money_order: '-1' }, 'money_order'],
    [{ money_order: '1e3' }, 'money_order'],
    [{ card_no: '6222 0000' }, 'card_no'],
    [{ card_no: undefined }, 'card_no'],
    [{ flag_card: '2' }, 'flag_card'],
    [{ no_order: 'x'.repeat(33) }, 'no_order'],
    [{ flag_card: '1' }, 'bank_code'],
    [{ unexpected: 'x' }, '(body)'],
  ])('refuses %o naming %s, recording and sending nothing', async (change, field) => {
    const deps = makeDeps();
    const body = request(change);
    const error = await createPayout(deps, body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields.map((f) => f.field)).toContain(field);
    expect(await deps.store.get(body.no_order as string)).toBeUndefined();
    expect(deps.provider.applies).toHaveLength(0);
  });

  it('marks a conclusive refusal REJECTED and an unknown outcome UNKNOWN, never FAILURE', async () => {
    const deps = makeDeps();
    deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode: '5502', retMsg: '信用卡不支持' });
    expect((await createPayout(deps, request())).view.status).toBe('REJECTED');
    deps.provider.applyOutcome = () => ({ kind: 'unknown', reason: 'code', retCode: '9999' });
    expect((await createPayout(deps, request())).view.status).toBe('UNKNOWN');
    deps.provider.applyOutcome = () => ({ kind: 'unknown', reason: 'timeout' });
    expect((await createPayout(deps, request())).view.status).toBe('UNKNOWN');
  });

  it('never logs the card number, the name or the seal', async () => {
    const deps = makeDeps();
    const body = request();
    await createPayout(deps, body);
    await createPayout(deps, body);
    await createPayout(deps, { ...body, card_no: '6222000000005678' }).catch(() => undefined);
    const stored = await deps.store.get(body.no_order);
    const logs = deps.log.text();
    expect(deps.log.records.length).toBeGreaterThan(0);
    expect(logs).not.toContain(CARD);
    expect(logs).not.toContain('6222000000005678');
    expect(logs).not.toContain(NAME);
    expect(logs).not.toContain(stored!.payee_sealed);
  });
});

describe('receiveNotification', () => {
  async function accepted() {
    const deps = makeDeps();
    const body = request({ money_order: '10' });
    await createPayout(deps, body);
    return { deps, noOrder: body.no_order };
  }

  it('applies a valid notification once and acknowledges repeats with no second effect', async () => {
    const { deps, noOrder } = await accepted();
    const raw = notification({ no_order: noOrder, money_order: '10.00', result_pay: 'SUCCESS' });
    const first = await receiveNotification(deps, keys, raw);
    expect(first).toEqual({ ack: true, body: { ret_code: '0000', ret_msg: '交易成功' } });
    const after = await deps.store.get(noOrder);
    expect(after?.status).toBe('SUCCESS');
    const second = await receiveNotification(deps, keys, raw);
    expect(second.ack).toBe(true);
    const again = await deps.store.get(noOrder);
    expect(again?.version).toBe(after?.version);
    expect(again?.history).toHaveLength(after!.history.length);
  });

  it.each([
    [
      'tampered amount',
      (n: string) => n.replace('"money_order":"10.00"', '"money_order":"11.00"'),
      '验签失败',
    ],
    ['not JSON', () => 'ret_code=0000', '报文格式错误'],
    [
      'number value',
      (n: string) => n.replace('"money_order":"10.00"', '"money_order":10.00'),
      '报文格式错误',
    ],
  ])('refuses a %s and changes nothing', async (_what, mutate, retMsg) => {
    const { deps, noOrder } = await accepted();
    const before = await deps.store.get(noOrder);
    const raw = mutate(notification({ no_order: noOrder, money_order: '10.00', result_pay: 'SUCCESS' }));
    const answer = await receiveNotification(deps, keys, raw);
    expect(answer.ack).toBe(false);
    expect(answer.body.ret_code).not.toBe('0000');
    expect(answer.body.ret_msg).toBe(retMsg);
    expect(await deps.store.get(noOrder)).toEqual(before);
  });

  it('refuses a wrong partner, an unknown order and a forged key, changing nothing', async () => {
    const { deps, noOrder } = await accepted();
    const before = await deps.store.get(noOrder);
    const forger = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const cases = [
      notification({
        no_order: noOrder,
        money_order: '10.00',
        result_pay: 'SUCCESS',
        oid_partner: '201400000000000002',
      }),
      notification({ no_order: 'NO_SUCH_ORDER', money_order: '10.00', result_pay: 'SUCCESS' }),
      notification({ no_order: noOrder, money_order: '10.00', result_pay: 'SUCCESS' }, forger),
    ];
    for (const raw of cases) {
      const answer = await receiveNotification(deps, keys, raw);
      expect(answer.ack).toBe(false);
      expect(answer.body.ret_code).not.toBe('0000');
    }
    expect(await deps.store.get(noOrder)).toEqual(before);
  });

  it('refuses an MD5-signed notification on a deployment that has no MD5 key (no downgrade)', async () => {
    const { deps, noOrder } = await accepted();
    const raw = JSON.stringify(
      signFields(
        { oid_partner: TEST_OID_PARTNER, no_order: noOrder, money_order: '10.00', result_pay: 'SUCCESS' },
        { signType: 'MD5', md5Key: 'guessed-key' },
      ),
    );
    const answer = await receiveNotification(deps, { publicKey: keys.publicKey, md5Key: '' }, raw);
    expect(answer.ack).toBe(false);
    expect((await deps.store.get(noOrder))?.status).toBe('ACCEPTED');
  });

  it('records FAILURE after SUCCESS as an anomaly, acknowledges, and keeps SUCCESS', async () => {
    const { deps, noOrder } = await accepted();
    await receiveNotification(
      deps,
      keys,
      notification({ no_order: noOrder, money_order: '10.00', result_pay: 'SUCCESS' }),
    );
    const answer = await receiveNotification(
      deps,
      keys,
      notification({ no_order: noOrder, money_order: '10.00', result_pay: 'FAILURE' }),
    );
    expect(answer.ack).toBe(true);
    const order = await deps.store.get(noOrder);
    expect(order?.status).toBe('SUCCESS');
    expect(order?.anomalies).toBe(1);
    expect(order?.history.at(-1)).toMatchObject({
      anomaly: 'FAILURE after SUCCESS',
      from: 'SUCCESS',
      to: 'SUCCESS',
    });
    expect(deps.metrics.get('PayoutAnomalies')).toBe(1);
  });
});

describe('getPayout', () => {
  it('answers 404 for an unknown order', async () => {
    await expect(getPayout(makeDeps(), 'NOPE', false)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refresh queries the provider with the original dt_order and applies a found result', async () => {
    const deps = makeDeps();
    const body = request({ money_order: '10.00' });
    await createPayout(deps, body);
    deps.provider.queryOutcome = (noOrder) => ({
      kind: 'found',
      result: {
        ret_code: '0000',
        oid_partner: TEST_OID_PARTNER,
        no_order: noOrder,
        money_order: '10.00',
        result_pay: 'PROCESSING',
        sign_type: 'RSA',
        sign: 'x',
      },
    });
    const view = await getPayout(deps, body.no_order, true);
    expect(view.status).toBe('PROCESSING');
    expect(deps.provider.queries).toEqual([{ noOrder: body.no_order, dtOrder: '20261127120000' }]);
    expect(view.history.at(-1)).toMatchObject({ source: 'query', from: 'ACCEPTED', to: 'PROCESSING' });
  });

  it('refresh leaves the order alone on 8901 inside the grace period and on an unknown answer', async () => {
    const deps = makeDeps();
    deps.provider.applyOutcome = () => ({ kind: 'unknown', reason: 'timeout' });
    const body = request();
    await createPayout(deps, body);
    const before = await deps.store.get(body.no_order);
    deps.provider.queryOutcome = () => ({ kind: 'not_found', retCode: '8901' });
    expect((await getPayout(deps, body.no_order, true)).status).toBe('UNKNOWN');
    deps.provider.queryOutcome = () => ({ kind: 'unknown', reason: 'timeout' });
    expect((await getPayout(deps, body.no_order, true)).status).toBe('UNKNOWN');
    expect(await deps.store.get(body.no_order)).toEqual(before);
  });

  it('refresh closes an UNKNOWN order as REJECTED once 8901 persists past the grace period', async () => {
    const deps = makeDeps();
    deps.provider.applyOutcome = () => ({ kind: 'unknown', reason: 'timeout' });
    const body = request();
    await createPayout(deps, body);
    deps.clock.advance(31 * 60_000);
    const view = await getPayout(deps, body.no_order, true);
    expect(view.status).toBe('REJECTED');
    expect(view.history.at(-1)).toMatchObject({ ret_code: '8901', from: 'UNKNOWN', to: 'REJECTED' });
  });
});

describe('receiveNotification: a signed notification that contradicts the order (defects 8 and 3)', () => {
  async function accepted() {
    const deps = makeDeps();
    const body = request({ money_order: '10' });
    await createPayout(deps, body);
    return { deps, noOrder: body.no_order };
  }

  it.each([
    ['a different amount', { money_order: '10.01' }, 'provider reported a different amount'],
    ['a different dt_order', { dt_order: '20261127120001' }, 'provider reported a different dt_order'],
  ])('%s: recorded once as an anomaly, answered non-0000 every time', async (_what, fields, anomaly) => {
    const { deps, noOrder } = await accepted();
    const raw = notification({ no_order: noOrder, money_order: '10.00', result_pay: 'SUCCESS', ...fields });

    const first = await receiveNotification(deps, keys, raw);
    expect(first.ack).toBe(false);
    expect(first.body.ret_code).not.toBe('0000');
    const after = await deps.store.get(noOrder);
    expect(after).toMatchObject({ status: 'ACCEPTED', anomalies: 1 });
    expect(after?.history.at(-1)).toMatchObject({ source: 'notify', anomaly, result_pay: 'SUCCESS' });
    expect(deps.metrics.get(METRICS.anomalies)).toBe(1);

    // The provider retries (spec §5): refused again, recorded no second time.
    const retry = await receiveNotification(deps, keys, raw);
    expect(retry.ack).toBe(false);
    expect(await deps.store.get(noOrder)).toEqual(after);
    expect(deps.metrics.get(METRICS.anomalies)).toBe(1);
  });
});

describe('signature failures are counted by message kind (defect 5)', () => {
  it('notify: a forged notification counts once under kind=notify', async () => {
    const deps = makeDeps();
    const body = request({ money_order: '10' });
    await createPayout(deps, body);
    const forger = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const raw = notification(
      { no_order: body.no_order, money_order: '10.00', result_pay: 'SUCCESS' },
      forger,
    );
    expect((await receiveNotification(deps, keys, raw)).ack).toBe(false);
    expect(deps.metrics.with(METRICS.signatureFailures, { kind: 'notify' })).toBe(1);
  });

  it('apply and query answers with a bad signature count under kind=apply and kind=query', async () => {
    const deps = makeDeps();
    deps.provider.applyOutcome = () => ({ kind: 'unknown', reason: 'bad_signature', retCode: '0000' });
    const body = request();
    expect((await createPayout(deps, body)).view.status).toBe('UNKNOWN');
    expect(deps.metrics.with(METRICS.signatureFailures, { kind: 'apply' })).toBe(1);

    deps.provider.queryOutcome = () => ({ kind: 'unknown', reason: 'bad_signature', retCode: '0000' });
    expect((await getPayout(deps, body.no_order, true)).status).toBe('UNKNOWN');
    expect(deps.metrics.with(METRICS.signatureFailures, { kind: 'query' })).toBe(1);
    // Other unknown answers are not signature failures.
    deps.provider.queryOutcome = () => ({ kind: 'unknown', reason: 'timeout' });
    await getPayout(deps, body.no_order, true);
    expect(deps.metrics.get(METRICS.signatureFailures)).toBe(2);
  });
});

describe('applyQueryOutcome: the resend decision and its refusal (defect 1)', () => {
  const GRACE = 30 * 60_000;
  const notFound: QueryOutcome = { kind: 'not_found', retCode: '8901' };

  /** A PENDING order whose apply answer was never recorded (the process died mid-apply). */
  async function pending() {
    const deps = makeDeps();
    deps.provider.applyOutcome = () => {
      throw new Error('process died');
    };
    const body = request({ money_order: '10.00' });
    await expect(createPayout(deps, body)).rejects.toThrow('process died');
    const order = await deps.store.get(body.no_order);
    expect(order?.status).toBe('PENDING');
    return { deps, order: order! };
  }

  it('8901 inside the grace from the apply: no resend, nothing written', async () => {
    const { deps, order } = await pending();
    deps.clock.advance(GRACE - 1);
    const out = await applyQueryOutcome(deps, order, notFound, 'reconcile');
    expect(out.resent).toBe(false);
    expect(deps.provider.applies).toHaveLength(1);
    expect(await deps.store.get(order.no_order)).toEqual(order);
  });

  it('8901 for the whole grace: resent under the same no_order and dt_order, after the hook', async () => {
    const { deps, order } = await pending();
    deps.provider.applyOutcome = () => ({ kind: 'accepted', retCode: '0000' });
    deps.clock.advance(GRACE);
    const calls: string[] = [];
    const out = await applyQueryOutcome(deps, order, notFound, 'reconcile', {
      beforeResend: async () => {
        calls.push(`hook with ${deps.provider.applies.length} applies`);
      },
    });
    expect(calls).toEqual(['hook with 1 applies']);
    expect(out.resent).toBe(true);
    expect(out.order).toMatchObject({ status: 'ACCEPTED', apply_attempts: 2 });
    expect(deps.provider.applies.map((a) => [a.no_order, a.dt_order])).toEqual([
      [order.no_order, order.dt_order],
      [order.no_order, order.dt_order],
    ]);
  });

  it.each(['9104', '9912', '9913', '1005'])(
    'a resend refused with %s is never final: UNKNOWN, counted, and still due',
    async (retCode) => {
      const { deps, order } = await pending();
      deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode, retMsg: 'refused' });
      deps.clock.advance(GRACE + 60_000);
      const out = await applyQueryOutcome(deps, order, notFound, 'reconcile');
      expect(out.resent).toBe(true);
      expect(out.order).toMatchObject({ status: 'UNKNOWN', ret_code: retCode, apply_attempts: 2 });
      expect(out.order.next_check_at).toBe(order.next_check_at);
      expect(out.order.history.at(-1)?.note).toContain('first apply may still be paying');
      expect(deps.metrics.get(METRICS.resendRefused)).toBe(1);
      expect(
        deps.log.records.some((r) => r.level === 'error' && r.attributes?.alarm === 'resend_refused'),
      ).toBe(true);
    },
  );

  it('after a refused resend: a result makes it final; else 8901 for the whole grace after the resend closes it', async () => {
    const { deps, order } = await pending();
    deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode: '9912' });
    deps.clock.advance(GRACE + 60_000);
    const refused = (await applyQueryOutcome(deps, order, notFound, 'reconcile')).order;

    // 8901 inside the grace counted from the RESEND: nothing changes (and no further resend: not PENDING).
    deps.clock.advance(GRACE - 60_000);
    const inside = await applyQueryOutcome(deps, refused, notFound, 'reconcile');
    expect(inside).toEqual({ order: refused, resent: false });

    // A result is believed as usual.
    const paid = await applyQueryOutcome(
      deps,
      refused,
      {
        kind: 'found',
        result: {
          ret_code: '0000',
          oid_partner: TEST_OID_PARTNER,
          no_order: order.no_order,
          dt_order: order.dt_order,
          money_order: '10.00',
          result_pay: 'SUCCESS',
          sign_type: 'RSA',
          sign: 'x',
        },
      },
      'reconcile',
    );
    expect(paid.order.status).toBe('SUCCESS');
    expect(deps.provider.applies).toHaveLength(2);
  });

  it('after a refused resend and no result: 8901 for the whole grace after the resend closes it REJECTED', async () => {
    const { deps, order } = await pending();
    deps.provider.applyOutcome = () => ({ kind: 'rejected', retCode: '9912' });
    deps.clock.advance(GRACE + 60_000);
    const refused = (await applyQueryOutcome(deps, order, notFound, 'reconcile')).order;
    deps.clock.advance(GRACE);
    const closed = await applyQueryOutcome(deps, refused, notFound, 'reconcile');
    expect(closed.order).toMatchObject({ status: 'REJECTED', ret_code: '8901' });
    expect(closed.order.history.at(-1)?.note).toMatch(/^8901 persisted 30 min after the apply$/);
    expect(deps.provider.applies).toHaveLength(2);
  });
});

describe('applyQueryOutcome: an unreadable applied_at (defect 7)', () => {
  it.each(['not-a-time', '2026-02-30T00:00:00.000Z', '', '2026-11-27 04:00:00'])(
    'applied_at %j counts as inside the grace: nothing resent or closed, reported at error level',
    async (appliedAt) => {
      for (const status of ['PENDING', 'UNKNOWN'] as const) {
        const deps = makeDeps();
        const body = request({ money_order: '10.00' });
        deps.provider.applyOutcome = () => ({ kind: 'unknown', reason: 'timeout', retCode: '9999' });
        await createPayout(deps, body);
        const created = (await deps.store.get(body.no_order))!;
        // A record damaged outside this code (the store accepts any string): fed as it would be read.
        const damaged = { ...created, status, applied_at: appliedAt };
        deps.clock.advance(24 * 60 * 60_000);
        const out = await applyQueryOutcome(
          deps,
          damaged,
          { kind: 'not_found', retCode: '8901' },
          'reconcile',
        );
        expect(out).toEqual({ order: damaged, resent: false });
        expect(deps.provider.applies).toHaveLength(1);
        expect(deps.metrics.get(METRICS.appliedAtUnreadable)).toBe(1);
        expect(
          deps.log.records.some(
            (r) => r.level === 'error' && r.attributes?.alarm === 'applied_at_unreadable',
          ),
        ).toBe(true);
      }
    },
  );
});

describe('applyQueryOutcome: a query answer with another dt_order (defect 3)', () => {
  it('is never applied: recorded once as an anomaly, the status stays', async () => {
    const deps = makeDeps();
    const body = request({ money_order: '10.00' });
    await createPayout(deps, body);
    const order = (await deps.store.get(body.no_order))!;
    const answer: QueryOutcome = {
      kind: 'found',
      result: {
        ret_code: '0000',
        oid_partner: TEST_OID_PARTNER,
        no_order: order.no_order,
        dt_order: '20261127120001',
        money_order: '10.00',
        result_pay: 'FAILURE',
        sign_type: 'RSA',
        sign: 'x',
      },
    };
    const first = await applyQueryOutcome(deps, order, answer, 'query');
    expect(first.order).toMatchObject({ status: 'ACCEPTED', anomalies: 1 });
    expect(first.order.history.at(-1)?.anomaly).toBe('provider reported a different dt_order');
    const again = await applyQueryOutcome(deps, first.order, answer, 'query');
    expect(again.order).toEqual(first.order);
  });
});

describe('the returns watch survives an anomaly (defect 6)', () => {
  it('a FAILURE notification for a watched SUCCESS is recorded as an anomaly and the order stays due', async () => {
    const deps = makeDeps({ config: { returnWatchMs: 24 * 60 * 60_000 } });
    const body = request({ money_order: '10' });
    await createPayout(deps, body);
    const success = notification({ no_order: body.no_order, money_order: '10.00', result_pay: 'SUCCESS' });
    expect((await receiveNotification(deps, keys, success)).ack).toBe(true);
    const watched = (await deps.store.get(body.no_order))!;
    expect(watched.status).toBe('SUCCESS');
    expect(watched.next_check_at).toBeDefined();

    const failure = notification({ no_order: body.no_order, money_order: '10.00', result_pay: 'FAILURE' });
    await receiveNotification(deps, keys, failure);
    const after = (await deps.store.get(body.no_order))!;
    expect(after).toMatchObject({ status: 'SUCCESS', anomalies: 1, next_check_at: watched.next_check_at });
    const due = await deps.store.listDue({ dueBefore: '2100-01-01T00:00:00.000Z', limit: 10 });
    expect(due.items.map((r) => r.no_order)).toEqual([body.no_order]);
  });
});

describe('review findings on the money path', () => {
  /** A PENDING order whose apply died with the process: recorded, never answered. */
  async function crashedPending() {
    const deps = makeDeps();
    deps.provider.applyOutcome = () => {
      throw new Error('process died mid-apply');
    };
    const body = request();
    await expect(createPayout(deps, body)).rejects.toThrow('process died');
    deps.clock.advance(31 * 60_000);
    return { deps, noOrder: body.no_order };
  }

  it('GET ?refresh=true never resends, even past the grace: that is reconciliation’s job', async () => {
    const { deps, noOrder } = await crashedPending();
    const view = await getPayout(deps, noOrder, true);
    expect(view.status).toBe('PENDING');
    expect(deps.provider.applies).toHaveLength(1);
    const stored = await deps.store.get(noOrder);
    expect(stored).toMatchObject({ apply_attempts: 1, version: 1 });
  });

  it('a resend whose payee cannot be opened records no attempt and moves no apply time', async () => {
    const { deps, noOrder } = await crashedPending();
    const before = (await deps.store.get(noOrder))!;
    const failing = {
      ...deps,
      cipher: {
        seal: deps.cipher.seal.bind(deps.cipher),
        open: async () => {
          throw new Error('AccessDenied');
        },
      },
    };
    await expect(resendPending(failing, before, '8901 persisted')).rejects.toThrow('AccessDenied');
    const after = (await deps.store.get(noOrder))!;
    expect(after).toMatchObject({
      apply_attempts: 1,
      applied_at: before.applied_at,
      version: before.version,
    });
    expect(deps.provider.applies).toHaveLength(1);
  });

  it('a signed result for a never-sent (awaiting approval) order is recorded and refused, and blocks approval', async () => {
    const deps = makeDeps({ config: { controls: { ...NO_CONTROLS, approvalMinFen: 500 } } });
    const body = request({ money_order: '10' });
    await createPayout(deps, body, 'local:maker');
    const raw = notification({ no_order: body.no_order, money_order: '10.00', result_pay: 'SUCCESS' });
    const answer = await receiveNotification(deps, keys, raw);
    expect(answer.ack).toBe(false);
    const stored = (await deps.store.get(body.no_order))!;
    expect(stored).toMatchObject({ status: 'AWAITING_APPROVAL', anomalies: 1 });
    await expect(approvePayout(deps, body.no_order, 'local:checker')).rejects.toBeInstanceOf(
      InvalidStateError,
    );
    expect(deps.provider.applies).toHaveLength(0);
  });
});
