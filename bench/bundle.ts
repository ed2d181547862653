import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { FUNCTION_NAMES, type FunctionName } from '../src/config/contract';

/** Repository root (bench/ is one level down). */
export const REPO_ROOT = resolve(import.meta.dirname, '..');

/**
 * The esbuild options the deployed functions are bundled with, written once so it is obvious what they
 * mirror. infra/constructs/payout-function.ts passes these to NodejsFunction (which turns them into
 * esbuild CLI flags; see aws-cdk-lib/aws-lambda-nodejs/lib/bundling.js `buildEsbuildArgs`):
 *
 *   --bundle --target=node22 --platform=node --format=esm --outfile=index.mjs --minify --sourcemap
 *   --sources-content=false --log-level=warning --banner:js=<createRequire> --main-fields=module,main
 *   (no --external: externalModules is [], so the AWS SDK is bundled too)
 *
 * plus the alias the infra adds for Lambda: @aws-sdk/credential-provider-node → the env-only provider in
 * functions/shared/lambda-credentials.ts. infra does not export its options (they are inline in the
 * construct), so a change there must be copied here; the bench prints the options it used.
 */
export const LAMBDA_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire as __payoutCreateRequire } from 'node:module'; const require = __payoutCreateRequire(import.meta.url);",
  },
  external: [],
  alias: { '@aws-sdk/credential-provider-node': './functions/shared/lambda-credentials.ts' },
} as const satisfies BuildOptions;

export interface FunctionBundle {
  readonly name: FunctionName;
  /** The bundle (index.mjs); its source map sits beside it, as in the Lambda asset. */
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
}

/** Bundles every function into `outDir/<name>/index.mjs` (the asset layout NodejsFunction produces). */
export async function bundleFunctions(outDir: string): Promise<FunctionBundle[]> {
  const bundles: FunctionBundle[] = [];
  for (const name of FUNCTION_NAMES) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.mjs');
    await build({
      ...LAMBDA_BUNDLE_OPTIONS,
      // esbuild's own arrays/objects must be mutable copies; the constant stays frozen in spirit.
      mainFields: [...LAMBDA_BUNDLE_OPTIONS.mainFields],
      external: [],
      alias: { ...LAMBDA_BUNDLE_OPTIONS.alias },
      banner: { ...LAMBDA_BUNDLE_OPTIONS.banner },
      absWorkingDir: REPO_ROOT,
      entryPoints: [join(REPO_ROOT, 'functions', name, 'index.ts')],
      outfile: file,
    });
    bundles.push({ name, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size });
  }
  return bundles;
}

/** KB as the issue counts it: 1 kB = 1000 bytes (the larger, conservative count against a 500 kB limit), one decimal. */
export function toKb(bytes: number): number {
  return Math.round((bytes / 1000) * 10) / 10;
}
