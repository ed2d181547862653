import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS } from '../../infra/config/environments';
import { EXAMPLE_OID_PARTNER, EXAMPLE_PROVIDER_PUBLIC_KEY } from '../../infra/config/example';
import { ConfigError, type ContextSource, loadConfig, parseConfig } from '../../infra/config/load';
import { isCidr, providerEndpoints } from '../../infra/config/schema';
import { OID_PARTNER, PROVIDER_PUBLIC_KEY } from './support';

/** CDK context as the App sees it: `-c key=value` gives strings, cdk.json/cdk.context.json keep JSON types. */
const context = (values: Record<string, unknown>): ContextSource => ({ tryGetContext: (key) => values[key] });
const minimal = { oidPartner: OID_PARTNER, providerPublicKey: PROVIDER_PUBLIC_KEY };

describe('deployment configuration', () => {
  it('defaults to dev, the environment cdk.json names', () => {
    expect(loadConfig(context(minimal)).env).toBe('dev');
    expect(loadConfig(context({ ...minimal, 'lianlian-payout:env': 'prod' })).env).toBe('prod');
    // -c env=… wins over cdk.json's default.
    expect(loadConfig(context({ ...minimal, 'lianlian-payout:env': 'prod', env: 'dev' })).env).toBe('dev');
  });

  it('takes the environment’s defaults and overlays context values', () => {
    const config = loadConfig(
      context({ ...minimal, env: 'prod', reconcileRateMinutes: '10', logLevel: 'WARN' }),
    );

    expect(config.logRetentionDays).toBe(400);
    expect(config.merchantKeyParam).toBe('/lianlian-payout/prod/merchant-rsa-key');
    expect(config.reconcileRateMinutes).toBe(10);
    expect(config.logLevel).toBe('WARN');
  });

  it('reads lists from the command line (comma-separated or JSON) and from JSON context', () => {
    const fromCli = loadConfig(context({ ...minimal, notifyAllowCidrs: '203.0.113.0/24, 198.51.100.7/32' }));
    const fromJsonText = loadConfig(context({ ...minimal, notifyAllowCidrs: '["203.0.113.0/24"]' }));
    const fromFile = loadConfig(context({ ...minimal, notifyAllowCidrs: ['2001:db8::/32'] }));

    expect(fromCli.notifyAllowCidrs).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
    expect(fromJsonText.notifyAllowCidrs).toEqual(['203.0.113.0/24']);
    expect(fromFile.notifyAllowCidrs).toEqual(['2001:db8::/32']);
    expect(loadConfig(context(minimal)).notifyAllowCidrs).toEqual([]);
  });

  it('lets a bare dev synth through with the marked example merchant and key, never prod', () => {
    const dev = loadConfig(context({}));
    expect(dev.oidPartner).toBe(EXAMPLE_OID_PARTNER);
    expect(dev.providerPublicKey).toBe(EXAMPLE_PROVIDER_PUBLIC_KEY);
    expect(() => loadConfig(context({ env: 'prod' }))).toThrow(/oidPartner is required/);
  });

  it('fails the synth with every problem named, and says how to set a missing value', () => {
    const attempt = () =>
      loadConfig(
        context({
          env: 'prod',
          notifyAllowCidrs: '203.0.113.0',
          apiBase: 'http://yintong.com.cn',
          logRetentionDays: 10,
        }),
      );

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/oidPartner is required \(pass -c oidPartner=/);
    expect(attempt).toThrow(/providerPublicKey is required when signType is RSA/);
    expect(attempt).toThrow(/notifyAllowCidrs\.0 must be an IPv4 or IPv6 CIDR/);
    expect(attempt).toThrow(/apiBase must be an https:\/\/ URL/);
    expect(attempt).toThrow(/logRetentionDays must be a CloudWatch Logs retention/);
  });

  it('refuses at synth the timing the design cannot work with, naming each setting and why (defect 2)', () => {
    const attempt = () =>
      loadConfig(
        context({
          ...minimal,
          providerTimeoutMs: '15000',
          reconcileMinAgeSeconds: '25',
          notFoundGraceSeconds: '900',
          reconcileRateMinutes: '2',
        }),
      );
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/reconcileMinAgeSeconds must be more than 25 s \(the provider timeout plus/);
    expect(attempt).toThrow(/notFoundGraceSeconds must be at least 1800 s/);
    expect(attempt).toThrow(
      /reconcileRateMinutes must be at least the reconcile function's timeout \(300 s\)/,
    );
    expect(() =>
      loadConfig(context({ ...minimal, providerTimeoutMs: '15000', reconcileMinAgeSeconds: '26' })),
    ).not.toThrow();
  });

  it('takes one base or the apply and query URLs each, and names what is missing (defect 4)', () => {
    const split = loadConfig(
      context({
        ...minimal,
        applyUrl: 'https://instantpay.example.com/paymentapi/payment.htm',
        queryUrl: 'https://queryapi.example.com/orderquery.htm',
      }),
    );
    expect(split.applyUrl).toBe('https://instantpay.example.com/paymentapi/payment.htm');
    expect(providerEndpoints(split).queryUrl).toBe('https://queryapi.example.com/orderquery.htm');

    // The environments carry a base; a deployment that drops it must give both URLs.
    const withoutBase = { ...ENVIRONMENTS.dev, env: 'dev', apiBase: undefined };
    expect(() => parseConfig(withoutBase)).toThrow(
      /apiBase is required unless applyUrl and queryUrl are given/,
    );
    expect(() => parseConfig({ ...withoutBase, applyUrl: 'https://a.example.com/apply' })).toThrow(
      /apiBase is required unless queryUrl is given/,
    );
    expect(() => parseConfig({ ...withoutBase, queryUrl: 'http://q.example.com/query' })).toThrow(
      /queryUrl must be an https:\/\/ URL/,
    );
  });

  it('refuses at synth a notify URL with "&", which would change what the signature covers (spec §13)', () => {
    expect(() =>
      loadConfig(context({ ...minimal, notifyUrl: 'https://merchant.example.com/notify?a=1&b=2' })),
    ).toThrow(/notifyUrl must not contain "&"/);
  });

  it('refuses a merchant number given as a JSON number (18 digits lose precision)', () => {
    expect(() => loadConfig(context({ ...minimal, oidPartner: JSON.parse('201408071000001543') }))).toThrow(
      /quote it/,
    );
  });

  it('checks the provider key is an RSA public key, and lets MD5 deployments go without one', () => {
    expect(() => loadConfig(context({ ...minimal, providerPublicKey: 'MIGfnot-a-key' }))).toThrow(
      /providerPublicKey/,
    );
    expect(loadConfig(context({ oidPartner: OID_PARTNER, signType: 'MD5' })).signType).toBe('MD5');
  });

  it('rejects unknown environments and reserved or relative parameter names', () => {
    expect(() => loadConfig(context({ ...minimal, env: 'staging' }))).toThrow(/env must be one of dev, prod/);
    expect(() => loadConfig(context({ ...minimal, merchantKeyParam: 'merchant-key' }))).toThrow(
      /merchantKeyParam/,
    );
    expect(() => loadConfig(context({ ...minimal, merchantKeyParam: '/aws/x' }))).toThrow(/reserved/);
  });

  it('takes one or two Elastic IP allocation ids for the fixed egress, no more', () => {
    const ids = 'eipalloc-0123456789abcdef0,eipalloc-0fedcba9876543210';
    expect(
      loadConfig(context({ ...minimal, egressEipAllocationIds: ids })).egressEipAllocationIds,
    ).toHaveLength(2);
    expect(() =>
      loadConfig(context({ ...minimal, egressEipAllocationIds: `${ids},eipalloc-0aaaaaaaaaaaaaaa0` })),
    ).toThrow(/at most 2/);
    expect(() => loadConfig(context({ ...minimal, egressEipAllocationIds: '198.51.100.23' }))).toThrow(
      /eipalloc/,
    );
  });

  it('recognises CIDRs and nothing else', () => {
    for (const ok of ['203.0.113.7/32', '0.0.0.0/0', '2001:db8::/32']) expect(isCidr(ok), ok).toBe(true);
    for (const bad of [
      '203.0.113.7',
      '203.0.113.7/33',
      '300.1.1.1/8',
      'example.com/24',
      '1.2.3.4/8/8',
      '::/129',
    ]) {
      expect(isCidr(bad), bad).toBe(false);
    }
  });

  it('takes spending controls per environment and validates them as the functions do at start', () => {
    const none = loadConfig(context(minimal));
    expect(none.approvalMinAmount).toBeUndefined();
    expect(none.dailyLimitAmount).toBeUndefined();

    const set = loadConfig(
      context({
        ...minimal,
        approvalMinAmount: '5000',
        dailyLimitAmount: '100000.00',
        payeeDailyLimitCount: '3',
      }),
    );
    expect(set.approvalMinAmount).toBe('5000');
    expect(set.payeeDailyLimitCount).toBe(3);

    const attempt = () =>
      loadConfig(
        context({
          ...minimal,
          approvalMinAmount: '300',
          payoutMaxAmount: '200',
          dailyLimitAmount: 1000.5,
          payeeDailyLimitAmount: 'lots',
        }),
      );
    expect(attempt).toThrow(/approvalMinAmount must not exceed payoutMaxAmount/);
    expect(attempt).toThrow(/dailyLimitAmount must be a yuan amount given as a string/);
    expect(attempt).toThrow(/payeeDailyLimitAmount must be a positive yuan amount/);
  });
});

describe('batch dispatch rates at synth (issue 11)', () => {
  it('defaults to 60 = 50 + 10 and refuses dispatch + reconcile above the provider rate', () => {
    const config = loadConfig(context(minimal));
    expect([config.providerRatePerSecond, config.reconcileRatePerSecond]).toEqual([60, 10]);
    // Unset: what the budget leaves after reconciliation (the dispatch function is given 50).
    expect(config.dispatchRatePerSecond).toBeUndefined();
    expect(() => loadConfig(context({ ...minimal, reconcileRatePerSecond: '50' }))).not.toThrow();
    expect(() => loadConfig(context({ ...minimal, dispatchRatePerSecond: '60' }))).toThrow(
      /providerRatePerSecond DISPATCH_RATE_PER_SECOND \(60\) \+ RECONCILE_RATE_PER_SECOND \(10\) must not exceed/,
    );
  });
});
