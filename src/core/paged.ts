/** One page of a paged source: its items, and where the next page starts (absent: this was the last). */
export interface Paged<T, P> {
  readonly items: readonly T[];
  readonly next?: P | undefined;
}

/**
 * Items of a paged source handed out one at a time, in page order, to any number of concurrent callers.
 * A page is fetched only when the previous one is used up, and only once however many callers wait for
 * it. A failed fetch rejects every caller waiting for it and changes nothing: the next call fetches the
 * same page again. `fetchPage` gets the position the previous page returned (undefined for the first).
 */
export class PagedBuffer<T, P> {
  private buffer: T[] = [];
  private position: P | undefined;
  private done = false;
  private fetching: Promise<void> | undefined;

  constructor(private readonly fetchPage: (after: P | undefined) => Promise<Paged<T, P>>) {}

  /** True once the last page was fetched and every item of it handed out. */
  get drained(): boolean {
    return this.done && this.buffer.length === 0;
  }

  /** The next item; undefined once the source is used up. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.buffer.length > 0) return this.buffer.shift();
      if (this.done) return undefined;
      this.fetching ??= this.fetch().finally(() => {
        this.fetching = undefined;
      });
      await this.fetching;
    }
  }

  private async fetch(): Promise<void> {
    const page = await this.fetchPage(this.position);
    this.buffer.push(...page.items);
    if (page.next === undefined) this.done = true;
    else this.position = page.next;
  }
}
