import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

// Lambda runs the functions on one Node major; the tests, local mode and the bench must run on that same
// major, not on whatever Node the machine has. `node` is a devDependency, so npm puts its binary first on
// PATH for every script and every `#!/usr/bin/env node` tool those start (vitest, tsx, cdk).
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const major = (version: string) => Number(/\d+/.exec(version)?.[0]);

it('the suite runs on the Node major that Lambda runs (the node devDependency, via npm)', () => {
  const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> };
  const deployed = read('infra/constructs/payout-function.ts').match(/Runtime\.NODEJS_(\d+)_X/)?.[1];
  expect(deployed, 'Lambda runtime in infra/constructs/payout-function.ts').toBeDefined();
  expect(major(pkg.devDependencies.node ?? ''), 'devDependencies.node').toBe(Number(deployed));
  expect(major(process.versions.node), 'the Node running this test (run it through npm or npx)').toBe(
    Number(deployed),
  );
});
