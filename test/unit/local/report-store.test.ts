import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalReportStore } from '../../../local/report-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reports-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalReportStore', () => {
  it('keeps every earlier version as <name>.<n> and the current one at <name>', async () => {
    const store = new LocalReportStore({ dir });
    expect(await store.current('close/2026-11-27.json')).toBeUndefined();
    expect(await store.put('close/2026-11-27.json', 'one', 'application/json')).toEqual({ version: '1' });
    expect(await store.put('close/2026-11-27.json', 'two', 'application/json')).toEqual({ version: '2' });
    expect(await store.put('close/2026-11-27.json', 'three', 'application/json')).toEqual({ version: '3' });

    expect(await store.get('close/2026-11-27.json')).toBe('three');
    expect(await store.current('close/2026-11-27.json')).toEqual({ body: 'three', version: '3' });
    expect((await readdir(join(dir, 'close'))).sort()).toEqual([
      '2026-11-27.json',
      '2026-11-27.json.1',
      '2026-11-27.json.2',
    ]);
    expect(await readFile(join(dir, 'close', '2026-11-27.json.1'), 'utf8')).toBe('one');
    expect(await store.version('close/2026-11-27.json', '2')).toBe('two');
    expect(await store.version('close/2026-11-27.json', '3')).toBe('three');
  });

  it('numbers each key on its own (the CSV beside the JSON)', async () => {
    const store = new LocalReportStore({ dir });
    await store.put('close/d.json', 'a', 'application/json');
    await store.put('close/d.json', 'b', 'application/json');
    expect(await store.put('close/d.csv', 'x', 'text/csv')).toEqual({ version: '1' });
    // A key that is a prefix of another does not count the other's versions.
    expect(await store.put('close/d', 'p', 'text/plain')).toEqual({ version: '1' });
  });

  it('refuses keys that leave the reports directory', async () => {
    const store = new LocalReportStore({ dir });
    for (const key of ['../x', 'close/../../x', '/etc/passwd', 'a//b', '']) {
      await expect(store.put(key, 'x', 'text/plain')).rejects.toThrow(/invalid report key/);
    }
  });

  it('links through the local front when it knows its URL', async () => {
    // Signed and short-lived (test/unit/local/report-links.test.ts checks the signature).
    expect(
      await new LocalReportStore({ dir, baseUrl: 'http://127.0.0.1:3000/' }).link('close/d.csv', 60),
    ).toMatch(/^http:\/\/127\.0\.0\.1:3000\/reports\/close\/d\.csv\?expires=[0-9]+&sig=[A-Za-z0-9_-]{43}$/);
    expect(await new LocalReportStore({ dir }).link('close/d.csv', 60)).toMatch(/^file:\/\/.*close\/d\.csv$/);
  });
});
