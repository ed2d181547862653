import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAMBDA_BUNDLE_OPTIONS, REPO_ROOT } from '../../bench/bundle';

/**
 * The bench bundles the functions with its own copy of the infra's esbuild options (the construct keeps
 * them inline). If the construct changes, the bench's bundle sizes and init times stop describing what
 * is deployed: this keeps the two in step.
 */
describe('bench bundle options mirror infra/constructs/payout-function.ts', () => {
  const construct = readFileSync(join(REPO_ROOT, 'infra', 'constructs', 'payout-function.ts'), 'utf8');

  it('has the same esbuild settings', () => {
    expect(LAMBDA_BUNDLE_OPTIONS.target).toBe('node22');
    expect(construct).toContain(`target: '${LAMBDA_BUNDLE_OPTIONS.target}'`);
    expect(construct).toContain('minify: true');
    expect(construct).toContain('sourceMap: true');
    expect(construct).toContain('sourcesContent: false');
    expect(construct).toContain('format: OutputFormat.ESM');
    expect(construct).toContain(`mainFields: ['module', 'main']`);
    expect(construct).toContain('externalModules: []');
    expect(construct).toContain(LAMBDA_BUNDLE_OPTIONS.banner.js);
  });

  it('aliases the credential provider to the same module', () => {
    expect(construct).toContain("'--alias:@aws-sdk/credential-provider-node'");
    expect(construct).toContain("'lambda-credentials.ts'");
    expect(LAMBDA_BUNDLE_OPTIONS.alias['@aws-sdk/credential-provider-node']).toBe(
      './functions/shared/lambda-credentials.ts',
    );
  });
});
