import { describe, expect, it } from 'vitest';
import { parseControls } from '../../../src/config/controls';
import { ConfigError, loadConfig } from '../../../src/config/env';
import { TEST_LOCAL_ENV } from '../../support/fakes';

const base = TEST_LOCAL_ENV;

describe('spending controls configuration', () => {
  it('controls nothing when no policy is set (the quick start)', () => {
    expect(loadConfig(base).controls).toEqual({ approvalTtlMs: 259_200_000 });
    // Blank lines of an .env file are "not set" too.
    expect(loadConfig({ ...base, APPROVAL_MIN_AMOUNT: '', DAILY_LIMIT_AMOUNT: '' }).controls).toEqual({
      approvalTtlMs: 259_200_000,
    });
  });

  it('reads yuan strings as integer fen', () => {
    const config = loadConfig({
      ...base,
      APPROVAL_MIN_AMOUNT: '5000',
      PAYOUT_MAX_AMOUNT: '20000.5',
      DAILY_LIMIT_AMOUNT: '100000.00',
      PAYEE_DAILY_LIMIT_AMOUNT: '30000',
      PAYEE_DAILY_LIMIT_COUNT: '3',
      APPROVAL_TTL_SECONDS: '3600',
      LOCAL_PAYEE_HMAC_KEY: Buffer.alloc(32, 2).toString('base64'),
    });
    expect(config.controls).toEqual({
      approvalMinFen: 500_000,
      payoutMaxFen: 2_000_050,
      dailyLimitFen: 10_000_000,
      payeeDailyLimitFen: 3_000_000,
      payeeDailyLimitCount: 3,
      approvalTtlMs: 3_600_000,
    });
    expect(config.local?.payeeHmacKey).toBeDefined();
  });

  it('refuses to start on a malformed or contradictory policy, naming every variable and no value', () => {
    const attempt = () =>
      loadConfig({
        ...base,
        APPROVAL_MIN_AMOUNT: '300',
        PAYOUT_MAX_AMOUNT: '200',
        DAILY_LIMIT_AMOUNT: '1e5',
        PAYEE_DAILY_LIMIT_COUNT: '0',
        APPROVAL_TTL_SECONDS: '12.5',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/APPROVAL_MIN_AMOUNT must not exceed PAYOUT_MAX_AMOUNT/);
    expect(attempt).toThrow(/DAILY_LIMIT_AMOUNT must be a positive yuan amount/);
    expect(attempt).toThrow(/PAYEE_DAILY_LIMIT_COUNT must be a whole number/);
    expect(attempt).toThrow(/APPROVAL_TTL_SECONDS must be a whole number/);
    expect(attempt).not.toThrow(/1e5/);
  });

  it('requires the payee HMAC key exactly when a payee limit is set', () => {
    expect(() => loadConfig({ ...base, PAYEE_DAILY_LIMIT_COUNT: '2' })).toThrow(
      /LOCAL_PAYEE_HMAC_KEY is required when PAYEE_DAILY_LIMIT_AMOUNT or PAYEE_DAILY_LIMIT_COUNT is set/,
    );
    expect(() =>
      loadConfig({ ...base, PAYEE_DAILY_LIMIT_COUNT: '2', LOCAL_PAYEE_HMAC_KEY: 'c2hvcnQ=' }),
    ).toThrow(/LOCAL_PAYEE_HMAC_KEY must be base64 of 32 bytes/);
    const kms = {
      ...base,
      KEY_SOURCE: 'kms',
      MERCHANT_KEY_KMS_KEY_ID: 'alias/m',
      FIELD_KEY_KMS_KEY_ID: 'alias/f',
      PAYEE_DAILY_LIMIT_AMOUNT: '100',
    };
    expect(() => loadConfig(kms)).toThrow(/PAYEE_HMAC_KMS_KEY_ID is required/);
    expect(loadConfig({ ...kms, PAYEE_HMAC_KMS_KEY_ID: 'alias/p' }).kms?.payeeHmacKmsKeyId).toBe('alias/p');
  });

  it('names fields the way the caller spells them', () => {
    const result = parseControls({ payeeDailyLimit: '10', dailyLimit: '5' }, (f) => `ctx.${f}`);
    expect(result).toEqual({
      ok: false,
      problems: [{ field: 'payeeDailyLimit', message: 'must not exceed ctx.dailyLimit' }],
    });
  });
});
