import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { functionBuildOptions, REPO_ROOT } from '../../bench/bundle';

/**
 * What goes into a function's bundle is decided by its imports: a client imported where it is not used
 * is kilobytes of cold start in every container. These pin the choices made for size: the SSM client
 * only where the merchant key is loaded, zod's mini build (never the classic API, ~60 kB more), and
 * reconcile (SSM, KMS and DynamoDB already) sending nothing itself: its dispatch re-triggers and Funds
 * Low leave through the table stream, so the SQS and EventBridge clients are the publisher's.
 */
async function bundledFiles(name: string): Promise<string[]> {
  const result = await build({
    ...functionBuildOptions(name, join(REPO_ROOT, '.bundle-contents', name, 'index.mjs')),
    sourcemap: false,
    write: false,
    metafile: true,
  });
  const inputs = Object.values(result.metafile.outputs)[0]?.inputs ?? {};
  // Only what survived tree shaking: a module whose code was all dropped contributes 0 bytes.
  return Object.entries(inputs)
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([file]) => file);
}

const has = (files: string[], part: string) => files.some((f) => f.includes(part));

describe('function bundles', () => {
  it('carry the SSM client only where the merchant key is loaded', async () => {
    expect(has(await bundledFiles('batches'), 'node_modules/@aws-sdk/client-ssm/')).toBe(false);
    expect(has(await bundledFiles('apply'), 'node_modules/@aws-sdk/client-ssm/')).toBe(true);
  }, 60_000);

  it('leave SQS and EventBridge to the publisher: reconcile carries neither client', async () => {
    const reconcile = await bundledFiles('reconcile');
    expect(has(reconcile, 'node_modules/@aws-sdk/client-sqs/')).toBe(false);
    expect(has(reconcile, 'node_modules/@aws-sdk/client-eventbridge/')).toBe(false);
    const publish = await bundledFiles('publish');
    expect(has(publish, 'node_modules/@aws-sdk/client-sqs/')).toBe(true);
    expect(has(publish, 'node_modules/@aws-sdk/client-eventbridge/')).toBe(true);
  }, 60_000);

  it("use zod's mini build with its English messages, never the classic API", async () => {
    const files = await bundledFiles('apply');
    expect(has(files, 'node_modules/zod/v4/mini/')).toBe(true);
    expect(has(files, 'node_modules/zod/v4/locales/en.js')).toBe(true);
    expect(files.filter((f) => f.includes('node_modules/zod/v4/classic/'))).toEqual([]);
  }, 60_000);
});
