import { randomBytes } from 'node:crypto';
import { MemoryMetrics } from '../../functions/shared/observability';
import { LOCAL_OID_PARTNER } from '../../local/test-merchant';
import { EnvelopeFieldCipher, LocalDataKeySource } from '../../src/adapters/crypto/field-cipher';
import { LocalPayeeKeyer } from '../../src/adapters/crypto/payee-key';
import type { PayoutConfig, PayoutDeps } from '../../src/core/payouts';
import type {
  ApplyOutcome,
  Clock,
  Log,
  OrderStore,
  ProviderClient,
  QueryOutcome,
} from '../../src/core/ports';
import type { ApplyFields } from '../../src/lianlian/messages';
import { MemoryOrderStore } from './memory-order-store';

/** Test merchant number: 18 digits, clearly not a real merchant. */
export const TEST_OID_PARTNER = LOCAL_OID_PARTNER;

/**
 * The least a local-mode function needs to start (MD5 sign type, so no provider key; values obviously
 * fake). Tests spread it and add the settings they are about.
 */
export const TEST_LOCAL_ENV: Readonly<Record<string, string>> = {
  KEY_SOURCE: 'env',
  TABLE_NAME: 'payouts',
  LLP_API_BASE: 'http://127.0.0.1:1',
  LLP_OID_PARTNER: TEST_OID_PARTNER,
  LLP_SIGN_TYPE: 'MD5',
  LLP_MD5_KEY: 'not-a-real-md5-key',
  NOTIFY_URL: 'http://127.0.0.1:2/lianlian/notify',
  LOCAL_FIELD_KEY: Buffer.alloc(32, 7).toString('base64'),
};

/** A provider double that records every call and answers what the test scripts. */
export class FakeProvider implements ProviderClient {
  readonly applies: ApplyFields[] = [];
  readonly queries: { noOrder: string; dtOrder?: string }[] = [];
  applyOutcome: (fields: ApplyFields) => ApplyOutcome | Promise<ApplyOutcome> = () => ({
    kind: 'accepted',
    retCode: '0000',
    oidPaybill: '2026112700000001',
  });
  queryOutcome: (noOrder: string) => QueryOutcome | Promise<QueryOutcome> = () => ({
    kind: 'not_found',
    retCode: '8901',
  });

  async apply(fields: ApplyFields): Promise<ApplyOutcome> {
    this.applies.push(fields);
    return this.applyOutcome(fields);
  }

  async query(noOrder: string, dtOrder?: string): Promise<QueryOutcome> {
    this.queries.push({ noOrder, ...(dtOrder ? { dtOrder } : {}) });
    return this.queryOutcome(noOrder);
  }
}

export class FixedClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Keeps every log record so tests can assert on it (and on what it must never contain). */
export class CapturingLog implements Log {
  readonly records: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  debug(message: string, attributes?: Record<string, unknown>) {
    this.records.push({ level: 'debug', message, attributes });
  }
  info(message: string, attributes?: Record<string, unknown>) {
    this.records.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes?: Record<string, unknown>) {
    this.records.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes?: Record<string, unknown>) {
    this.records.push({ level: 'error', message, attributes });
  }
  text(): string {
    return JSON.stringify(this.records);
  }
}

/** MemoryMetrics that also keeps every count with its dimensions, for tests that assert on them. */
export class RecordingMetrics extends MemoryMetrics {
  readonly records: { name: string; value: number; dimensions?: Record<string, string> }[] = [];
  override count(name: string, value = 1, dimensions?: Record<string, string>): void {
    super.count(name, value);
    this.records.push({ name, value, ...(dimensions ? { dimensions } : {}) });
  }
  /** The sum counted under `name` with exactly these dimensions (none: without dimensions). */
  with(name: string, dimensions?: Record<string, string>): number {
    return this.records
      .filter((r) => r.name === name && JSON.stringify(r.dimensions) === JSON.stringify(dimensions))
      .reduce((sum, r) => sum + r.value, 0);
  }
}

export interface TestDeps extends PayoutDeps {
  readonly store: OrderStore;
  readonly provider: FakeProvider;
  readonly clock: FixedClock;
  readonly log: CapturingLog;
  readonly metrics: RecordingMetrics;
}

/** In-memory ports around the real payout rules and the real field encryption (local data keys). */
export function makeDeps(
  overrides: { store?: OrderStore; config?: Partial<PayoutConfig>; now?: Date } = {},
): TestDeps {
  return {
    store: overrides.store ?? new MemoryOrderStore(),
    provider: new FakeProvider(),
    cipher: new EnvelopeFieldCipher(new LocalDataKeySource(randomBytes(32))),
    clock: new FixedClock(overrides.now ?? new Date('2026-11-27T04:00:00.000Z')),
    log: new CapturingLog(),
    metrics: new RecordingMetrics(),
    // Used only when a test configures per-payee limits (config.controls).
    payeeKeys: new LocalPayeeKeyer(randomBytes(32)),
    config: {
      oidPartner: TEST_OID_PARTNER,
      notifyUrl: 'http://127.0.0.1:3000/lianlian/notify',
      notFoundGraceMs: 30 * 60_000,
      firstCheckDelayMs: 120_000,
      ...overrides.config,
    },
  };
}
