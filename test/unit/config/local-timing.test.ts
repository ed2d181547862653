import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { startLocalStack } from '../../../local/stack';
import { ENV } from '../../../src/config/contract';
import { ConfigError } from '../../../src/config/env';

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
