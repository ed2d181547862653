import { defineConfig } from 'vitest/config';

// One project per kind of test, so each gets only what it needs: unit and infra need no Java and no
// DynamoDB and run anywhere (a few unit tests start throwaway servers on 127.0.0.1 or run openssl);
// integration and e2e get DynamoDB Local from the global setup.
// `npm test` runs them all; `npm run test:unit` etc. run one (see package.json).
const needsDynamo = ['test/support/global-setup.ts'];
// `TEST_SHUFFLE_SEED=<n> npm test` runs files and tests in a shuffled order that the seed reproduces, to
// catch a test that only passes after another one.
const shuffleSeed = Number(process.env.TEST_SHUFFLE_SEED) || undefined;

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel workers, each with its own table and sandbox on free ports.
    pool: 'forks',
    restoreMocks: true,
    sequence: { shuffle: shuffleSeed !== undefined, ...(shuffleSeed ? { seed: shuffleSeed } : {}) },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // CDK template tests: pure (synth in memory, no AWS, no Docker), but slow; a project of their own
      // so a quick unit run can leave them out.
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: needsDynamo },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: needsDynamo } },
      // The web console in Debian's Chromium (scripts/ensure-chromium.sh) against the local stack; needs
      // the console built (`npm run console:build`, run by pretest).
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: needsDynamo,
          // A page drawn by a real browser on two busy cores (CI runs the other projects beside it) can take
          // more than expect.poll's default 1 s to finish its requests; waiting longer only costs time when
          // something is wrong.
          expect: { poll: { timeout: 10_000, interval: 100 } },
        },
      },
    ],
  },
});
