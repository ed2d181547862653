import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/core/errors';
import {
  type Cursor,
  decodeCursor,
  EXPORT_PARAMETERS,
  encodeCursor,
  filterKeyOf,
  type IndexKey,
  type KeyPage,
  MAX_LIMIT,
  mergeNewestFirst,
  newerFirst,
  parseBound,
  parseListQuery,
  previousDay,
} from '../../../src/core/search';

const NOW = new Date('2026-11-30T04:00:00.000Z'); // 12:00 in China, 2026-11-30

function fieldsOf(params: Record<string, string>, now = NOW, allowed?: readonly string[]): string[] {
  try {
    parseListQuery(params, now, allowed);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).fields.map((f) => f.field);
  }
  throw new Error('expected a ValidationError');
}

describe('parseListQuery', () => {
  it('defaults: 50 newest of the last 31 China days, up to now', () => {
    const q = parseListQuery({}, NOW);
    expect(q.limit).toBe(50);
    expect(q.ranged).toBe(false);
    // 2026-10-31 00:00 China = 2026-10-30T16:00Z; 31 China days through 2026-11-30.
    expect(q.range).toEqual({ from: '2026-10-30T16:00:00.000Z', to: NOW.toISOString() });
  });

  it('reads a China date as that whole China day (UTC+8)', () => {
    const q = parseListQuery({ from: '2026-11-30', to: '2026-11-30' }, NOW);
    expect(q.range).toEqual({ from: '2026-11-29T16:00:00.000Z', to: '2026-11-30T15:59:59.999Z' });
    expect(q.ranged).toBe(true);
  });

  it('reads instants with their offset', () => {
    const q = parseListQuery({ from: '2026-11-30T08:00:00+08:00', to: '2026-11-30T01:30:00Z' }, NOW);
    expect(q.range).toEqual({ from: '2026-11-30T00:00:00.000Z', to: '2026-11-30T01:30:00.000Z' });
  });

  it.each([
    [{ status: 'PAID' }, 'status'],
    [{ limit: '0' }, 'limit'],
    [{ limit: String(MAX_LIMIT + 1) }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ from: '2026-11-31' }, 'from'],
    [{ from: '2026-11-30T08:00:00' }, 'from'],
    [{ to: 'yesterday' }, 'to'],
    [{ from: '2026-11-30', to: '2026-11-29' }, 'from'],
    [{ from: '2024-01-01', to: '2026-11-29' }, 'from'],
    [{ batch_id: 'no spaces' }, 'batch_id'],
    [{ cursor: 'garbage' }, 'cursor'],
    [{ statuss: 'SUCCESS' }, 'statuss'],
  ])('names the bad parameter: %j → %s', (params, field) => {
    expect(fieldsOf(params as Record<string, string>)).toEqual([field]);
  });

  it('names every bad parameter at once', () => {
    expect(fieldsOf({ status: 'x', limit: '900', from: 'y' }).sort()).toEqual(['from', 'limit', 'status']);
  });

  it('the export refuses paging parameters by name', () => {
    expect(fieldsOf({ limit: '10' }, NOW, EXPORT_PARAMETERS)).toEqual(['limit']);
  });

  it('a later page keeps the range its first page resolved, even with a default `to`', () => {
    const cursor = encodeCursor({
      f: filterKeyOf({}),
      r: { from: '2026-10-30T16:00:00.000Z', to: '2026-11-30T04:00:00.000Z' },
      k: 'day',
      d: '2026-11-29',
      s: [null, 'x', { no_order: 'A1', at: '2026-11-29T03:00:00.000Z' }, null],
    });
    const later = parseListQuery({ cursor }, new Date('2026-11-30T05:00:00.000Z'));
    expect(later.range.to).toBe('2026-11-30T04:00:00.000Z');
    expect(later.cursor).toMatchObject({ k: 'day', d: '2026-11-29' });
  });
});

describe('cursor', () => {
  const key: IndexKey = { no_order: 'P1', at: '2026-11-29T03:00:00.000Z' };
  const r = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T00:00:00.000Z' };
  const cursors: Cursor[] = [
    { f: 'abc', r, k: 'day', d: '2026-11-29', s: [null, 'x', key, null] },
    { f: 'abc', r, k: 'queue', a: key },
    { f: 'abc', r, k: 'batch', q: 42 },
  ];

  it.each(cursors)('round-trips %j', (cursor) => {
    expect(decodeCursor(encodeCursor(cursor), 'abc')).toEqual(cursor);
  });

  it('is refused with other filters, tampered or truncated', () => {
    const text = encodeCursor(cursors[0]!);
    expect(decodeCursor(text, 'other')).toBeUndefined();
    expect(decodeCursor(text.slice(0, -4), 'abc')).toBeUndefined();
    const wrongShards = encodeCursor({ ...cursors[0]!, s: [null, null] } as Cursor);
    expect(decodeCursor(wrongShards, 'abc')).toBeUndefined();
    expect(decodeCursor(Buffer.from('[1,2]').toString('base64url'), 'abc')).toBeUndefined();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(() => decodeCursor(text, 'abc')).not.toThrow();
      }),
    );
  });

  it('binds to the filters, not to limit or cursor', () => {
    expect(filterKeyOf({ status: 'SUCCESS', limit: '5' })).toBe(
      filterKeyOf({ status: 'SUCCESS', limit: '9' }),
    );
    expect(filterKeyOf({ status: 'SUCCESS' })).not.toBe(filterKeyOf({ status: 'FAILURE' }));
  });
});

describe('mergeNewestFirst', () => {
  const k = (no_order: string, minute: number): IndexKey => ({
    no_order,
    at: new Date(Date.UTC(2026, 10, 29, 0, minute)).toISOString(),
  });

  it('merges shard pages newest first', () => {
    const pages: KeyPage[] = [
      { items: [k('a', 9), k('b', 5)], exhausted: true },
      { items: [k('c', 8), k('d', 1)], exhausted: true },
      { items: [], exhausted: true },
      { items: [k('e', 7)], exhausted: true },
    ];
    expect(mergeNewestFirst(pages, 10).map((m) => m.key.no_order)).toEqual(['a', 'c', 'e', 'b', 'd']);
    expect(mergeNewestFirst(pages, 2).map((m) => [m.shard, m.key.no_order])).toEqual([
      [0, 'a'],
      [1, 'c'],
    ]);
  });

  it('stops where a shard that has more has handed out all it read', () => {
    const pages: KeyPage[] = [
      { items: [k('a', 9)], exhausted: false },
      { items: [k('c', 8), k('d', 1)], exhausted: true },
    ];
    // After 'a' the first shard's next key is unknown: it could be newer than 'c'.
    expect(mergeNewestFirst(pages, 10).map((m) => m.key.no_order)).toEqual(['a']);
  });

  it('is a newest-first order of exactly what it consumed (property)', () => {
    const shard = fc
      .uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 20 })
      .map((minutes) => minutes.sort((a, b) => b - a));
    fc.assert(
      fc.property(
        fc.array(shard, { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 50 }),
        (shards, limit) => {
          const pages: KeyPage[] = shards.map((minutes, s) => ({
            items: minutes.map((m) => k(`s${s}m${m}`, m)),
            exhausted: true,
          }));
          const merged = mergeNewestFirst(pages, limit);
          const all = pages.flatMap((p) => p.items).sort(newerFirst);
          expect(merged.map((m) => m.key)).toEqual(all.slice(0, limit));
        },
      ),
    );
  });
});

describe('days and bounds', () => {
  it('previousDay crosses months and years', () => {
    expect(previousDay('2026-12-01')).toBe('2026-11-30');
    expect(previousDay('2027-01-01')).toBe('2026-12-31');
  });

  it('parseBound answers a problem for dates that do not exist', () => {
    expect(parseBound('2026-02-30', 'from')).toBe('is not a valid date');
    expect(parseBound('2026-02-28', 'to')).toEqual(new Date('2026-02-28T15:59:59.999Z'));
  });
});
