import { execFile } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { FUNCTION_NAMES, type FunctionName } from '../src/config/contract';
import { median, round } from './stats';

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
 * plus the alias the infra adds through `esbuildArgs` for Lambda: @aws-sdk/credential-provider-node → the
 * env-only provider in functions/shared/lambda-credentials.ts. infra does not export its options (they are
 * inline in the construct), so test/unit/bench-bundle.test.ts checks the construct still says the same.
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

/** The esbuild options of one function's bundle (LAMBDA_BUNDLE_OPTIONS, its entry point and output file). */
export function functionBuildOptions(name: string, outfile: string): BuildOptions {
  return {
    ...LAMBDA_BUNDLE_OPTIONS,
    // esbuild's own arrays/objects must be mutable copies; the constant stays frozen in spirit.
    mainFields: [...LAMBDA_BUNDLE_OPTIONS.mainFields],
    external: [],
    alias: { ...LAMBDA_BUNDLE_OPTIONS.alias },
    banner: { ...LAMBDA_BUNDLE_OPTIONS.banner },
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(REPO_ROOT, 'functions', name, 'index.ts')],
    outfile,
  };
}

/** Bundles every function into `outDir/<name>/index.mjs` (the asset layout NodejsFunction produces). */
export async function bundleFunctions(outDir: string): Promise<FunctionBundle[]> {
  const bundles: FunctionBundle[] = [];
  for (const name of FUNCTION_NAMES) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.mjs');
    await build(functionBuildOptions(name, file));
    bundles.push({ name, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size });
  }
  return bundles;
}

/** KB as the issue counts it: 1 kB = 1000 bytes (the larger, conservative count against a 500 kB limit), one decimal. */
export function toKb(bytes: number): number {
  return Math.round((bytes / 1000) * 10) / 10;
}

export interface InitTiming {
  /** import() of the bundle until its module (handler built) is ready, median of the runs. */
  readonly importMedianMs: number;
  /** From process start (performance.timeOrigin) to the same point: Node's own bootstrap included. */
  readonly sinceStartMedianMs: number;
  readonly importSamplesMs: readonly number[];
}

/**
 * Module init of a bundle in fresh Node processes, as a Lambda cold start pays it: the deployed
 * NODE_OPTIONS (--enable-source-maps, set by infra) and a minimal valid environment, nothing warmed up.
 * Each run is a new process; the bench reports the median of `runs`.
 */
export async function measureInit(
  bundle: FunctionBundle,
  env: Readonly<Record<string, string>>,
  runs: number,
): Promise<InitTiming> {
  const url = pathToFileURL(bundle.file).href;
  // The probe itself is tiny: time the import, check a handler came out, print one JSON line.
  const probe = [
    'const t0 = performance.now();',
    `const m = await import(${JSON.stringify(url)});`,
    'const t1 = performance.now();',
    "if (typeof m.handler !== 'function') throw new Error('no handler export');",
    'process.stdout.write(JSON.stringify({ importMs: t1 - t0, sinceStartMs: t1 }));',
  ].join(' ');
  const imports: number[] = [];
  const sinceStart: number[] = [];
  for (let i = 0; i < runs; i++) {
    const stdout = await new Promise<string>((resolveRun, reject) => {
      execFile(
        process.execPath,
        // process.execPath is Node 22 under npm scripts (the `node` devDependency), as in Lambda, so no SDK
        // version warning is expected; --no-warnings only keeps a failed probe's stderr to the bundle's own.
        ['--enable-source-maps', '--no-warnings', '--input-type=module', '-e', probe],
        { env: { PATH: process.env.PATH ?? '', ...env }, cwd: REPO_ROOT, timeout: 30_000 },
        (error, out, err) =>
          error ? reject(new Error(`${bundle.name} init failed: ${err || error.message}`)) : resolveRun(out),
      );
    });
    const parsed = JSON.parse(stdout) as { importMs: number; sinceStartMs: number };
    imports.push(parsed.importMs);
    sinceStart.push(parsed.sinceStartMs);
  }
  return {
    importMedianMs: round(median(imports), 1),
    sinceStartMedianMs: round(median(sinceStart), 1),
    importSamplesMs: imports.map((v) => round(v, 1)),
  };
}
