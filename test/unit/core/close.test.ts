import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildStatement,
  type CloseDeps,
  closeDay,
  DAY_CLOSED_DETAIL_TYPE,
  type DayStatement,
  parseCloseDate,
  previousDay,
  statementCsv,
  yesterday,
} from '../../../src/core/close';
import { ValidationError } from '../../../src/core/errors';
import type { PayoutEvent, PayoutEventSink } from '../../../src/core/events';
import {
  AFTER_D,
  DAY,
  DAY_BEFORE,
  MemoryCloseReader,
  MemoryReportStore,
  seedCloseScenario,
} from '../../support/close-fixtures';
import { MemoryOrderStore } from '../../support/memory-order-store';

class RecordingSink implements PayoutEventSink {
  readonly published: PayoutEvent[] = [];
  failing = false;
  async publish(events: readonly PayoutEvent[]) {
    if (this.failing) return { failed: events.map((_, i) => i) };
    this.published.push(...events);
    return { failed: [] };
  }
}

async function setup(now = AFTER_D) {
  const store = new MemoryOrderStore();
  const ids = await seedCloseScenario(store);
  const reader = new MemoryCloseReader(store);
  const reports = new MemoryReportStore();
  const events = new RecordingSink();
  let clock = new Date(now);
  const deps: CloseDeps = { reader, reports, events, clock: { now: () => clock } };
  return { store, ids, reader, reports, events, deps, setNow: (at: string) => (clock = new Date(at)) };
}

/** The figures of a statement: everything but when it was made and what it replaces. */
function figures(s: DayStatement) {
  const { generated_at: _g, supersedes: _s, ...rest } = s;
  return rest;
}

describe('the daily close statement', () => {
  it('counts payouts created on D by status, and a return of an earlier day only under returns', async () => {
    const { deps, ids } = await setup();
    const { statement: s } = await closeDay(deps, DAY);

    expect(s.date).toBe(DAY);
    expect(s.from).toBe('2026-11-26T16:00:00.000Z');
    expect(s.to).toBe('2026-11-27T16:00:00.000Z');
    // paid 12.34 SUCCESS, anomalous 1.00 SUCCESS, failed 5.00, open 3.00 ACCEPTED; not the D-1 orders.
    expect(s.created.by_status).toEqual({
      ACCEPTED: { count: 1, amount: '3.00' },
      SUCCESS: { count: 2, amount: '13.34' },
      FAILURE: { count: 1, amount: '5.00' },
    });
    expect(s.created).toMatchObject({ count: 4, amount: '21.34' });

    // Created D-1, SUCCESS D-1, CANCEL on D: in D's returns, in no created count of D.
    expect(s.returns).toEqual({
      count: 1,
      amount: '20.00',
      items: [
        {
          no_order: ids.returned,
          created_at: '2026-11-26T04:00:00.000Z',
          money_order: '20.00',
          returned_at: '2026-11-27T06:00:00.000Z',
        },
      ],
    });
    expect(s.late_results).toEqual({
      count: 1,
      amount: '7.00',
      by_status: { SUCCESS: { count: 1, amount: '7.00' } },
      items: [
        {
          no_order: ids.lateSuccess,
          status: 'SUCCESS',
          created_at: '2026-11-26T04:00:00.000Z',
          money_order: '7.00',
          at: '2026-11-27T01:00:00.000Z',
        },
      ],
    });
  });

  it('lists open payouts created up to D with their age at the end of D, not tomorrow’s', async () => {
    const { deps, ids } = await setup();
    const { statement: s } = await closeDay(deps, DAY);
    expect(s.open.items).toEqual([
      {
        no_order: ids.open,
        status: 'ACCEPTED',
        created_at: '2026-11-27T04:00:00.000Z',
        age_hours: 12,
        money_order: '3.00',
      },
    ]);
    expect(s.open).toMatchObject({ count: 1, amount: '3.00' });
    expect(JSON.stringify(s)).not.toContain(ids.tomorrow);
  });

  it('lists anomalies with the last one recorded', async () => {
    const { deps, ids } = await setup();
    const { statement: s } = await closeDay(deps, DAY);
    expect(s.anomalies.count).toBe(1);
    expect(s.anomalies.items[0]).toMatchObject({ no_order: ids.anomalous, status: 'SUCCESS', anomalies: 1 });
    expect(s.anomalies.items[0]?.last_anomaly).toMatch(/FAILURE/);
  });

  it('states the unexplained movement as end − start − (returned − paid out)', async () => {
    const { deps, reader } = await setup();
    reader.readings.set(DAY_BEFORE, {
      first_fen: 500_000,
      first_at: '2026-11-25T17:00:00.000Z',
      last_fen: 100_000,
      last_at: '2026-11-26T15:55:00.000Z',
    });
    reader.readings.set(DAY, {
      first_fen: 99_000,
      first_at: '2026-11-26T17:00:00.000Z',
      last_fen: 150_000,
      last_at: '2026-11-27T15:55:00.000Z',
    });
    const { statement: s } = await closeDay(deps, DAY);
    // Paid on D: 12.34 + 1.00 (created D) + 7.00 (late) = 20.34; returned on D: 20.00.
    expect(s.balance.paid_out).toEqual({ count: 3, amount: '20.34' });
    expect(s.balance.returned).toEqual({ count: 1, amount: '20.00' });
    expect(s.balance.explained).toBe('-0.34');
    expect(s.balance.start).toEqual({
      amount: '1000.00',
      at: '2026-11-26T15:55:00.000Z',
      source: 'previous_day_last',
    });
    expect(s.balance.end).toEqual({ amount: '1500.00', at: '2026-11-27T15:55:00.000Z', source: 'day_last' });
    // 1500.00 − 1000.00 − (−0.34) = 500.34 (a top-up, say)
    expect(s.balance.unexplained).toBe('500.34');
  });

  it('takes the first reading of D as the start when D-1 has none, and says unknown without readings', async () => {
    const { deps, reader } = await setup();
    const none = await closeDay(deps, DAY);
    expect(none.statement.balance.start).toBe('unknown');
    expect(none.statement.balance.end).toBe('unknown');
    expect(none.statement.balance.unexplained).toBe('unknown');
    expect(statementCsv(none.statement)).toContain('balance,,unexplained,,unknown');

    reader.readings.set(DAY, {
      first_fen: 100_000,
      first_at: '2026-11-26T17:00:00.000Z',
      last_fen: 99_000,
      last_at: '2026-11-27T15:55:00.000Z',
    });
    const { statement: s } = await closeDay(deps, DAY);
    expect(s.balance.start).toMatchObject({ amount: '1000.00', source: 'day_first' });
    // 990.00 − 1000.00 − (−0.34) = −9.66
    expect(s.balance.unexplained).toBe('-9.66');
  });

  it('writes JSON and CSV, announces Day Closed, and a re-run keeps the figures and names what it supersedes', async () => {
    const { deps, reports, events, setNow } = await setup();
    const first = await closeDay(deps, DAY);
    expect(first.keys).toEqual({ json: `close/${DAY}.json`, csv: `close/${DAY}.csv` });
    expect(first.statement.supersedes).toBeNull();
    expect(JSON.parse((await reports.get(first.keys.json))!)).toEqual(first.statement);
    expect(reports.versions.get(first.keys.csv)?.[0]?.contentType).toMatch(/^text\/csv/);

    setNow('2026-11-28T02:00:00.000Z');
    const second = await closeDay(deps, DAY);
    expect(figures(second.statement)).toEqual(figures(first.statement));
    expect(second.statement.generated_at).toBe('2026-11-28T02:00:00.000Z');
    expect(second.statement.supersedes).toEqual({ version: '1', generated_at: AFTER_D });
    expect(second.versions).toEqual({ json: '2', csv: '2' });
    // The earlier version is kept.
    expect(reports.versions.get(first.keys.json)).toHaveLength(2);

    expect(events.published).toHaveLength(2);
    const event = events.published[1]!;
    expect(event.source).toBe('lianlian-payout');
    expect(event.detailType).toBe(DAY_CLOSED_DETAIL_TYPE);
    expect(event.detail).toEqual({
      id: `close:${DAY}:2`,
      date: DAY,
      generated_at: '2026-11-28T02:00:00.000Z',
      occurred_at: '2026-11-28T02:00:00.000Z',
      counts: { created: 4, returns: 1, late_results: 1, open: 1, anomalies: 1 },
      amounts: { created: '21.34', returns: '20.00', paid_out: '20.34', unexplained: 'unknown' },
      report_keys: { json: `close/${DAY}.json`, csv: `close/${DAY}.csv` },
      versions: { json: '2', csv: '2' },
      supersedes: '1',
    });
  });

  it('changes the figures on a re-run only when states changed', async () => {
    const { deps, store, ids, setNow } = await setup();
    const first = await closeDay(deps, DAY);
    const { advance, resultInput } = await import('../../support/close-fixtures');
    await advance(store, ids.open, resultInput('SUCCESS', 300), '2026-11-28T01:00:00.000Z');
    setNow('2026-11-28T02:00:00.000Z');
    const second = await closeDay(deps, DAY);
    expect(second.statement.created.by_status.SUCCESS).toEqual({ count: 3, amount: '16.34' });
    expect(second.statement.open.count).toBe(0);
    // Paid on D+1, not on D: D's movement is unchanged.
    expect(second.statement.balance.paid_out).toEqual(first.statement.balance.paid_out);
  });

  it('carries no card number or name, masked or not', async () => {
    const { deps } = await setup();
    const { statement } = await closeDay(deps, DAY);
    const text = JSON.stringify(statement) + statementCsv(statement);
    expect(text).not.toMatch(/card_no|acct_name|payee|622200|张/);
  });

  it('fails the run when the announcement is not delivered, after writing the statement', async () => {
    const { deps, events, reports } = await setup();
    events.failing = true;
    await expect(closeDay(deps, DAY)).rejects.toThrow(/Day Closed/);
    expect(await reports.get(`close/${DAY}.json`)).toBeDefined();
  });

  it('refuses a day that has not ended, naming date', async () => {
    const { deps } = await setup('2026-11-27T15:59:59.999Z');
    const error = await closeDay(deps, DAY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields[0]?.field).toBe('date');
  });
});

describe('close dates', () => {
  it.each(['2026-11-27', '2024-02-29'])('accepts %s', (d) => expect(parseCloseDate(d)).toBe(d));
  it.each(['2026-11-7', '2026-02-30', '2025-02-29', '27-11-2026', '', 20261127, '2026-11-27T00:00'])(
    'refuses %s naming date',
    (d) => {
      expect(() => parseCloseDate(d)).toThrow(ValidationError);
      try {
        parseCloseDate(d);
      } catch (error) {
        expect((error as ValidationError).fields).toEqual([{ field: 'date', message: expect.any(String) }]);
      }
    },
  );
  it('knows yesterday in China time', () => {
    // 2026-11-27T16:30Z is 00:30 on 2026-11-28 in China: the day to close is 2026-11-27.
    expect(yesterday(new Date('2026-11-27T16:30:00.000Z'))).toBe('2026-11-27');
    expect(yesterday(new Date('2026-11-27T15:30:00.000Z'))).toBe('2026-11-26');
    expect(previousDay('2026-03-01')).toBe('2026-02-28');
  });
});

describe('the statement arithmetic', () => {
  it('counts each order once however often the index repeated it', () => {
    const order = {
      no_order: 'X1',
      status: 'FAILURE' as const,
      money_fen: 100,
      money_order: '1.00',
      created_at: '2026-11-27T04:00:00.000Z',
      updated_at: '2026-11-27T05:00:00.000Z',
      anomalies: 0,
    };
    const s = buildStatement({
      day: DAY,
      created: [order, order],
      late: [],
      open: [],
      balance: {},
      generatedAt: AFTER_D,
      supersedes: null,
    });
    expect(s.created).toMatchObject({ count: 1, amount: '1.00' });
  });
});

describe('the statement arithmetic, for any orders', () => {
  const statuses = ['PENDING', 'ACCEPTED', 'SUCCESS', 'FAILURE', 'CANCEL', 'REJECTED'] as const;
  const orderArb = fc.record({
    no_order: fc.stringMatching(/^[A-Z][A-Za-z0-9]{3,10}$/),
    status: fc.constantFrom(...statuses),
    money_fen: fc.integer({ min: 1, max: 10_000_000_000 }),
    // Anywhere from two days before D to the day after.
    created_ms: fc.integer({
      min: Date.parse('2026-11-24T16:00:00.000Z'),
      max: Date.parse('2026-11-28T15:59:59.999Z'),
    }),
    final_after_ms: fc.integer({ min: 0, max: 3 * 86_400_000 }),
    anomalies: fc.nat({ max: 2 }),
  });
  const toOrder = (o: {
    no_order: string;
    status: (typeof statuses)[number];
    money_fen: number;
    created_ms: number;
    final_after_ms: number;
    anomalies: number;
  }) => {
    const created = new Date(o.created_ms).toISOString();
    const final = new Date(o.created_ms + o.final_after_ms).toISOString();
    const fen = o.money_fen;
    return {
      no_order: o.no_order,
      status: o.status,
      money_fen: fen,
      money_order: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`,
      created_at: created,
      updated_at: final,
      anomalies: o.anomalies,
      history:
        o.status === 'PENDING' || o.status === 'ACCEPTED'
          ? []
          : [{ at: final, source: 'notify' as const, from: 'ACCEPTED' as const, to: o.status }],
    };
  };

  it('adds up: totals are the sums of their parts, and input order changes nothing', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(orderArb, { selector: (o) => o.no_order, maxLength: 40 }),
        fc.nat(),
        (raw, seed) => {
          const orders = raw.map(toOrder);
          const build = (list: typeof orders) =>
            buildStatement({
              day: DAY,
              created: list,
              late: list.filter((o) => o.created_at < '2026-11-26T16:00:00.000Z'),
              open: list,
              balance: {},
              generatedAt: AFTER_D,
              supersedes: null,
            });
          const s = build(orders);
          const fen = (amount: string) => Math.round(Number(amount.replace('.', '')));
          const parts = Object.values(s.created.by_status);
          expect(parts.reduce((n, a) => n + a.count, 0)).toBe(s.created.count);
          expect(parts.reduce((n, a) => n + fen(a.amount), 0)).toBe(fen(s.created.amount));
          // Created on D exactly.
          expect(s.created.count).toBe(
            orders.filter(
              (o) => o.created_at >= '2026-11-26T16:00:00.000Z' && o.created_at < '2026-11-27T16:00:00.000Z',
            ).length,
          );
          expect(s.returns.items.reduce((n, r) => n + fen(r.money_order), 0)).toBe(fen(s.returns.amount));
          expect(
            fen(s.balance.explained.replace('-', '')) * (s.balance.explained.startsWith('-') ? -1 : 1),
          ).toBe(fen(s.balance.returned.amount) - fen(s.balance.paid_out.amount));
          // Unknown balances stay unknown, whatever moved.
          expect(s.balance.unexplained).toBe('unknown');
          // A shuffled input gives the same statement.
          const shuffled = [...orders].sort(
            (a, b) =>
              ((a.no_order.charCodeAt(0) * (seed + 1)) % 7) - ((b.no_order.charCodeAt(0) * (seed + 1)) % 7),
          );
          expect(build(shuffled)).toEqual(s);
        },
      ),
      { numRuns: 200 },
    );
  });
});
