import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config/load';
import { PayoutStack } from './stack';

/**
 * `npx cdk synth|deploy -c env=prod -c oidPartner=… -c providerPublicKey=…`: see docs/deploy.md for every
 * configuration key.
 *
 * The stack is environment-agnostic on purpose: account and region are whatever the CLI deploys to
 * (profile or environment), ARNs use pseudo-parameters, and a synth needs no account and no lookups.
 */
const app = new App();
const config = loadConfig(app.node);

new PayoutStack(app, `LianLianPayout-${config.env}`, {
  config,
  tags: { project: 'lianlian-payout', environment: config.env },
});

// The same checks the tests run: an unsuppressed finding fails the synth, so nothing unreviewed deploys.
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
