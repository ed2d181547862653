import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../infra/stack';
import { OID_PARTNER, PROVIDER_PUBLIC_KEY } from './support';

const run = promisify(execFile);

/**
 * `npx cdk synth` exactly as an operator runs it, through cdk.json's app command, with no AWS account,
 * no credentials, no Docker and npm offline: the functions bundle with the local esbuild, and cdk-nag runs
 * inside the app (an unsuppressed finding would fail this synth).
 */
describe('npx cdk synth', () => {
  it('synthesises the repository offline', { timeout: 180_000 }, async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-synth-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      npm_config_offline: 'true',
      // Docker would be the fallback bundler; make sure it cannot be the one used.
      CDK_DOCKER: '/bin/false',
    };

    const { stderr } = await run(
      'npx',
      [
        'cdk',
        'synth',
        '--quiet',
        '--no-notices',
        '--no-version-reporting',
        '--output',
        outdir,
        '-c',
        'env=prod',
        '-c',
        `oidPartner=${OID_PARTNER}`,
        '-c',
        `providerPublicKey=${PROVIDER_PUBLIC_KEY}`,
      ],
      { cwd: REPOSITORY_ROOT, env, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
    );

    const templatePath = join(outdir, 'LianLianPayout-prod.template.json');
    expect(existsSync(templatePath), stderr).toBe(true);
    const template = JSON.parse(readFileSync(templatePath, 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    // The six payout functions, batches and dispatch (issue 11), balance and the daily close (issue 13),
    // and the export (issue 12).
    expect(functions).toHaveLength(11);
    expect(stderr).not.toMatch(/AwsSolutions-[A-Z0-9]+:/);
  });
});
