import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ControlPolicy,
  chinaDay,
  counterExpiresAt,
  countsCommits,
  DEFAULT_APPROVAL_TTL_MS,
  NO_CONTROLS,
  needsApproval,
  payoutMaxBreach,
  releaseFor,
  reservationFields,
  reservationFor,
  usesPayeeLimits,
} from '../../../src/core/controls';
import { makeOrder } from '../../support/order-fixtures';

const NOW = new Date('2026-11-27T04:00:00.000Z'); // 12:00 in China
const policy = (p: Partial<ControlPolicy>): ControlPolicy => ({ ...NO_CONTROLS, ...p });

describe('needsApproval', () => {
  it('waits at exactly the threshold and above, not below; with no threshold nothing waits', () => {
    const p = policy({ approvalMinFen: 100_000 });
    expect(needsApproval(p, 99_999)).toBe(false);
    expect(needsApproval(p, 100_000)).toBe(true);
    expect(needsApproval(p, 100_001)).toBe(true);
    expect(needsApproval(NO_CONTROLS, 10_000_000_000)).toBe(false);
  });

  it('a threshold of 0 makes every payout wait', () => {
    expect(needsApproval(policy({ approvalMinFen: 0 }), 1)).toBe(true);
  });

  it('the default approval period is 259200 seconds', () => {
    expect(NO_CONTROLS.approvalTtlMs).toBe(DEFAULT_APPROVAL_TTL_MS);
    expect(DEFAULT_APPROVAL_TTL_MS).toBe(259_200_000);
  });
});

describe('payoutMaxBreach', () => {
  it('exactly the maximum passes, one fen more is refused and names the limit', () => {
    const p = policy({ payoutMaxFen: 500_000 });
    expect(payoutMaxBreach(p, 500_000)).toBeUndefined();
    expect(payoutMaxBreach(p, 500_001)).toEqual({ limit: 'payout_max', remaining: '5000.00' });
    expect(payoutMaxBreach(NO_CONTROLS, 10_000_000_000)).toBeUndefined();
  });
});

describe('chinaDay', () => {
  it('rolls over at 16:00 UTC (midnight UTC+8)', () => {
    expect(chinaDay(new Date('2026-11-27T15:59:59.999Z'))).toBe('2026-11-27');
    expect(chinaDay(new Date('2026-11-27T16:00:00.000Z'))).toBe('2026-11-28');
    expect(chinaDay(new Date('2026-11-26T16:00:00.000Z'))).toBe('2026-11-27');
    // Year end in China comes at 16:00 UTC on 31 December.
    expect(chinaDay(new Date('2026-12-31T16:00:00.000Z'))).toBe('2027-01-01');
  });

  it('is the UTC+8 calendar date for any instant', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }),
        (d) => {
          const shifted = new Date(d.getTime() + 8 * 3_600_000);
          const expected = `${shifted.getUTCFullYear()}-${String(shifted.getUTCMonth() + 1).padStart(2, '0')}-${String(shifted.getUTCDate()).padStart(2, '0')}`;
          expect(chinaDay(d)).toBe(expected);
        },
      ),
    );
  });
});

describe('counterExpiresAt', () => {
  it('is three days after the China day ends, in epoch seconds', () => {
    // 2026-11-27 ends at 2026-11-27T16:00Z; plus 3 days.
    expect(counterExpiresAt('2026-11-27')).toBe(Date.parse('2026-11-30T16:00:00.000Z') / 1000);
  });
});

describe('reservationFor', () => {
  it('reserves nothing without a daily or per-payee limit (approval and maximum alone count nothing)', () => {
    expect(reservationFor(NO_CONTROLS, 1000, NOW)).toBeUndefined();
    expect(reservationFor(policy({ approvalMinFen: 1, payoutMaxFen: 10 }), 5, NOW)).toBeUndefined();
    expect(countsCommits(policy({ payoutMaxFen: 10 }))).toBe(false);
  });

  it('with a daily limit: the day of the commit, the amount in fen, the limit, no payee counter', () => {
    const r = reservationFor(policy({ dailyLimitFen: 1_000_000 }), 12_345, NOW);
    expect(r).toEqual({
      kind: 'reserve',
      day: '2026-11-27',
      amountFen: 12_345,
      expiresAt: counterExpiresAt('2026-11-27'),
      dailyLimitFen: 1_000_000,
    });
  });

  it('a commit at 16:00 UTC counts against the next China day', () => {
    const r = reservationFor(policy({ dailyLimitFen: 1 }), 1, new Date('2026-11-27T16:00:00.000Z'));
    expect(r?.day).toBe('2026-11-28');
  });

  it('with payee limits: the payee counter with its amount and count limits; the key is required', () => {
    const p = policy({ payeeDailyLimitFen: 50_000, payeeDailyLimitCount: 3 });
    expect(usesPayeeLimits(p)).toBe(true);
    expect(reservationFor(p, 100, NOW, 'payee-key')).toEqual({
      kind: 'reserve',
      day: '2026-11-27',
      amountFen: 100,
      expiresAt: counterExpiresAt('2026-11-27'),
      payee: { key: 'payee-key', limitFen: 50_000, limitCount: 3 },
    });
    expect(() => reservationFor(p, 100, NOW)).toThrow(/payee key/);
    expect(reservationFor(policy({ payeeDailyLimitCount: 2 }), 1, NOW, 'k')?.payee).toEqual({
      key: 'k',
      limitCount: 2,
    });
  });

  it('the order records what it reserved', () => {
    const r = reservationFor(policy({ dailyLimitFen: 10, payeeDailyLimitFen: 5 }), 1, NOW, 'k')!;
    expect(reservationFields(r)).toEqual({ limit_day: '2026-11-27', payee_key: 'k', limit_held: true });
    const daily = reservationFor(policy({ dailyLimitFen: 10 }), 1, NOW)!;
    expect(reservationFields(daily)).toEqual({ limit_day: '2026-11-27', limit_held: true });
  });
});

describe('releaseFor', () => {
  const held = makeOrder({ status: 'UNKNOWN', money_fen: 777, limit_day: '2026-11-27', limit_held: true });

  it('REJECTED and FAILURE release the amount (and the payee counter when one was reserved)', () => {
    for (const to of ['REJECTED', 'FAILURE'] as const) {
      expect(releaseFor(held, to, NOW)).toEqual({
        kind: 'release',
        day: '2026-11-27',
        amountFen: 777,
        expiresAt: counterExpiresAt('2026-11-27'),
      });
    }
    expect(releaseFor({ ...held, payee_key: 'k' }, 'FAILURE', NOW)?.payee).toEqual({ key: 'k' });
  });

  it('nothing for other targets: SUCCESS, CANCEL (the money left that day), non-final moves', () => {
    for (const to of ['SUCCESS', 'CANCEL', 'WAITING', 'PROCESSING', 'ACCEPTED', 'UNKNOWN'] as const) {
      expect(releaseFor(held, to, NOW)).toBeUndefined();
    }
  });

  it('nothing when no reservation is held (never reserved, or already released), or the status does not change', () => {
    expect(releaseFor({ ...held, limit_held: false }, 'FAILURE', NOW)).toBeUndefined();
    expect(
      releaseFor({ ...held, limit_held: undefined, limit_day: undefined }, 'FAILURE', NOW),
    ).toBeUndefined();
    expect(releaseFor({ ...held, status: 'FAILURE' }, 'FAILURE', NOW)).toBeUndefined();
  });

  it('nothing for a China day that is already over (its budget is history)', () => {
    expect(releaseFor(held, 'FAILURE', new Date('2026-11-27T16:00:00.000Z'))).toBeUndefined();
    expect(releaseFor(held, 'FAILURE', new Date('2026-11-27T15:59:59.000Z'))).toBeDefined();
  });
});
