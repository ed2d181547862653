import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VersionedReportStore } from '../src/core/close';

export interface LocalReportStoreOptions {
  /** The reports directory (local mode: `.local/reports/`). */
  readonly dir: string;
  /**
   * The local front's URL; links point at `${baseUrl}/reports/<key>?expires=<unix>&sig=<hmac>`, which the
   * front serves only while the signature holds (`checkLink`). Without it, a file URL.
   */
  readonly baseUrl?: string;
  /** The HMAC key of links; default: this process's random key (links die with the process). */
  readonly linkKey?: Buffer;
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number;
}

/**
 * The key that signs local links, made once per process: every store of the process (the query's, the
 * close's, the front's) signs and checks with it, and a link never outlives the process that made it.
 */
const PROCESS_LINK_KEY = randomBytes(32);

/** Why a link was refused; the front answers 403 for all of them and does not say which. */
export type LinkCheck = 'ok' | 'bad_signature' | 'expired';

/**
 * Local mode's reports store: one file per key under `dir`, the current version at `<key>`, every earlier
 * one kept beside it as `<key>.<n>` (n = its version, from 1), as a versioned bucket keeps them. Versions
 * are sequence numbers as strings. One writer per key at a time (the close of a day runs once at a time).
 */
export class LocalReportStore implements VersionedReportStore {
  private readonly dir: string;
  private readonly baseUrl: string | undefined;
  private readonly linkKey: Buffer;
  private readonly now: () => number;

  constructor(options: LocalReportStoreOptions) {
    this.dir = options.dir;
    this.baseUrl = options.baseUrl?.replace(/\/+$/, '');
    this.linkKey = options.linkKey ?? PROCESS_LINK_KEY;
    this.now = options.now ?? Date.now;
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

  /**
   * A short-lived link, as S3 presigns one: the front serves `key` until `expires` (unix seconds) only if
   * `sig` is the HMAC-SHA256 of key and expiry under this process's key (`checkLink`).
   */
  async link(key: string, ttlSeconds: number): Promise<string> {
    const path = this.pathOf(key);
    if (!this.baseUrl) return pathToFileURL(path).href;
    const expires = Math.floor(this.now() / 1000) + Math.max(1, Math.ceil(ttlSeconds));
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    return `${this.baseUrl}/reports/${encoded}?expires=${expires}&sig=${this.sign(key, expires)}`;
  }

  /**
   * Whether a link's `expires` and `sig` (as the query string gave them, possibly absent) are this store's
   * signature of `key`, not yet expired. The signature is compared in constant time, and checked before
   * the expiry, so a forged link learns nothing about the time.
   */
  checkLink(key: string, expires: string | null | undefined, sig: string | null | undefined): LinkCheck {
    if (!expires || !sig || !/^[0-9]{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) {
      return 'bad_signature';
    }
    const expected = Buffer.from(this.sign(key, Number(expires)), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
    return Number(expires) * 1000 > this.now() ? 'ok' : 'expired';
  }

  /** HMAC-SHA256 over key and expiry (a newline between: a key never contains one), base64url. */
  private sign(key: string, expires: number): string {
    return createHmac('sha256', this.linkKey).update(`${key}\n${expires}`).digest('base64url');
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
