import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VersionedReportStore } from '../src/core/close';

export interface LocalReportStoreOptions {
  /** The reports directory (local mode: `.local/reports/`). */
  readonly dir: string;
  /** The local front's URL; links point at `${baseUrl}/reports/<key>`. Without it, a file URL. */
  readonly baseUrl?: string;
}

/**
 * Local mode's reports store: one file per key under `dir`, the current version at `<key>`, every earlier
 * one kept beside it as `<key>.<n>` (n = its version, from 1), as a versioned bucket keeps them. Versions
 * are sequence numbers as strings. One writer per key at a time (the close of a day runs once at a time).
 */
export class LocalReportStore implements VersionedReportStore {
  private readonly dir: string;
  private readonly baseUrl: string | undefined;

  constructor(options: LocalReportStoreOptions) {
    this.dir = options.dir;
    this.baseUrl = options.baseUrl?.replace(/\/+$/, '');
  }

  async put(key: string, body: string, _contentType: string): Promise<{ version: string }> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const earlier = await this.earlierVersions(path);
    const current = await readIfExists(path);
    let version = earlier + 1;
    if (current !== undefined) {
      // The current one becomes version n (kept), the new one is n + 1.
      await rename(path, `${path}.${earlier + 1}`);
      version = earlier + 2;
    }
    // Write then rename: a reader never sees a half-written report.
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, body, 'utf8');
    await rename(tmp, path);
    return { version: String(version) };
  }

  async get(key: string): Promise<string | undefined> {
    return readIfExists(this.pathOf(key));
  }

  async current(key: string): Promise<{ body: string; version: string } | undefined> {
    const path = this.pathOf(key);
    const body = await readIfExists(path);
    if (body === undefined) return undefined;
    return { body, version: String((await this.earlierVersions(path)) + 1) };
  }

  /** An earlier version's content (`version` as put answered it), or undefined. */
  async version(key: string, version: string): Promise<string | undefined> {
    const path = this.pathOf(key);
    const current = await this.current(key);
    if (current?.version === version) return current.body;
    if (!/^[1-9][0-9]*$/.test(version)) return undefined;
    return readIfExists(`${path}.${version}`);
  }

  async link(key: string, _ttlSeconds: number): Promise<string> {
    const path = this.pathOf(key);
    if (this.baseUrl) return `${this.baseUrl}/reports/${key.split('/').map(encodeURIComponent).join('/')}`;
    return pathToFileURL(path).href;
  }

  /** The file of `key`, refusing keys that would leave the reports directory. */
  private pathOf(key: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key) || key.split('/').some((p) => p === '..' || p === '')) {
      throw new RangeError(`invalid report key: ${key}`);
    }
    const path = normalize(join(this.dir, key));
    if (!path.startsWith(normalize(this.dir) + sep)) throw new RangeError(`invalid report key: ${key}`);
    return path;
  }

  /** How many earlier versions `<path>.<n>` exist (they are numbered 1..n without gaps). */
  private async earlierVersions(path: string): Promise<number> {
    const base = path.slice(path.lastIndexOf(sep) + 1);
    let names: string[];
    try {
      names = await readdir(dirname(path));
    } catch {
      return 0;
    }
    let max = 0;
    for (const name of names) {
      if (!name.startsWith(`${base}.`)) continue;
      const n = name.slice(base.length + 1);
      if (/^[1-9][0-9]*$/.test(n)) max = Math.max(max, Number(n));
    }
    return max;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
