import { randomUUID } from 'node:crypto';
import type { PayoutOrder } from '../../src/core/model';

/** A unique no_order within the provider's limits (≤ 32 chars of [A-Za-z0-9_-]). */
export function testNoOrder(prefix = 'T'): string {
  return `${prefix}${randomUUID().replaceAll('-', '')}`.slice(0, 32);
}

/**
 * A valid PENDING order. Card and name are masked placeholders and the seal is a dummy string: fixtures
 * never contain a real card number or a real person's name.
 */
export function makeOrder(overrides: Partial<PayoutOrder> = {}): PayoutOrder {
  return {
    no_order: testNoOrder(),
    status: 'PENDING',
    version: 1,
    money_fen: 1000,
    money_order: '10.00',
    flag_card: '0',
    info_order: 'test payout',
    // 2026-11-27 12:00:00 UTC+8 = 04:00:00Z, matching the ISO timestamps below.
    dt_order: '20261127120000',
    payee_sealed: 'sealed-test',
    card_no_masked: '622200******0000',
    acct_name_masked: '张*',
    request_digest: 'digest',
    created_at: '2026-11-27T04:00:00.000Z',
    updated_at: '2026-11-27T04:00:00.000Z',
    applied_at: '2026-11-27T04:00:00.000Z',
    apply_attempts: 1,
    next_check_at: '2026-11-27T04:05:00.000Z',
    check_count: 0,
    anomalies: 0,
    history: [],
    ...overrides,
  };
}
