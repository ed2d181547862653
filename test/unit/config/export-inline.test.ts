import { describe, expect, it } from 'vitest';
import { ENV } from '../../../src/config/contract';
import { ConfigError, loadConfig } from '../../../src/config/env';
import { TEST_OID_PARTNER } from '../../support/fakes';

/** EXPORT_INLINE_MAX_BYTES in the functions' configuration (the query function serves exports locally). */
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

describe('EXPORT_INLINE_MAX_BYTES', () => {
  it('is absent unless set (the export keeps its 4 MB default), a whole number of bytes when set', () => {
    expect(loadConfig(base).exportInlineMaxBytes).toBeUndefined();
    expect(loadConfig({ ...base, [ENV.exportInlineMaxBytes]: '' }).exportInlineMaxBytes).toBeUndefined();
    expect(loadConfig({ ...base, [ENV.exportInlineMaxBytes]: '2048' }).exportInlineMaxBytes).toBe(2048);
  });

  it('refuses zero, negatives, fractions and units, naming the variable', () => {
    for (const bad of ['0', '-5', '1.5', '4MB']) {
      let error: unknown;
      try {
        loadConfig({ ...base, [ENV.exportInlineMaxBytes]: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect(
        (error as ConfigError).problems.map((p) => p.name),
        bad,
      ).toEqual([ENV.exportInlineMaxBytes]);
    }
  });
});
