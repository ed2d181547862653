import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { startLocalStack } from '../../local/stack';
import { ENV } from '../../src/config/contract';
import { ConfigError } from '../../src/config/env';

describe('local mode refuses unsafe timing at start (defect 2)', () => {
  it('startLocalStack rejects a minimum age the apply may outlive, naming the variable', async () => {
    const attempt = startLocalStack({
      port: 0,
      dynamoEndpoint: inject('dynamoEndpoint'),
      tableName: `timing-${randomUUID()}`,
      env: { [ENV.reconcileMinAgeSeconds]: '5', [ENV.notFoundGraceSeconds]: '600' },
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.name).sort()).toEqual(
      [ENV.notFoundGraceSeconds, ENV.reconcileMinAgeSeconds].sort(),
    );
    expect((error as Error).message).toMatch(/RECONCILE_MIN_AGE_SECONDS must be more than 20 s/);
  });
});

describe('local mode takes the provider as one base or each URL (defect 4)', () => {
  it('with LLP_APPLY_URL and LLP_QUERY_URL it starts no sandbox and calls those URLs', async () => {
    const applyUrl = 'http://127.0.0.1:9/traderapi/cardandpay.htm';
    const queryUrl = 'http://127.0.0.1:9/traderapi/orderquery.htm';
    const stack = await startLocalStack({
      port: 0,
      dynamoEndpoint: inject('dynamoEndpoint'),
      tableName: `endpoints-${randomUUID()}`,
      env: {
        [ENV.applyUrl]: applyUrl,
        [ENV.queryUrl]: queryUrl,
        [ENV.signType]: 'MD5',
        [ENV.md5Key]: 'md5-test-key',
      },
    });
    try {
      expect(stack.sandbox).toBeUndefined();
      expect(stack.runtime.config.apiBase).toBeUndefined();
      expect(stack.runtime.config.endpoints).toEqual({ applyUrl, queryUrl });
    } finally {
      await stack.close();
    }
  });
});
