import { assertPatchKeys } from '../../src/adapters/dynamodb/order-store';
import { TransitionConflictError } from '../../src/core/errors';
import type { OrderChange, PayoutOrder } from '../../src/core/model';
import type { AwaitingPage, DueOrderRef, DuePage, OrderStore, OrderVersion } from '../../src/core/ports';
import { isDueIndexed, isFinal } from '../../src/core/status';

interface Stored {
  order: PayoutOrder;
  /** Mirrors the presence of open_shard in DynamoDB, so the due index behaves the same in odd cases too. */
  indexed: boolean;
}

/**
 * In-memory OrderStore with the DynamoOrderStore semantics (the shared contract suite runs against both).
 * Every read and write goes through structuredClone so callers can never alias stored state.
 */
export class MemoryOrderStore implements OrderStore {
  private readonly orders = new Map<string, Stored>();

  async create(order: PayoutOrder): Promise<{ created: true } | { created: false; existing: PayoutOrder }> {
    const existing = this.orders.get(order.no_order);
    if (existing) return { created: false, existing: structuredClone(existing.order) };
    this.orders.set(order.no_order, {
      order: withoutUndefined(structuredClone(order)),
      indexed: !isFinal(order.status) && order.next_check_at !== undefined,
    });
    return { created: true };
  }

  async get(noOrder: string): Promise<PayoutOrder | undefined> {
    const stored = this.orders.get(noOrder);
    return stored ? structuredClone(stored.order) : undefined;
  }

  async update(expected: OrderVersion, change: OrderChange): Promise<PayoutOrder> {
    assertPatchKeys(change.set);
    const stored = this.orders.get(expected.no_order);
    if (!stored || stored.order.status !== expected.status || stored.order.version !== expected.version) {
      throw new TransitionConflictError(expected.no_order);
    }
    const keepIndexed = isDueIndexed(change.status, change.set.next_check_at);
    const leavesIndex = isFinal(change.status) && !keepIndexed;
    const next: Record<string, unknown> = { ...structuredClone(stored.order) };
    for (const [key, value] of Object.entries(structuredClone(change.set))) {
      if (value !== undefined) next[key] = value;
    }
    next.status = change.status;
    next.version = expected.version + 1;
    next.updated_at = change.at;
    if (change.history) next.history = [...stored.order.history, structuredClone(change.history)];
    let indexed = stored.indexed;
    if (leavesIndex) {
      delete next.next_check_at;
      indexed = false;
    } else if (keepIndexed) {
      indexed = true;
    }
    const order = withoutUndefined(next as unknown as PayoutOrder);
    this.orders.set(expected.no_order, { order, indexed });
    return structuredClone(order);
  }

  async listDue(query: { dueBefore: string; limit: number; cursor?: string }): Promise<DuePage> {
    const { dueBefore, limit } = query;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const due: DueOrderRef[] = [];
    for (const { order, indexed } of this.orders.values()) {
      const at = order.next_check_at;
      if (!indexed || at === undefined || at > dueBefore) continue;
      if (after && compareRefs({ no_order: order.no_order, next_check_at: at }, after) <= 0) continue;
      due.push({ no_order: order.no_order, next_check_at: at });
    }
    due.sort(compareRefs);
    const items = due.slice(0, limit);
    const last = items.at(-1);
    return due.length > limit && last ? { items, cursor: encodeCursor(last) } : { items };
  }

  async listAwaitingApproval(_query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    throw new Error('not implemented yet');
  }

  /** Number of stored orders; lets benchmarks and tests check nothing was written twice. */
  get size(): number {
    return this.orders.size;
  }
}

function compareRefs(a: DueOrderRef, b: DueOrderRef): number {
  if (a.next_check_at !== b.next_check_at) return a.next_check_at < b.next_check_at ? -1 : 1;
  return a.no_order < b.no_order ? -1 : a.no_order > b.no_order ? 1 : 0;
}

// DynamoDB drops undefined attributes (removeUndefinedValues); do the same so both stores return equal shapes.
function withoutUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function encodeCursor(ref: DueOrderRef): string {
  return Buffer.from(JSON.stringify(ref), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): DueOrderRef {
  try {
    const ref = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<DueOrderRef>;
    if (typeof ref.no_order === 'string' && typeof ref.next_check_at === 'string') {
      return { no_order: ref.no_order, next_check_at: ref.next_check_at };
    }
  } catch {
    // fall through to the uniform error below
  }
  throw new RangeError('invalid listDue cursor');
}
