import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PayoutOrder } from '../../../src/core/model';
import { isFinal, NOT_SENT_STATUSES, PAYOUT_STATUSES, type PayoutStatus } from '../../../src/core/status';
import { type Decision, decide, type TransitionInput } from '../../../src/core/transition';
import { makeOrder } from '../../support/order-fixtures';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const GRACE_MS = 30 * 60 * 1000;
const ctx = { now: NOW, notFoundGraceMs: GRACE_MS };
const AMOUNT = 1000;
const MAKER = 'arn:aws:iam::111122223333:user/maker';
const CHECKER = 'arn:aws:iam::111122223333:user/checker';

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
  // Controls (issue 10). Every fixture order was created by MAKER.
  AP: { type: 'approve', principal: CHECKER },
  AP_self: { type: 'approve', principal: MAKER },
  DN: { type: 'deny', principal: CHECKER, reason: 'not in the plan' },
  DN_self: { type: 'deny', principal: MAKER, reason: 'changed my mind' },
  VD: { type: 'void', principal: MAKER },
  EXP: { type: 'expire' },
  EXP_early: { type: 'expire' },
  // Batches (issue 11) and funds (issue 13).
  DN_batch: { type: 'deny', principal: CHECKER, reason: 'batch denied', batch: true },
  DSP: { type: 'dispatch' },
  A_9104: { type: 'apply', source: 'apply', outcome: { kind: 'rejected', retCode: '9104' } },
  FR: { type: 'funds_resend' },
  FE: { type: 'funds_expire' },
  FE_early: { type: 'funds_expire' },
} satisfies Record<string, TransitionInput>;
type InputName = keyof typeof INPUTS;

/** The history source each input's change records. */
function sourceOf(input: TransitionInput): string {
  if ('source' in input) return input.source;
  if (input.type === 'dispatch') return 'dispatch';
  if (input.type === 'funds_resend' || input.type === 'funds_expire') return 'funds';
  return input.type === 'expire' ? 'expiry' : 'approval';
}

/** The controls inputs on a status that is not awaiting approval: every person's action is refused. */
const SENT_CONTROLS = {
  AP: 'refused:invalid_state',
  AP_self: 'refused:invalid_state',
  DN: 'refused:invalid_state',
  DN_self: 'refused:invalid_state',
  VD: 'refused:invalid_state',
  EXP: 'none',
  EXP_early: 'none',
  DN_batch: 'refused:invalid_state',
  DSP: 'none',
  FR: 'none',
  FE: 'none',
  FE_early: 'none',
} as const;

/** Never sent: whatever the provider says about it is an anomaly; apply answers cannot belong to it. */
const NEVER_SENT_PROVIDER = {
  A_ok: 'none',
  A_rej: 'anomaly',
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
  A_9104: 'anomaly',
} as const;

/**
 * Expected decision for every status × input: `none`, `anomaly`, `resend`, `refused:<code>` or the new
 * status. NF_in is an 8901 ten minutes after the apply, NF_out one an hour after. EXP comes after the
 * approval expiry, EXP_early before it (and every other input before it too).
 */
const BASE_TABLE: Record<PayoutStatus, Record<Exclude<InputName, 'A_9104'>, string>> = {
  AWAITING_APPROVAL: {
    ...NEVER_SENT_PROVIDER,
    ...SENT_CONTROLS,
    AP: 'PENDING',
    AP_self: 'refused:same_principal',
    DN: 'DENIED',
    DN_self: 'refused:same_principal',
    DN_batch: 'DENIED',
    VD: 'VOIDED',
    EXP: 'VOIDED',
    EXP_early: 'none',
  },
  // A batch item: approved or denied with its batch (DN_batch), claimed by the dispatcher, voidable.
  QUEUED: { ...NEVER_SENT_PROVIDER, ...SENT_CONTROLS, DN_batch: 'DENIED', VD: 'VOIDED', DSP: 'PENDING' },
  // Refused with 9104: nothing is at the provider; resent when funds allow, REJECTED when the wait ends.
  AWAITING_FUNDS: {
    ...NEVER_SENT_PROVIDER,
    ...SENT_CONTROLS,
    VD: 'VOIDED',
    FR: 'PENDING',
    FE: 'REJECTED',
  },
  DENIED: { ...NEVER_SENT_PROVIDER, ...SENT_CONTROLS },
  VOIDED: { ...NEVER_SENT_PROVIDER, ...SENT_CONTROLS },
  PENDING: {
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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
    ...SENT_CONTROLS,
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

/** A 9104 answer to a first apply waits for funds; anywhere else it is judged like any other refusal. */
const TABLE: Record<PayoutStatus, Record<InputName, string>> = Object.fromEntries(
  Object.entries(BASE_TABLE).map(([status, row]) => [
    status,
    { ...row, A_9104: status === 'PENDING' ? 'AWAITING_FUNDS' : row.A_rej },
  ]),
) as Record<PayoutStatus, Record<InputName, string>>;

function orderIn(status: PayoutStatus, input: InputName, overrides: Partial<PayoutOrder> = {}): PayoutOrder {
  const minutesAgo = input === 'NF_out' ? 60 : 10;
  const expiresInMinutes = input === 'EXP' ? -1 : 60;
  // FE: the funds wait (one day by default) began two days ago; otherwise ten minutes ago.
  const fundsMinutesAgo = input === 'FE' ? 2 * 24 * 60 : 10;
  return makeOrder({
    status,
    funds_since: new Date(NOW.getTime() - fundsMinutesAgo * 60_000).toISOString(),
    created_by: MAKER,
    approval_expires_at: new Date(NOW.getTime() + expiresInMinutes * 60_000).toISOString(),
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
  if (d.kind === 'refused') return `refused:${d.code}`;
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
          expect(decision.entry.source).toBe(sourceOf(INPUTS[name]));
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
      // A fixed seed: the reach counts below are about the generator, and a rare unlucky draw must not
      // turn them red (the safety assertions inside hold for every draw).
      { numRuns: 600, seed: 20261130 },
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

describe('decide: controls details', () => {
  const awaiting = (overrides: Partial<PayoutOrder> = {}) => orderIn('AWAITING_APPROVAL', 'AP', overrides);

  it('approval records the approver, a fresh dt_order and apply time, and the first check after the delay', () => {
    const d = decide(awaiting({ dt_order: '20261120120000' }), INPUTS.AP, {
      ...ctx,
      firstCheckDelayMs: 120_000,
    });
    expect(d).toMatchObject({
      kind: 'change',
      status: 'PENDING',
      set: {
        approved_by: CHECKER,
        // 2026-11-27T12:00:00Z is 20:00:00 in UTC+8.
        dt_order: '20261127200000',
        applied_at: NOW.toISOString(),
        next_check_at: new Date(NOW.getTime() + 120_000).toISOString(),
      },
      entry: { from: 'AWAITING_APPROVAL', to: 'PENDING', principal: CHECKER, source: 'approval' },
    });
  });

  it('an approval after the expiry is refused (invalid_state), even before reconciliation voids it', () => {
    const expired = awaiting({ approval_expires_at: new Date(NOW.getTime() - 1).toISOString() });
    expect(decide(expired, INPUTS.AP, ctx)).toMatchObject({ kind: 'refused', code: 'invalid_state' });
    // The expiry instant itself is expired.
    const atExpiry = awaiting({ approval_expires_at: NOW.toISOString() });
    expect(decide(atExpiry, INPUTS.AP, ctx)).toMatchObject({ kind: 'refused', code: 'invalid_state' });
    expect(summary(decide(atExpiry, INPUTS.EXP, ctx))).toBe('VOIDED');
  });

  it('deny and void record the principal and the reason; expiry records system:expiry', () => {
    expect(decide(awaiting(), INPUTS.DN, ctx)).toMatchObject({
      set: { denied_by: CHECKER },
      entry: { to: 'DENIED', principal: CHECKER, note: 'not in the plan' },
    });
    expect(decide(awaiting(), { type: 'void', principal: CHECKER, reason: 'duplicate' }, ctx)).toMatchObject({
      set: { voided_by: CHECKER },
      entry: { to: 'VOIDED', principal: CHECKER, note: 'duplicate' },
    });
    const expired = awaiting({ approval_expires_at: new Date(NOW.getTime() - 1).toISOString() });
    expect(decide(expired, INPUTS.EXP, ctx)).toMatchObject({
      set: { voided_by: 'system:expiry' },
      entry: { to: 'VOIDED', principal: 'system:expiry', source: 'expiry' },
    });
  });

  it('an order without a recorded creator (made before issue 10) can be approved by anyone', () => {
    const legacy = awaiting({ created_by: undefined });
    expect(summary(decide(legacy, INPUTS.AP_self, ctx))).toBe('PENDING');
  });
});

describe('decide: properties over input sequences', () => {
  const inputArb = fc.constantFrom(...(Object.keys(INPUTS) as InputName[]));
  const startArb = fc.record({
    status: fc.constantFrom<PayoutStatus>('PENDING', 'AWAITING_APPROVAL'),
    expired: fc.boolean(),
  });
  type Start = { status: PayoutStatus; expired: boolean };
  type Step = { from: PayoutStatus; to: PayoutStatus; input: InputName; decision: Decision };

  function steps(names: InputName[], start: Start = { status: 'PENDING', expired: false }): Step[] {
    let order = makeOrder({
      status: start.status,
      money_fen: AMOUNT,
      applied_at: NOW.toISOString(),
      created_by: MAKER,
      approval_expires_at: new Date(NOW.getTime() + (start.expired ? -1 : 1) * 60_000).toISOString(),
    });
    const out: Step[] = [];
    for (const name of names) {
      const from = order.status;
      const d = decide(order, INPUTS[name], ctx);
      if (d.kind === 'change') {
        order = {
          ...order,
          status: d.status,
          ...d.set,
          version: order.version + 1,
          history: [...order.history, d.entry],
        };
      } else if (d.kind === 'anomaly') {
        order = { ...order, ...d.set, version: order.version + 1, history: [...order.history, d.entry] };
      }
      out.push({ from, to: order.status, input: name, decision: d });
    }
    return out;
  }

  function run(names: InputName[], start?: Start): PayoutStatus[] {
    const all = steps(names, start);
    return [start?.status ?? 'PENDING', ...all.map((s) => s.to)];
  }

  it('a final status never regresses; the only move out of a final status is SUCCESS → CANCEL', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 30 }), startArb, (names, start) => {
        const statuses = run(names, start);
        for (let i = 1; i < statuses.length; i++) {
          const before = statuses[i - 1]!;
          const after = statuses[i]!;
          if (isFinal(before) && after !== before) {
            expect([before, after]).toEqual(['SUCCESS', 'CANCEL']);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('an approval by the creator never changes anything, in any state', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 20 }), startArb, (prefix, start) => {
        const before = steps(prefix, start);
        const status = before.at(-1)?.to ?? start.status;
        const last = steps([...prefix, 'AP_self'], start).at(-1)!;
        expect(last.decision.kind === 'change' || last.decision.kind === 'anomaly').toBe(false);
        expect(last.to).toBe(status);
      }),
      { numRuns: 300 },
    );
  });

  it('nothing but an approval by someone else leaves AWAITING_APPROVAL towards sending', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 30 }), startArb, (names, start) => {
        for (const step of steps(names, start)) {
          if (step.from !== 'AWAITING_APPROVAL' || step.to === 'AWAITING_APPROVAL') continue;
          if (step.to === 'DENIED' || step.to === 'VOIDED') continue;
          expect(step.input).toBe('AP');
          expect(step.to).toBe('PENDING');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('DENIED and VOIDED are only ever reached from a status in which nothing was sent', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 30 }), startArb, (names, start) => {
        for (const step of steps(names, start)) {
          if ((step.to === 'DENIED' || step.to === 'VOIDED') && step.from !== step.to) {
            expect(NOT_SENT_STATUSES.has(step.from)).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('applying the same input twice in a row never changes anything the second time', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 20 }), inputArb, startArb, (prefix, repeated, start) => {
        const once = run([...prefix, repeated], start);
        const twice = run([...prefix, repeated, repeated], start);
        expect(twice.at(-1)).toBe(once.at(-1));
      }),
      { numRuns: 300 },
    );
  });
});
