import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { REPO_ROOT } from './bundle';

/**
 * `console_js_gzip_kb`: the web console's JavaScript, every chunk (the AWS sign-in chunk loaded only on
 * AWS included), gzip level 9, from a fresh production build; target ≤ 150 (issue 12). The entry chunk
 * alone, what a local-mode visit downloads, is reported beside it.
 */
export async function consoleSize(log: (line: string) => void = () => undefined) {
  const config = join(REPO_ROOT, 'console', 'vite.config.ts');
  await build({ configFile: config, logLevel: 'silent' });
  const assets = join(REPO_ROOT, 'console', 'dist', 'assets');
  const chunks = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((f) => ({ file: f, gzip: gzipSync(readFileSync(join(assets, f)), { level: 9 }).length }));
  const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
  const total = chunks.reduce((n, c) => n + c.gzip, 0);
  const entry = chunks.find((c) => c.file.startsWith('index-'))?.gzip ?? 0;
  log(`console: ${chunks.length} JS chunks, ${kb(total)} KB gzip (entry ${kb(entry)} KB)`);
  return { console_js_gzip_kb: kb(total), console_js_entry_gzip_kb: kb(entry) };
}
