import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleHandler, sandboxData } from '../../../local/console';
import type { Sandbox } from '../../../sandbox/server';
import type { NotificationAttempt } from '../../../sandbox/types';

/** local/console.ts behind a bare HTTP server, on a throwaway dist folder. */
let dir: string;
let server: Server;
let base: string;
let fallthrough = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-dist-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'dist', 'assets', 'index-abc.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'outside dist');
  const handle = consoleHandler({ dist: join(dir, 'dist'), confirmAmount: '500.00' });
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (!(await handle(req, res, url))) {
      fallthrough += 1;
      res.writeHead(599).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A GET with the path sent exactly as written (fetch would normalise `..` and `%2e%2e` away). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('local console serving', () => {
  it('serves index.html at /console/ and assets under it, with the strict CSP and security headers', async () => {
    const index = await fetch(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('<title>console</title>');
    const asset = await fetch(`${base}/console/assets/index-abc.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('never serves a file outside dist, whatever the path says', async () => {
    for (const path of [
      '/console/../secret.txt',
      '/console/%2e%2e/secret.txt',
      '/console/..%2fsecret.txt',
      '/console/assets/..%2f..%2fsecret.txt',
      '/console/%2e%2e%2fsecret.txt',
    ]) {
      const response = await rawGet(path);
      expect(response.body, path).not.toContain('outside dist');
      // 404 from the console, or (when the URL parser already resolved the `..`) not the console's path.
      expect([404, 599], path).toContain(response.status);
    }
    expect((await fetch(`${base}/console/nope.js`)).status).toBe(404);
  });

  it('answers config.json for local mode and leaves every other path to the API', async () => {
    expect(await (await fetch(`${base}/console/config.json`)).json()).toEqual({
      mode: 'local',
      apiBase: '',
      approvalConfirmMin: '500.00',
    });
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
    const before = fallthrough;
    expect((await fetch(`${base}/payouts/X1`)).status).toBe(599);
    expect((await fetch(`${base}/consoles`)).status).toBe(599);
    expect(fallthrough).toBe(before + 2);
    expect((await fetch(`${base}/console/`, { method: 'POST' })).status).toBe(405);
  });

  it('says how to build the console when it is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'console-empty-'));
    const handle = consoleHandler({ dist: empty });
    const other = createServer((req, res) => void handle(req, res, new URL(req.url ?? '/', 'http://local')));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const response = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/console/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run console:build');
    await new Promise((resolve) => other.close(resolve));
    await rm(empty, { recursive: true, force: true });
  });

  it('the sandbox page data: scenarios and notifications with their answers, never the signed bodies', () => {
    const attempt: NotificationAttempt = {
      at: '2026-11-30T01:00:00.000Z',
      no_order: 'N1',
      attempt: 1,
      url: 'http://127.0.0.1:1/lianlian/notify',
      result_pay: 'SUCCESS',
      delivered: true,
      status: 200,
      answeredRetCode: '0000',
      durationMs: 3,
      body: { no_order: 'N1', sign: 'not-a-real-signature' },
    };
    const data = sandboxData({ notifications: () => [attempt] } as unknown as Sandbox);
    expect(data.scenarios.find((s) => s.name === 'fail')).toMatchObject({ amount: '1.13', retCode: '0000' });
    expect(data.notifications).toEqual([
      {
        at: attempt.at,
        no_order: 'N1',
        result_pay: 'SUCCESS',
        attempt: 1,
        delivered: true,
        status: 200,
        answer: '0000',
        error: undefined,
      },
    ]);
    expect(JSON.stringify(data)).not.toContain('not-a-real-signature');
  });
});
