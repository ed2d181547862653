import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parsePublicKey } from '../../../src/lianlian/keys';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');

/** The CLI exactly as `npm run ops` starts it (tsx tools/cli.ts), in a child process. */
async function ops(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(ROOT, 'node_modules/.bin/tsx'), ['tools/cli.ts', ...args], {
      cwd: ROOT,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('ops CLI', () => {
  it('keygen writes the private key to a 0600 file and prints only the public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-keygen-'));
    const keyFile = join(dir, 'merchant.key');

    const { code, stdout } = await ops('keygen', '--bits', '1024', '--private-key-out', keyFile);

    expect(code).toBe(0);
    const publicKey = stdout.split('\n').find((l) => l.startsWith('MIGf'));
    expect(publicKey && parsePublicKey(publicKey).asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(stdout).not.toMatch(/^MII/m);
  });

  it('sign-debug exits 1 when the signature does not verify, and usage errors exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-sign-'));
    writeFileSync(join(dir, 'm.json'), JSON.stringify({ sign_type: 'MD5', no_order: 'A1', sign: '00' }));
    writeFileSync(join(dir, 'k'), 'key');

    const bad = await ops('sign-debug', '--file', join(dir, 'm.json'), '--md5-key-file', join(dir, 'k'));
    const unknown = await ops('frobnicate');
    const missing = await ops('encrypt-key', '--kind', 'rsa');

    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('no_order=A1&sign_type=MD5');
    expect(bad.stdout).toContain('verifies: no');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: frobnicate');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --kms-key, --param, --oid-partner, --key-file');
  });
});
