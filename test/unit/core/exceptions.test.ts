import { describe, expect, it } from 'vitest';
import { anomalyQueueEffect } from '../../../src/adapters/dynamodb/order-store';
import { ValidationError } from '../../../src/core/errors';
import {
  acknowledgeAnomalies,
  classifyOpen,
  inStatusSince,
  parseAckBody,
  parseExceptionsLimit,
} from '../../../src/core/exceptions';
import { decide } from '../../../src/core/transition';
import { toView } from '../../../src/core/view';
import { makeDeps } from '../../support/fakes';
import { MemoryOrderStore } from '../../support/memory-order-store';
import { makeOrder } from '../../support/order-fixtures';

const NOW = new Date('2026-11-30T04:00:00.000Z');
const RULES = { now: NOW, stuckAfterMs: 24 * 3_600_000, unknownAfterMs: 3_600_000, stuckChecks: 48 };

describe('classifyOpen', () => {
  it('UNKNOWN for more than an hour since it became UNKNOWN (not since creation)', () => {
    const since = (at: string) =>
      makeOrder({ status: 'UNKNOWN', history: [{ at, source: 'apply', from: 'PENDING', to: 'UNKNOWN' }] });
    expect(classifyOpen(since('2026-11-30T02:59:00.000Z'), RULES)).toBe('unknown');
    expect(classifyOpen(since('2026-11-30T03:30:00.000Z'), RULES)).toBeUndefined();
    // Bookkeeping entries in UNKNOWN (from = to) do not restart the clock.
    const kept = makeOrder({
      status: 'UNKNOWN',
      history: [
        { at: '2026-11-30T01:00:00.000Z', source: 'apply', from: 'PENDING', to: 'UNKNOWN' },
        { at: '2026-11-30T03:59:00.000Z', source: 'reconcile', from: 'UNKNOWN', to: 'UNKNOWN', anomaly: 'x' },
      ],
    });
    expect(inStatusSince(kept)).toBe('2026-11-30T01:00:00.000Z');
  });

  it('open at the provider for longer than the stuck age, or queried many times', () => {
    const old = makeOrder({ status: 'PROCESSING', created_at: '2026-11-29T03:00:00.000Z' });
    const young = makeOrder({ status: 'ACCEPTED', created_at: '2026-11-30T03:00:00.000Z' });
    const busy = makeOrder({ status: 'WAITING', created_at: '2026-11-30T03:00:00.000Z', check_count: 48 });
    expect(classifyOpen(old, RULES)).toBe('stuck');
    expect(classifyOpen(young, RULES)).toBeUndefined();
    expect(classifyOpen(busy, RULES)).toBe('stuck');
    // Waiting on a person or on funds is its own group, never "stuck".
    expect(classifyOpen({ ...old, status: 'AWAITING_FUNDS' }, RULES)).toBeUndefined();
    expect(classifyOpen({ ...old, status: 'SUCCESS' }, RULES)).toBeUndefined();
  });
});

describe('parameters', () => {
  it('the ack note is required, trimmed and bounded, named when wrong', () => {
    expect(parseAckBody({ note: '  checked  ' })).toBe('checked');
    for (const body of [
      {},
      { note: '' },
      { note: '   ' },
      { note: 3 },
      null,
      [],
      { note: 'x'.repeat(501) },
    ]) {
      try {
        parseAckBody(body);
        throw new Error('accepted');
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).fields.map((f) => f.field)).toEqual(['note']);
      }
    }
  });

  it('GET /exceptions takes only limit', () => {
    expect(parseExceptionsLimit({})).toBe(20);
    expect(parseExceptionsLimit({ limit: '5' })).toBe(5);
    expect(() => parseExceptionsLimit({ limit: '500' })).toThrow(ValidationError);
    expect(() => parseExceptionsLimit({ status: 'x' })).toThrow(ValidationError);
  });
});

describe('ack_anomalies in the transition function', () => {
  const ctx = { now: NOW, notFoundGraceMs: 30 * 60_000 };

  it('is a change with the same status, naming the principal and the note', () => {
    const order = makeOrder({
      status: 'SUCCESS',
      anomalies: 2,
      anomalies_acknowledged: 1,
      next_check_at: undefined,
    });
    const decision = decide(order, { type: 'ack_anomalies', principal: 'local:olga', note: 'seen' }, ctx);
    expect(decision).toMatchObject({
      kind: 'change',
      status: 'SUCCESS',
      set: { anomalies_acknowledged: 2 },
      entry: { source: 'operator', from: 'SUCCESS', to: 'SUCCESS', principal: 'local:olga', note: 'seen' },
    });
    // Never moves the order in or out of the due index, never marks a late day.
    expect(decision).not.toHaveProperty('leaveDueIndex');
    expect(decision.kind === 'change' && decision.set.late_day).toBeFalsy();
  });

  it('is refused (invalid_state) when nothing is left to acknowledge', () => {
    for (const order of [
      makeOrder({ anomalies: 0 }),
      makeOrder({ anomalies: 1, anomalies_acknowledged: 1 }),
    ]) {
      expect(decide(order, { type: 'ack_anomalies', principal: 'p', note: 'n' }, ctx)).toMatchObject({
        kind: 'refused',
        code: 'invalid_state',
      });
    }
  });

  it('an acknowledged anomaly on a never-sent payout still blocks its approval', () => {
    const order = makeOrder({
      status: 'AWAITING_APPROVAL',
      anomalies: 1,
      anomalies_acknowledged: 1,
      created_by: 'a',
    });
    expect(decide(order, { type: 'approve', principal: 'b' }, ctx)).toMatchObject({ kind: 'refused' });
  });
});

describe('acknowledgeAnomalies', () => {
  it('writes the acknowledgement conditionally and shows the counts in the view', async () => {
    const store = new MemoryOrderStore();
    const deps = makeDeps({ store, now: NOW });
    const order = makeOrder({ status: 'PROCESSING', anomalies: 1 });
    await store.create(order);
    const view = await acknowledgeAnomalies(deps, order.no_order, 'local:olga', 'amount checked');
    expect(view).toMatchObject({ status: 'PROCESSING', anomalies: 1, anomalies_acknowledged: 1 });
    expect(view.history.at(-1)).toMatchObject({ principal: 'local:olga', note: 'amount checked' });
    expect(toView((await store.get(order.no_order))!)).toEqual(view);
    await expect(acknowledgeAnomalies(deps, order.no_order, 'local:olga', 'again')).rejects.toMatchObject({
      code: 'invalid_state',
    });
    await expect(acknowledgeAnomalies(deps, 'NOSUCH', 'local:olga', 'x')).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});

describe('the anomalies queue in the store (anomalyQueueEffect)', () => {
  const at = '2026-11-30T04:00:00.000Z';
  it('joins with the write that records an anomaly, leaves with the acknowledgement, else keeps', () => {
    const entry = { at, source: 'notify' as const, from: 'SUCCESS' as const, to: 'SUCCESS' as const };
    expect(
      anomalyQueueEffect({
        status: 'SUCCESS',
        set: { anomalies: 1 },
        history: { ...entry, anomaly: 'x' },
        at,
      }),
    ).toBe('join');
    expect(
      anomalyQueueEffect({ status: 'SUCCESS', set: { anomalies_acknowledged: 1 }, history: entry, at }),
    ).toBe('leave');
    expect(anomalyQueueEffect({ status: 'SUCCESS', set: { memo: 'm' }, history: entry, at })).toBe('keep');
    expect(anomalyQueueEffect({ status: 'PROCESSING', set: { check_count: 3 }, at })).toBe('keep');
  });
});
