import type { OrderChange, PayoutOrder } from '../../src/core/model';
import type {
  ApplyOutcome,
  AwaitingPage,
  DuePage,
  LimitCommit,
  OrderStore,
  OrderVersion,
  ProviderClient,
  QueryOutcome,
} from '../../src/core/ports';
import type { ApplyFields } from '../../src/lianlian/messages';
import { mulberry32 } from '../stats';

/**
 * Fault injection through the ports: wrappers around the real DynamoOrderStore and the real
 * HttpProviderClient, handed to the stack with `overrides`. No production code path is edited.
 */

/** What a crashed process, a dropped connection or a throttled table looks like to the caller. */
/** FNV-1a: a stable 32-bit seed from a string. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

type StoreOp = 'create' | 'get' | 'update' | 'listDue' | 'listAwaitingApproval';

export interface StoreFaultPolicy {
  /** Probability that a call fails (0 = off). */
  readonly rate: number;
  /**
   * Of the failures, the share that happen after DynamoDB applied the call (the answer was lost):
   * the worst kind, since the write exists but the caller believes it failed.
   */
  readonly afterShare: number;
  readonly seed: number;
}

/**
 * Fails calls at a seeded rate, before or after the real call. Each decision is a function of the seed,
 * the operation, the order and how many times that operation was called for that order, not of the
 * global call order: concurrent requests interleave differently from run to run, and the same calls
 * should still fail.
 */
export class FaultyStore implements OrderStore {
  policy: StoreFaultPolicy = { rate: 0, afterShare: 0, seed: 1 };
  private readonly seen = new Map<string, number>();
  readonly injected: Record<StoreOp, { before: number; after: number }> = {
    create: { before: 0, after: 0 },
    get: { before: 0, after: 0 },
    update: { before: 0, after: 0 },
    listDue: { before: 0, after: 0 },
    listAwaitingApproval: { before: 0, after: 0 },
  };
  calls = 0;

  constructor(private readonly inner: OrderStore) {}

  setPolicy(policy: StoreFaultPolicy): void {
    this.policy = policy;
    this.seen.clear();
  }

  private async call<T>(op: StoreOp, key: string, run: () => Promise<T>): Promise<T> {
    this.calls++;
    const { rate, afterShare, seed } = this.policy;
    if (rate <= 0) return run();
    const id = `${op}:${key}`;
    const nth = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, nth);
    const random = mulberry32(fnv1a(`${seed}:${id}:${nth}`));
    if (random() >= rate) return run();
    if (random() < afterShare) {
      await run();
      this.injected[op].after++;
      throw new InjectedFault(`injected ${op} failure after the call`);
    }
    this.injected[op].before++;
    throw new InjectedFault(`injected ${op} failure before the call`);
  }

  create(order: PayoutOrder, commit?: LimitCommit) {
    return this.call('create', order.no_order, () => this.inner.create(order, commit));
  }
  get(noOrder: string) {
    return this.call('get', noOrder, () => this.inner.get(noOrder));
  }
  update(expected: OrderVersion, change: OrderChange, commit?: LimitCommit) {
    return this.call('update', expected.no_order, () => this.inner.update(expected, change, commit));
  }
  listDue(query: { dueBefore: string; limit: number; cursor?: string }): Promise<DuePage> {
    return this.call('listDue', query.cursor ?? 'first-page', () => this.inner.listDue(query));
  }

  listAwaitingApproval(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.call('listAwaitingApproval', query.cursor ?? 'first-page', () =>
      this.inner.listAwaitingApproval(query),
    );
  }

  /** The real store, for the bench's own reads (never faulted, never counted). */
  get real(): OrderStore {
    return this.inner;
  }
}

export type CrashPoint = 'before-send' | 'after-send';

/**
 * A process that dies around the apply: `before-send` after the order was recorded but before the apply
 * left (the provider never sees it); `after-send` after the provider took it but before its answer was
 * recorded (the handler answers 500, the order stays PENDING). Armed per no_order, once: the
 * reconciliation's resend goes through.
 */
export class CrashingProvider implements ProviderClient {
  private readonly armed = new Map<string, CrashPoint>();
  readonly crashed: Record<CrashPoint, number> = { 'before-send': 0, 'after-send': 0 };

  constructor(private readonly inner: ProviderClient) {}

  arm(noOrder: string, point: CrashPoint): void {
    this.armed.set(noOrder, point);
  }

  async apply(fields: ApplyFields): Promise<ApplyOutcome> {
    const point = this.armed.get(fields.no_order);
    if (point) this.armed.delete(fields.no_order);
    if (point === 'before-send') {
      this.crashed[point]++;
      throw new InjectedFault('injected crash before the apply was sent');
    }
    const outcome = await this.inner.apply(fields);
    if (point === 'after-send') {
      this.crashed[point]++;
      throw new InjectedFault('injected crash after the apply was sent, before its answer was recorded');
    }
    return outcome;
  }

  query(noOrder: string, dtOrder?: string): Promise<QueryOutcome> {
    return this.inner.query(noOrder, dtOrder);
  }
}
