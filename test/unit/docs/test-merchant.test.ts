import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { LOCAL_OID_PARTNER } from '../../../local/test-merchant';

// One definition of the test merchant number: local mode, the sandbox's default, the tests and the bench
// import it from local/test-merchant.ts, so changing it there changes it everywhere. The documentation
// shows the value to readers, and infra's example configuration stands alone (infra imports no local code).
const ALLOWED = new Set(['local/test-merchant.ts', 'infra/config/example.ts']);

it('the test merchant number is written in code only in local/test-merchant.ts', () => {
  const root = new URL('../../../', import.meta.url);
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => /\.(ts|mts|js|mjs)$/.test(f));
  // Digits either side make a different number (the fuzzer's deliberately malformed 19-digit variant).
  const literal = new RegExp(`(?<!\\d)${LOCAL_OID_PARTNER}(?!\\d)`);
  const copies = files.filter((f) => {
    try {
      return literal.test(readFileSync(new URL(f, root), 'utf8'));
    } catch {
      return false; // listed but deleted in the working tree
    }
  });
  expect(files.length).toBeGreaterThan(50);
  expect(copies.filter((f) => !ALLOWED.has(f))).toEqual([]);
  expect(copies).toContain('local/test-merchant.ts');
});
