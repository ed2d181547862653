import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalReportStore } from '../../local/report-store';
import { amountFor } from '../../sandbox/scenarios';
import { ENV } from '../../src/config/contract';
import { startTestStack, TEST_CARD, TEST_NAME, type TestStack } from '../support/local-stack';
import { testNoOrder } from '../support/order-fixtures';

/**
 * A large export end to end (issue 12), in local mode: with a tiny inline limit (EXPORT_INLINE_MAX_BYTES),
 * GET /payouts/export.csv answers a short-lived link instead of the CSV; the local front serves the file
 * behind it (as S3 serves a presigned GET) only while its signature holds.
 */

let stack: TestStack;
const created: string[] = [];
const COUNT = 4;

async function get(url: string, principal = 'olga') {
  return fetch(url, { headers: { 'x-principal': principal } });
}

beforeAll(async () => {
  // A header line and a row or two fit; four rows do not.
  stack = await startTestStack('export-link', { env: { [ENV.exportInlineMaxBytes]: '400' } });
  for (let i = 0; i < COUNT; i++) {
    const no_order = testNoOrder('EXP');
    const response = await fetch(`${stack.url}/payouts`, {
      method: 'POST',
      headers: { 'x-principal': 'alice', 'content-type': 'application/json' },
      body: JSON.stringify({
        no_order,
        money_order: amountFor('success', 20 + i),
        card_no: TEST_CARD,
        acct_name: TEST_NAME,
        flag_card: '0',
        info_order: 'export e2e',
      }),
    });
    expect([200, 201, 202]).toContain(response.status);
    created.push(no_order);
  }
}, 60_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('large export through a signed link (local mode)', () => {
  let link: { url: string; expires_at: string; rows: number };

  it('answers the link as JSON, not the CSV, when the export is over the inline limit', async () => {
    const started = Date.now();
    const response = await get(`${stack.url}/payouts/export.csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    link = (await response.json()) as typeof link;
    expect(link.rows).toBe(COUNT);
    expect(link.url.startsWith(`${stack.url}/reports/exports/`)).toBe(true);
    // Fifteen minutes (LINK_TTL_SECONDS), the same expiry the link's signature covers.
    const expires = Date.parse(link.expires_at);
    expect(expires - started).toBeGreaterThan(14 * 60_000);
    expect(expires - started).toBeLessThanOrEqual(15 * 60_000 + 5_000);
    expect(Number(new URL(link.url).searchParams.get('expires'))).toBe(Math.floor(expires / 1000));
  });

  it('the link downloads every matching payout, masked, as a CSV attachment — no principal needed', async () => {
    const response = await fetch(link.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv;charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.csv"$/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const text = bytes.toString('utf8');
    const lines = text.slice(1).trim().split('\r\n');
    expect(lines[0]).toMatch(/^no_order,batch_id,created_at/);
    expect(lines).toHaveLength(COUNT + 1);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
    ).toEqual([...created].sort());
    expect(text).not.toContain(TEST_CARD);
    expect(text).not.toContain(TEST_NAME);
    expect(text).toContain(`${TEST_CARD.slice(0, 6)}`);
  });

  it('the filters still apply: a filter matching nothing fits inline', async () => {
    const none = await get(`${stack.url}/payouts/export.csv?status=DENIED`);
    expect(none.status).toBe(200);
    expect(none.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await none.text()).trim().split('\r\n')).toHaveLength(1);
  });

  it('a tampered link is refused (403)', async () => {
    const url = new URL(link.url);
    url.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    expect((await fetch(url)).status).toBe(403);
    const other = new URL(link.url);
    other.pathname = other.pathname.replace(/[0-9a-f]{8}-/, '00000000-');
    expect((await fetch(other)).status).toBe(403);
    const unsigned = new URL(link.url);
    unsigned.search = '';
    expect((await fetch(unsigned)).status).toBe(403);
  });

  it('an expired link is refused (403), though signed with this process’s key', async () => {
    const key = decodeURIComponent(new URL(link.url).pathname.slice('/reports/'.length));
    // The same per-process key as the stack's store; a clock 20 minutes behind makes a link already over.
    const past = new LocalReportStore({
      dir: stack.reportsDir,
      baseUrl: stack.url,
      now: () => Date.now() - 20 * 60_000,
    });
    const expired = await past.link(key, 900);
    const response = await fetch(expired);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });
});
