import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalFront, type Routes, startLocalFront } from '../../../local/front';
import { LocalReportStore } from '../../../local/report-store';

/**
 * Local mode's short-lived report links (issue 12): LocalReportStore.link signs key + expiry with an HMAC
 * under a per-process key, checkLink verifies it, and the local front serves /reports/<key> only through
 * a valid, unexpired link — as S3 serves a presigned GET in AWS.
 */

const KEY = 'exports/2026-11-30/00000000-0000-4000-8000-000000000000.csv';
const T0 = Date.parse('2026-11-30T01:00:00.000Z');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-links-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parts = (link: string) => {
  const url = new URL(link);
  return {
    url,
    expires: url.searchParams.get('expires'),
    sig: url.searchParams.get('sig'),
  };
};

describe('LocalReportStore links', () => {
  it('a link names the key, its expiry (unix seconds) and a signature that checks', async () => {
    const store = new LocalReportStore({ dir, baseUrl: 'http://127.0.0.1:3000', now: () => T0 });
    const { url, expires, sig } = parts(await store.link(KEY, 900));
    expect(`${url.origin}${url.pathname}`).toBe(`http://127.0.0.1:3000/reports/${KEY}`);
    expect(Number(expires)).toBe(T0 / 1000 + 900);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.checkLink(KEY, expires, sig)).toBe('ok');
  });

  it('refuses it once expired (at the second it names)', async () => {
    let now = T0;
    const store = new LocalReportStore({ dir, baseUrl: 'http://x', now: () => now });
    const { expires, sig } = parts(await store.link(KEY, 60));
    now = T0 + 59_999;
    expect(store.checkLink(KEY, expires, sig)).toBe('ok');
    now = T0 + 60_000;
    expect(store.checkLink(KEY, expires, sig)).toBe('expired');
  });

  it('refuses a tampered key, expiry or signature, and a missing one', async () => {
    const store = new LocalReportStore({ dir, baseUrl: 'http://x', now: () => T0 });
    const { expires, sig } = parts(await store.link(KEY, 60));
    expect(store.checkLink(KEY.replace('.csv', '.json'), expires, sig)).toBe('bad_signature');
    expect(store.checkLink('close/2026-11-29.csv', expires, sig)).toBe('bad_signature');
    // A later expiry is exactly what a tamperer would want: the signature covers it.
    expect(store.checkLink(KEY, String(Number(expires) + 3600), sig)).toBe('bad_signature');
    const flipped = `${sig!.slice(0, -1)}${sig!.endsWith('A') ? 'B' : 'A'}`;
    expect(store.checkLink(KEY, expires, flipped)).toBe('bad_signature');
    expect(store.checkLink(KEY, expires, `${sig}A`)).toBe('bad_signature');
    expect(store.checkLink(KEY, null, sig)).toBe('bad_signature');
    expect(store.checkLink(KEY, expires, null)).toBe('bad_signature');
    expect(store.checkLink(KEY, '1e12', sig)).toBe('bad_signature');
  });

  it('refuses a link signed with another key (another process, another store key)', async () => {
    const other = new LocalReportStore({ dir, baseUrl: 'http://x', now: () => T0, linkKey: randomBytes(32) });
    const mine = new LocalReportStore({ dir, baseUrl: 'http://x', now: () => T0 });
    const { expires, sig } = parts(await other.link(KEY, 60));
    expect(mine.checkLink(KEY, expires, sig)).toBe('bad_signature');
    expect(other.checkLink(KEY, expires, sig)).toBe('ok');
  });

  it('stores of one process share its key: what one signs, another checks', async () => {
    const a = new LocalReportStore({ dir, baseUrl: 'http://x' });
    const b = new LocalReportStore({ dir: join(dir, 'elsewhere') });
    const { expires, sig } = parts(await a.link(KEY, 60));
    expect(b.checkLink(KEY, expires, sig)).toBe('ok');
  });

  it('never links a key outside the reports directory', async () => {
    const store = new LocalReportStore({ dir, baseUrl: 'http://x' });
    await expect(store.link('../secrets.json', 60)).rejects.toThrow(/invalid report key/);
  });
});

describe('the local front serves /reports/<key> only through a valid link', () => {
  const notFound: APIGatewayProxyResult = { statusCode: 599, body: '' };
  const api = async () => notFound;
  let front: LocalFront;
  let now = T0;
  let store: LocalReportStore;

  beforeEach(async () => {
    now = Date.now();
    let routes: Routes | undefined;
    front = await startLocalFront(() => routes!);
    store = new LocalReportStore({ dir, baseUrl: front.url, now: () => now });
    routes = { apply: api, query: api, review: api, notify: api, reports: store };
  });
  afterEach(async () => {
    await front.close();
  });

  it('answers the CSV as an attachment, not cached', async () => {
    await store.put(KEY, '\uFEFFno_order\r\nP1\r\n', 'text/csv;charset=utf-8');
    const response = await fetch(await store.link(KEY, 60));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv;charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="00000000-0000-4000-8000-000000000000.csv"',
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    // Byte for byte, the byte-order mark included (text() would drop it).
    expect(Buffer.from(await response.arrayBuffer()).toString('utf8')).toBe('\uFEFFno_order\r\nP1\r\n');
  });

  it('403 for a tampered or expired link, 404 for a valid link to nothing', async () => {
    await store.put(KEY, 'x', 'text/csv');
    const link = await store.link(KEY, 60);
    const tampered = new URL(link);
    tampered.searchParams.set('expires', String(Number(tampered.searchParams.get('expires')) + 60));
    expect((await fetch(tampered)).status).toBe(403);
    const bare = new URL(link);
    bare.search = '';
    expect((await fetch(bare)).status).toBe(403);
    // Another key under the same signature.
    expect((await fetch(link.replace('.csv?', '.json?'))).status).toBe(403);

    now += 61_000;
    const expired = await fetch(link);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('forbidden');

    const missing = await fetch(await store.link('exports/2026-11-30/missing.csv', 60));
    expect(missing.status).toBe(404);
  });

  it('never serves a path outside the reports directory, signed or not', async () => {
    // The store refuses to sign such a key, and a forged one fails the signature before any file is read.
    const response = await fetch(
      `${front.url}/reports/..%2F..%2Fetc%2Fpasswd?expires=9999999999&sig=${'A'.repeat(43)}`,
    );
    expect(response.status).toBe(403);
  });
});
