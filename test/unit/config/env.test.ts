import { describe, expect, it } from 'vitest';
import { ENV } from '../../../src/config/contract';
import { ConfigError, loadConfig } from '../../../src/config/env';
import { APPLY_FUNCTION_MARGIN_MS } from '../../../src/config/timing';
import { TEST_OID_PARTNER } from '../../support/fakes';

/** A valid local-mode (env keys) configuration: MD5 so no provider public key is needed. */
const base: Record<string, string> = {
  [ENV.keySource]: 'env',
  [ENV.tableName]: 'payouts',
  [ENV.apiBase]: 'http://127.0.0.1:9',
  [ENV.oidPartner]: TEST_OID_PARTNER,
  [ENV.signType]: 'MD5',
  [ENV.md5Key]: 'md5-test-key',
  [ENV.localFieldKey]: Buffer.alloc(32, 1).toString('base64'),
  [ENV.notifyUrl]: 'http://127.0.0.1:3000/lianlian/notify',
};

function errorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('loadConfig — provider endpoints', () => {
  it('resolves a single base to the 2014 layout (the simple default)', () => {
    expect(loadConfig({ ...base, [ENV.apiBase]: 'https://yintong.com.cn/' }).endpoints).toEqual({
      applyUrl: 'https://yintong.com.cn/traderapi/cardandpay.htm',
      queryUrl: 'https://yintong.com.cn/traderapi/orderquery.htm',
      balanceUrl: 'https://yintong.com.cn/traderAcctQuery.htm',
    });
  });

  it('takes each URL on its own, without a base, and lets an explicit URL win over the base', () => {
    const split = loadConfig({
      ...base,
      [ENV.apiBase]: undefined,
      [ENV.applyUrl]: 'https://instantpay.lianlianpay.com/paymentapi/payment.htm',
      [ENV.queryUrl]: 'https://queryapi.lianlianpay.com/orderquery.htm',
      [ENV.balanceUrl]: 'https://queryapi.lianlianpay.com/traderAcctQuery.htm',
    });
    expect(split.endpoints).toEqual({
      applyUrl: 'https://instantpay.lianlianpay.com/paymentapi/payment.htm',
      queryUrl: 'https://queryapi.lianlianpay.com/orderquery.htm',
      balanceUrl: 'https://queryapi.lianlianpay.com/traderAcctQuery.htm',
    });
    expect(split.apiBase).toBeUndefined();

    const mixed = loadConfig({ ...base, [ENV.queryUrl]: 'https://queryapi.lianlianpay.com/orderquery.htm' });
    expect(mixed.endpoints.applyUrl).toBe('http://127.0.0.1:9/traderapi/cardandpay.htm');
    expect(mixed.endpoints.queryUrl).toBe('https://queryapi.lianlianpay.com/orderquery.htm');
  });

  it('refuses a configuration with neither a base nor both URLs, naming the variables', () => {
    const none = errorOf({ ...base, [ENV.apiBase]: undefined });
    expect(none.message).toContain(
      `${ENV.apiBase} is required unless ${ENV.applyUrl} and ${ENV.queryUrl} are set`,
    );
    expect(none.problems.map((p) => p.name)).toEqual([ENV.apiBase]);

    const applyOnly = errorOf({ ...base, [ENV.apiBase]: '', [ENV.applyUrl]: 'https://a.example/apply' });
    expect(applyOnly.message).toContain(`${ENV.apiBase} is required unless ${ENV.queryUrl} is set`);
  });

  it('names a malformed URL variable without quoting it', () => {
    const error = errorOf({ ...base, [ENV.queryUrl]: 'not a url secret-ish' });
    expect(error.message).toContain(`${ENV.queryUrl} must be a URL`);
    expect(error.message).not.toContain('secret-ish');
  });
});

describe('loadConfig — the timing the design relies on (defect 2)', () => {
  it('accepts the defaults: 120 s minimum age over a 10 s provider timeout, 30 min grace', () => {
    const config = loadConfig(base);
    expect(config.reconcile.minAgeMs).toBe(120_000);
    expect(config.notFoundGraceMs).toBe(1_800_000);
    expect(config.keyCacheMs).toBe(300_000);
  });

  it('refuses a minimum age not above the provider timeout plus the apply margin, naming it and why', () => {
    // 10 s timeout + 10 s margin = 20 s: 20 is not above it, 21 is.
    expect(APPLY_FUNCTION_MARGIN_MS).toBe(10_000);
    const error = errorOf({ ...base, [ENV.timeoutMs]: '10000', [ENV.reconcileMinAgeSeconds]: '20' });
    expect(error.problems.map((p) => p.name)).toEqual([ENV.reconcileMinAgeSeconds]);
    expect(error.message).toMatch(
      /RECONCILE_MIN_AGE_SECONDS must be more than 20 s .*apply may still be in flight/,
    );
    expect(loadConfig({ ...base, [ENV.reconcileMinAgeSeconds]: '21' }).reconcile.minAgeMs).toBe(21_000);
    // A longer provider timeout moves the bound with it.
    expect(() => loadConfig({ ...base, [ENV.timeoutMs]: '115000' })).toThrow(/RECONCILE_MIN_AGE_SECONDS/);
  });

  it('refuses a not-found grace below 1800 s, naming it and why', () => {
    const error = errorOf({ ...base, [ENV.notFoundGraceSeconds]: '1799' });
    expect(error.problems.map((p) => p.name)).toEqual([ENV.notFoundGraceSeconds]);
    expect(error.message).toMatch(/NOT_FOUND_GRACE_SECONDS must be at least 1800 s: .*8901/);
  });

  it('reports every problem at once', () => {
    const error = errorOf({
      ...base,
      [ENV.apiBase]: undefined,
      [ENV.notFoundGraceSeconds]: '60',
      [ENV.reconcileMinAgeSeconds]: '1',
    });
    expect(error.problems.map((p) => p.name).sort()).toEqual(
      [ENV.apiBase, ENV.notFoundGraceSeconds, ENV.reconcileMinAgeSeconds].sort(),
    );
  });
});

describe('loadConfig — the notify URL', () => {
  it('refuses a NOTIFY_URL with "&": it is signed raw, so it would read as a field of its own (spec §13)', () => {
    const error = errorOf({ ...base, [ENV.notifyUrl]: 'https://merchant.example.com/notify?a=1&b=2' });
    expect(error.message).toContain(`${ENV.notifyUrl} must not contain "&"`);
    expect(
      loadConfig({ ...base, [ENV.notifyUrl]: 'https://merchant.example.com/notify?a=1' }).notifyUrl,
    ).toBe('https://merchant.example.com/notify?a=1');
  });
});

describe('loadConfig — errors', () => {
  it('names missing and malformed variables, never their values', () => {
    const error = errorOf({ ...base, [ENV.tableName]: undefined, [ENV.oidPartner]: 'abc-secret' });
    expect(error.message).toContain(`${ENV.tableName} is required`);
    expect(error.message).toContain(`${ENV.oidPartner} must be 18 digits`);
    expect(error.message).not.toContain('abc-secret');
    expect(errorOf({ ...base, [ENV.keySource]: 'vault' }).message).toContain(
      `${ENV.keySource} must be "kms" or "env"`,
    );
  });

  it('still requires the provider public key for RSA', () => {
    expect(errorOf({ ...base, [ENV.signType]: 'RSA' }).message).toContain(
      `${ENV.providerPublicKey} is required when ${ENV.signType}=RSA`,
    );
  });
});

describe('batch dispatch rates (issue 11)', () => {
  it('defaults to provider 60/s = dispatch 50/s + reconcile 10/s', () => {
    expect(loadConfig(base).dispatch).toEqual({
      providerRatePerSecond: 60,
      ratePerSecond: 50,
      concurrency: 64,
      balanceCheckMs: 300_000,
    });
  });

  it('an unset dispatch rate is what the provider budget leaves after reconciliation', () => {
    expect(loadConfig({ ...base, [ENV.reconcileRatePerSecond]: '50' }).dispatch.ratePerSecond).toBe(10);
    expect(() => loadConfig({ ...base, [ENV.reconcileRatePerSecond]: '60' })).toThrow(
      /DISPATCH_RATE_PER_SECOND \(1\) \+ RECONCILE_RATE_PER_SECOND \(60\) must not exceed/,
    );
  });

  it('refuses to start when dispatch + reconcile exceed the provider rate', () => {
    expect(() => loadConfig({ ...base, [ENV.dispatchRatePerSecond]: '55' })).toThrow(
      /PROVIDER_RATE_PER_SECOND.*DISPATCH_RATE_PER_SECOND \(55\) \+ RECONCILE_RATE_PER_SECOND \(10\) must not exceed PROVIDER_RATE_PER_SECOND \(60\)/,
    );
    expect(
      loadConfig({ ...base, [ENV.dispatchRatePerSecond]: '55', [ENV.providerRatePerSecond]: '65' }).dispatch
        .ratePerSecond,
    ).toBe(55);
  });
});

/** EXPORT_INLINE_MAX_BYTES in the functions' configuration (the query function serves exports locally). */
describe('EXPORT_INLINE_MAX_BYTES', () => {
  it('is absent unless set (the export keeps its 4 MB default), a whole number of bytes when set', () => {
    expect(loadConfig(base).exportInlineMaxBytes).toBeUndefined();
    expect(loadConfig({ ...base, [ENV.exportInlineMaxBytes]: '' }).exportInlineMaxBytes).toBeUndefined();
    expect(loadConfig({ ...base, [ENV.exportInlineMaxBytes]: '2048' }).exportInlineMaxBytes).toBe(2048);
  });

  it('refuses zero, negatives, fractions and units, naming the variable', () => {
    for (const bad of ['0', '-5', '1.5', '4MB']) {
      expect(
        errorOf({ ...base, [ENV.exportInlineMaxBytes]: bad }).problems.map((p) => p.name),
        bad,
      ).toEqual([ENV.exportInlineMaxBytes]);
    }
  });
});
