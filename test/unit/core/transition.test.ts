import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PayoutOrder } from '../../../src/core/model';
import { isFinal, PAYOUT_STATUSES, type PayoutStatus } from '../../../src/core/status';
import { type Decision, decide, type TransitionInput } from '../../../src/core/transition';
import { makeOrder } from '../../support/order-fixtures';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const GRACE_MS = 30 * 60 * 1000;
const ctx = { now: NOW, notFoundGraceMs: GRACE_MS };
const AMOUNT = 1000;

const result = (resultPay: string, moneyFen = AMOUNT): Extract<TransitionInput, { type: 'result' }> => ({
  type: 'result',
  source: 'notify',
  resultPay,
  moneyFen,
  oidPaybill: '2026112700001',
  settleDate: '20261127',
});

/** Every input the transition function can be fed, by a short name used in the table below. */
const INPUTS = {
  A_ok: { type: 'apply', source: 'apply', outcome: { kind: 'accepted', retCode: '0000', oidPaybill: '1' } },
  A_rej: { type: 'apply', source: 'apply', outcome: { kind: 'rejected', retCode: '5503' } },
  A_unk: { type: 'apply', source: 'apply', outcome: { kind: 'unknown', reason: 'timeout' } },
  R_W: result('WAITING'),
  R_P: result('PROCESSING'),
  R_S: result('SUCCESS'),
  R_F: result('FAILURE'),
  R_C: result('CANCEL'),
  R_X: result('REFUNDING'),
  R_amt: result('SUCCESS', AMOUNT + 1),
  R_dt: { ...result('SUCCESS'), dtOrder: '20261127120001' },
  NF_in: { type: 'not_found', source: 'reconcile' },
  NF_out: { type: 'not_found', source: 'reconcile' },
} satisfies Record<string, TransitionInput>;
type InputName = keyof typeof INPUTS;

/**
 * Expected decision for every status × input: `none`, `anomaly`, `resend` or the new status.
 * NF_in is an 8901 ten minutes after the apply, NF_out one an hour after.
 */
const TABLE: Record<PayoutStatus, Record<InputName, string>> = {
  PENDING: {
    A_ok: 'ACCEPTED',
    A_rej: 'REJECTED',
    A_unk: 'UNKNOWN',
    R_W: 'WAITING',
    R_P: 'PROCESSING',
    R_S: 'SUCCESS',
    R_F: 'FAILURE',
    R_C: 'CANCEL',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'resend',
  },
  ACCEPTED: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'WAITING',
    R_P: 'PROCESSING',
    R_S: 'SUCCESS',
    R_F: 'FAILURE',
    R_C: 'CANCEL',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'anomaly',
  },
  UNKNOWN: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'WAITING',
    R_P: 'PROCESSING',
    R_S: 'SUCCESS',
    R_F: 'FAILURE',
    R_C: 'CANCEL',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'REJECTED',
  },
  WAITING: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'none',
    R_P: 'PROCESSING',
    R_S: 'SUCCESS',
    R_F: 'FAILURE',
    R_C: 'CANCEL',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'anomaly',
  },
  PROCESSING: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'none',
    R_P: 'none',
    R_S: 'SUCCESS',
    R_F: 'FAILURE',
    R_C: 'CANCEL',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'anomaly',
  },
  SUCCESS: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'none',
    R_P: 'none',
    R_S: 'none',
    R_F: 'anomaly',
    R_C: 'CANCEL',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'none',
  },
  FAILURE: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'none',
    R_P: 'none',
    R_S: 'anomaly',
    R_F: 'none',
    R_C: 'anomaly',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'none',
  },
  CANCEL: {
    A_ok: 'none',
    A_rej: 'anomaly',
    A_unk: 'none',
    R_W: 'none',
    R_P: 'none',
    R_S: 'none',
    R_F: 'anomaly',
    R_C: 'none',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'none',
  },
  REJECTED: {
    A_ok: 'none',
    A_rej: 'none',
    A_unk: 'none',
    R_W: 'anomaly',
    R_P: 'anomaly',
    R_S: 'anomaly',
    R_F: 'anomaly',
    R_C: 'anomaly',
    R_X: 'anomaly',
    R_amt: 'anomaly',
    R_dt: 'anomaly',
    NF_in: 'none',
    NF_out: 'none',
  },
};

function orderIn(status: PayoutStatus, input: InputName, overrides: Partial<PayoutOrder> = {}): PayoutOrder {
  const minutesAgo = input === 'NF_out' ? 60 : 10;
  return makeOrder({
    status,
    money_fen: AMOUNT,
    money_order: '10.00',
    applied_at: new Date(NOW.getTime() - minutesAgo * 60_000).toISOString(),
    // What the provider already told us: a repeat of the same result then carries nothing new.
    oid_paybill: '2026112700001',
    settle_date: '20261127',
    ...overrides,
  });
}

function summary(d: Decision): string {
  return d.kind === 'change' ? d.status : d.kind;
}

describe('decide: every status × every input', () => {
  for (const status of PAYOUT_STATUSES) {
    for (const name of Object.keys(INPUTS) as InputName[]) {
      const expected = TABLE[status][name];
      it(`${status} + ${name} → ${expected}`, () => {
        const order = orderIn(status, name);
        const decision = decide(order, INPUTS[name], ctx);
        expect(summary(decision)).toBe(expected);
        if (decision.kind === 'change') {
          expect(decision.entry).toMatchObject({ from: status, to: expected, at: NOW.toISOString() });
          expect(decision.entry.source).toBe(INPUTS[name].source);
        }
        if (decision.kind === 'anomaly') {
          expect(decision.entry.from).toBe(status);
          expect(decision.entry.to).toBe(status);
          expect(decision.entry.anomaly).toBeTruthy();
          expect(decision.set.anomalies).toBe(order.anomalies + 1);
        }
      });
    }
  }
});

describe('decide: details', () => {
  it('never concludes FAILURE or REJECTED from an unknown apply outcome, whatever the reason', () => {
    for (const reason of [
      'timeout',
      'network',
      'http_status',
      'unparsable',
      'bad_signature',
      'code',
    ] as const) {
      for (const retCode of [undefined, '9999', '1002', '2005', '7777']) {
        const d = decide(
          makeOrder({ status: 'PENDING' }),
          { type: 'apply', source: 'apply', outcome: { kind: 'unknown', reason, retCode } },
          ctx,
        );
        expect(summary(d)).toBe('UNKNOWN');
      }
    }
  });

  it('8901 after the grace period is an anomaly, not a rejection, when the provider said it had the order', () => {
    for (const retCode of ['1002', '2005']) {
      const d = decide(orderIn('UNKNOWN', 'NF_out', { ret_code: retCode }), INPUTS.NF_out, ctx);
      expect(summary(d)).toBe('anomaly');
    }
  });

  it('the grace period counts from the last apply and is configurable', () => {
    const order = orderIn('UNKNOWN', 'NF_in'); // applied 10 minutes ago
    expect(summary(decide(order, INPUTS.NF_in, { now: NOW, notFoundGraceMs: 11 * 60_000 }))).toBe('none');
    expect(summary(decide(order, INPUTS.NF_in, { now: NOW, notFoundGraceMs: 9 * 60_000 }))).toBe('REJECTED');
  });

  it('records the provider fields of a result', () => {
    const d = decide(orderIn('ACCEPTED', 'R_S'), { ...result('SUCCESS'), retCode: '0000' }, ctx);
    expect(d).toMatchObject({
      kind: 'change',
      status: 'SUCCESS',
      set: { result_pay: 'SUCCESS', oid_paybill: '2026112700001', settle_date: '20261127', ret_code: '0000' },
    });
  });

  it('records provider details a repeat adds (memo from a query after a notification) without a new status', () => {
    const order = orderIn('FAILURE', 'R_F');
    const d = decide(order, { ...result('FAILURE'), source: 'query', memo: '户名与卡号不符' }, ctx);
    expect(d).toMatchObject({ kind: 'change', status: 'FAILURE', set: { memo: '户名与卡号不符' } });
    if (d.kind === 'change') expect(Object.keys(d.set)).toEqual(['memo']);
    // Once recorded, the same answer is a no-op again.
    expect(
      decide({ ...order, memo: '户名与卡号不符' }, { ...result('FAILURE'), memo: 'other' }, ctx).kind,
    ).toBe('none');
  });

  it('with the returns watch on, a SUCCESS names its next check; off (the default), it does not', () => {
    const watchMs = 3 * 24 * 60 * 60_000;
    const on = decide(orderIn('PROCESSING', 'R_S'), INPUTS.R_S, { ...ctx, returnWatchMs: watchMs });
    expect(on).toMatchObject({
      kind: 'change',
      status: 'SUCCESS',
      set: { next_check_at: new Date(NOW.getTime() + watchMs).toISOString() },
    });
    const off = decide(orderIn('PROCESSING', 'R_S'), INPUTS.R_S, ctx);
    expect(off.kind === 'change' && 'next_check_at' in off.set).toBe(false);
    // No other outcome is watched.
    const failure = decide(orderIn('PROCESSING', 'R_F'), INPUTS.R_F, { ...ctx, returnWatchMs: watchMs });
    expect(failure.kind === 'change' && 'next_check_at' in failure.set).toBe(false);
  });

  it('details added to a watched SUCCESS do not take it off the due index', () => {
    const watched = orderIn('SUCCESS', 'R_S', { memo: undefined, next_check_at: '2026-11-30T12:00:00.000Z' });
    const d = decide(watched, { ...result('SUCCESS'), memo: '已到账' }, ctx);
    expect(d).toMatchObject({ kind: 'change', set: { memo: '已到账' } });
    // The store keeps every index attribute unless the change says it leaves (see the store contract).
    expect(d.kind === 'change' && d.leaveDueIndex).toBeFalsy();
  });

  it('a transition into a final status leaves the due index explicitly, unless the returns watch names a check time', () => {
    for (const [status, name] of [
      ['PROCESSING', 'R_S'],
      ['PROCESSING', 'R_F'],
      ['SUCCESS', 'R_C'],
      ['UNKNOWN', 'NF_out'],
    ] as const) {
      const d = decide(orderIn(status, name), INPUTS[name], ctx);
      expect(d).toMatchObject({ kind: 'change', leaveDueIndex: true });
    }
    const watched = decide(orderIn('PROCESSING', 'R_S'), INPUTS.R_S, { ...ctx, returnWatchMs: 60_000 });
    expect(watched.kind === 'change' && watched.leaveDueIndex).toBeFalsy();
    // Open statuses stay in the index.
    const open = decide(orderIn('ACCEPTED', 'R_W'), INPUTS.R_W, ctx);
    expect(open.kind === 'change' && open.leaveDueIndex).toBeFalsy();
  });

  it('records the same anomaly only once (valid duplicates have no second effect)', () => {
    const order = orderIn('SUCCESS', 'R_F');
    const first = decide(order, INPUTS.R_F, ctx);
    expect(first.kind).toBe('anomaly');
    if (first.kind !== 'anomaly') return;
    const after = { ...order, anomalies: 1, history: [first.entry] };
    expect(decide(after, INPUTS.R_F, ctx).kind).toBe('none');
    // A different contradiction is still recorded.
    expect(decide(after, INPUTS.R_amt, ctx).kind).toBe('anomaly');
  });

  it('apply outcomes carry their codes into the order', () => {
    const d = decide(
      makeOrder({ status: 'PENDING' }),
      {
        type: 'apply',
        source: 'apply',
        outcome: { kind: 'rejected', retCode: '5502', retMsg: 'credit card' },
      },
      ctx,
    );
    expect(d).toMatchObject({
      kind: 'change',
      status: 'REJECTED',
      set: { ret_code: '5502', ret_msg: 'credit card' },
    });
  });
});

describe('decide: a refused resend and an unreadable applied_at', () => {
  it('a conclusive refusal of a RESEND is never final: UNKNOWN, the code kept, an alarm raised', () => {
    for (const retCode of ['9104', '9912', '9913', '5503', '1001']) {
      const d = decide(
        makeOrder({ status: 'PENDING', apply_attempts: 2 }),
        { type: 'apply', source: 'reconcile', outcome: { kind: 'rejected', retCode } },
        ctx,
      );
      expect(d).toMatchObject({ kind: 'change', status: 'UNKNOWN', set: { ret_code: retCode } });
      expect(d.kind === 'change' && d.alarm).toBe('resend_refused');
      expect(d.kind === 'change' && d.leaveDueIndex).toBeFalsy();
    }
    // The FIRST apply refused conclusively is still REJECTED: nothing else can be paying.
    const first = decide(makeOrder({ status: 'PENDING' }), INPUTS.A_rej, ctx);
    expect(summary(first)).toBe('REJECTED');
  });

  it('an UNKNOWN from a refused resend is not "the provider has it", and 1002/2005 is not a refused resend', () => {
    const late = new Date(NOW.getTime() - GRACE_MS - 60_000).toISOString();
    const refused = orderIn('UNKNOWN', 'NF_out', { apply_attempts: 2, ret_code: '9912', applied_at: late });
    expect(summary(decide(refused, INPUTS.NF_out, ctx))).toBe('REJECTED');
    const inside = { ...refused, applied_at: new Date(NOW.getTime() - 60_000).toISOString() };
    expect(summary(decide(inside, INPUTS.NF_out, ctx))).toBe('none');
    for (const retCode of ['1002', '2005']) {
      const has = orderIn('UNKNOWN', 'NF_out', { apply_attempts: 2, ret_code: retCode, applied_at: late });
      expect(summary(decide(has, INPUTS.NF_out, ctx))).toBe('anomaly');
    }
  });

  it.each(['garbage', '', '2026-02-30T00:00:00.000Z', '2026-11-27T04:00:00', '2026-11-27T04:00:00+08:00'])(
    'applied_at %j counts as inside the grace for every open status, with an alarm',
    (appliedAt) => {
      for (const status of ['PENDING', 'ACCEPTED', 'UNKNOWN', 'WAITING', 'PROCESSING'] as const) {
        const d = decide(orderIn(status, 'NF_out', { applied_at: appliedAt }), INPUTS.NF_out, ctx);
        expect(d).toMatchObject({ kind: 'none', alarm: 'applied_at_unreadable' });
      }
    },
  );

  it('PENDING + 8901: nothing until the grace has passed since the apply, then resend', () => {
    const at = (msAgo: number) => makeOrder({ applied_at: new Date(NOW.getTime() - msAgo).toISOString() });
    expect(summary(decide(at(GRACE_MS - 1), INPUTS.NF_out, ctx))).toBe('none');
    expect(summary(decide(at(GRACE_MS), INPUTS.NF_out, ctx))).toBe('resend');
    // An apply "in the future" (clock skew) is inside the grace too.
    expect(summary(decide(at(-60_000), INPUTS.NF_out, ctx))).toBe('none');
  });
});

describe('decide: properties over timed input sequences', () => {
  /** Inputs for the sequences: the two 8901 inputs of the table are one input here; time decides. */
  const NAMES = [
    'A_ok',
    'A_rej',
    'A_unk',
    'R_W',
    'R_P',
    'R_S',
    'R_F',
    'R_C',
    'R_X',
    'R_amt',
    'R_dt',
    'NF',
  ] as const;
  type Name = (typeof NAMES)[number];
  const input = (name: Name): TransitionInput => (name === 'NF' ? INPUTS.NF_out : INPUTS[name]);
  /** One step: an input, after some time (up to 45 min, so 8901 lands on both sides of the 30 min grace). */
  const stepArb = fc.record({
    name: fc.constantFrom(...NAMES),
    afterMs: fc.integer({ min: 0, max: 45 * 60_000 }),
  });
  type Step = { name: Name; afterMs: number };

  interface Observed {
    readonly before: PayoutOrder;
    readonly after: PayoutOrder;
    readonly name: Name;
    readonly decision: Decision;
    readonly now: Date;
  }

  /**
   * Runs the steps from a PENDING order applied `startAgoMs` before the first step, applying decisions as
   * the stores would and simulating the resend claim (a new apply time and attempt, as resendPending does).
   */
  function run(steps: readonly Step[], startAgoMs: number): Observed[] {
    let now = NOW.getTime();
    let order = makeOrder({
      status: 'PENDING',
      money_fen: AMOUNT,
      applied_at: new Date(now - startAgoMs).toISOString(),
    });
    const seen: Observed[] = [];
    for (const { name, afterMs } of steps) {
      now += afterMs;
      const at = new Date(now);
      const before = order;
      const decision = decide(order, input(name), { now: at, notFoundGraceMs: GRACE_MS });
      if (decision.kind === 'change' || decision.kind === 'anomaly') {
        order = {
          ...order,
          ...(decision.kind === 'change' ? { status: decision.status } : {}),
          ...decision.set,
          version: order.version + 1,
          history: [...order.history, decision.entry],
        };
      } else if (decision.kind === 'resend') {
        order = { ...order, apply_attempts: order.apply_attempts + 1, applied_at: at.toISOString() };
      }
      seen.push({ before, after: order, name, decision, now: at });
    }
    return seen;
  }

  const sequences = fc.tuple(fc.array(stepArb, { maxLength: 25 }), fc.integer({ min: 0, max: 60 * 60_000 }));
  const reached = { resend: 0, rejectedAfterGrace: 0, resendRefused: 0, insideGrace: 0 };

  it('final never regresses; REJECTED only from the first apply or UNKNOWN (not 1002/2005) after the grace; a refused resend is never final', () => {
    fc.assert(
      fc.property(sequences, ([steps, startAgoMs]) => {
        for (const { before, after, name, decision, now } of run(steps, startAgoMs)) {
          const age = now.getTime() - Date.parse(before.applied_at);
          if (isFinal(before.status) && after.status !== before.status) {
            expect([before.status, after.status]).toEqual(['SUCCESS', 'CANCEL']);
          }
          if (after.status === 'REJECTED' && before.status !== 'REJECTED') {
            if (name === 'NF') {
              expect(before.status).toBe('UNKNOWN');
              expect(['1002', '2005']).not.toContain(before.ret_code);
              expect(age).toBeGreaterThanOrEqual(GRACE_MS);
              reached.rejectedAfterGrace++;
            } else {
              expect([name, before.status, before.apply_attempts]).toEqual(['A_rej', 'PENDING', 1]);
            }
          }
          if (name === 'NF' && before.status === 'PENDING') {
            // 8901 never closes a PENDING order; it resends only once the grace is over.
            expect(isFinal(after.status)).toBe(false);
            expect(decision.kind).toBe(age >= GRACE_MS ? 'resend' : 'none');
            if (decision.kind === 'resend') reached.resend++;
            else reached.insideGrace++;
          }
          if (name === 'A_rej' && before.status === 'PENDING' && before.apply_attempts > 1) {
            expect(after.status).toBe('UNKNOWN');
            reached.resendRefused++;
          }
          if (name === 'NF' && !isFinal(before.status) && age < GRACE_MS) {
            expect(after).toEqual(before);
          }
        }
      }),
      { numRuns: 600 },
    );
    // The generated times do reach both sides of the grace and every path above.
    expect(reached.resend).toBeGreaterThan(0);
    expect(reached.insideGrace).toBeGreaterThan(0);
    expect(reached.rejectedAfterGrace).toBeGreaterThan(0);
    expect(reached.resendRefused).toBeGreaterThan(0);
  });

  it('the same input repeated at the same time: the status settles at once, and a third time does nothing', () => {
    fc.assert(
      fc.property(sequences, fc.constantFrom(...NAMES), ([steps, startAgoMs], repeated) => {
        const again = { name: repeated, afterMs: 0 };
        const once = run([...steps, again], startAgoMs);
        const thrice = run([...steps, again, again, again], startAgoMs);
        expect(thrice.at(-1)!.after.status).toBe(once.at(-1)!.after.status);
        // Valid duplicates have no further effect (an anomaly is recorded once; a resend is not repeated
        // inside the new grace it starts).
        expect(thrice.at(-1)!.decision.kind).toBe('none');
      }),
      { numRuns: 300 },
    );
  });
});
