import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Paged, PagedBuffer } from '../../../src/core/paged';

/**
 * A source of `pages` (page i's position is i, the last has none) that records the position of every
 * fetch. Each fetch resolves on a later turn, so concurrent callers really wait for it.
 */
function source(pages: readonly (readonly number[])[], fail?: { page: number; error: Error }) {
  const asked: (number | undefined)[] = [];
  let failed = false;
  const fetchPage = async (after: number | undefined): Promise<Paged<number, number>> => {
    asked.push(after);
    await new Promise((r) => setTimeout(r, 0));
    const index = after ?? 0;
    if (fail && index === fail.page && !failed) {
      failed = true;
      throw fail.error;
    }
    const items = pages[index] ?? [];
    return index + 1 < pages.length ? { items, next: index + 1 } : { items };
  };
  return { fetchPage, asked };
}

/** Pages of distinct numbers (so an item's page is known), any of them possibly empty; at least one. */
const pagesArb = fc
  .array(fc.array(fc.constant(0), { maxLength: 6 }), { minLength: 1, maxLength: 8 })
  .map((shapes) => {
    let n = 0;
    return shapes.map((shape) => shape.map(() => n++));
  });

describe('PagedBuffer', () => {
  it('hands out exactly the concatenation of the pages, in order, fetching a page only when the previous one is used up', async () => {
    await fc.assert(
      fc.asyncProperty(pagesArb, async (pages) => {
        const { fetchPage, asked } = source(pages);
        const buffer = new PagedBuffer(fetchPage);
        expect(asked).toEqual([]);
        const out: number[] = [];
        for (;;) {
          const item = await buffer.next();
          if (item === undefined) break;
          out.push(item);
          // Lazily: only the pages up to the one holding this item have been fetched.
          const pageOf = pages.findIndex((p) => p.includes(item));
          expect(asked).toHaveLength(pageOf + 1);
          expect(buffer.drained).toBe(pageOf === pages.length - 1 && item === pages[pageOf]!.at(-1));
        }
        expect(out).toEqual(pages.flat());
        // Every page once, each from where the previous one said the next starts.
        expect(asked).toEqual(pages.map((_, i) => (i === 0 ? undefined : i)));
        expect(buffer.drained).toBe(true);
        expect(await buffer.next()).toBeUndefined();
        expect(asked).toHaveLength(pages.length);
      }),
      { numRuns: 200 },
    );
  });

  it('shares each fetch between concurrent callers: every item handed out once, in page order', async () => {
    await fc.assert(
      fc.asyncProperty(pagesArb, fc.integer({ min: 2, max: 6 }), async (pages, callers) => {
        const { fetchPage, asked } = source(pages);
        const buffer = new PagedBuffer(fetchPage);
        const out: number[] = [];
        const worker = async () => {
          for (let item = await buffer.next(); item !== undefined; item = await buffer.next()) out.push(item);
        };
        await Promise.all(Array.from({ length: callers }, worker));
        expect(out).toEqual(pages.flat());
        expect(asked).toHaveLength(pages.length);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects every caller waiting for a failed fetch with its error, then fetches the same page again', async () => {
    const error = new Error('listDue failed');
    const pages = [[1, 2], [3, 4], [5]];
    const { fetchPage, asked } = source(pages, { page: 1, error });
    const buffer = new PagedBuffer(fetchPage);
    expect([await buffer.next(), await buffer.next()]).toEqual([1, 2]);

    const waiting = await Promise.allSettled([buffer.next(), buffer.next()]);
    expect(waiting).toEqual([
      { status: 'rejected', reason: error },
      { status: 'rejected', reason: error },
    ]);
    expect(asked).toEqual([undefined, 1]);
    expect(buffer.drained).toBe(false);

    const rest: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++) rest.push(await buffer.next());
    expect(rest).toEqual([3, 4, 5, undefined]);
    expect(asked).toEqual([undefined, 1, 1, 2]);
  });
});
