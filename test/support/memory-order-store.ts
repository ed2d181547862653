import { assertPatchKeys, dueIndexEffect } from '../../src/adapters/dynamodb/order-store';
import { dailyCounterKey, payeeCounterKey } from '../../src/adapters/dynamodb/table';
import { LimitExceededError, TransitionConflictError } from '../../src/core/errors';
import type { OrderChange, PayoutOrder } from '../../src/core/model';
import type {
  AwaitingOrderRef,
  AwaitingPage,
  DueOrderRef,
  DuePage,
  LimitCommit,
  OrderStore,
  OrderVersion,
} from '../../src/core/ports';
import { isFinal } from '../../src/core/status';
import { formatFen } from '../../src/lianlian/money';

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
  /** Spending-limit counters by the same keys DynamoOrderStore uses. */
  readonly counters = new Map<string, Counter>();

  // Every method below checks and writes without an await in between: one JS turn is one transaction.
  async create(
    order: PayoutOrder,
    commit?: LimitCommit,
  ): Promise<{ created: true } | { created: false; existing: PayoutOrder }> {
    const existing = this.orders.get(order.no_order);
    if (existing) return { created: false, existing: structuredClone(existing.order) };
    if (commit) this.applyCommit(commit);
    this.orders.set(order.no_order, {
      order: withoutUndefined(structuredClone(order)),
      indexed: !isFinal(order.status) && order.next_check_at !== undefined,
    });
    return { created: true };
  }

  /** Every stored order (copies), for the in-memory versions of the other stores (batches, close, funds). */
  all(): PayoutOrder[] {
    return [...this.orders.values()].map((stored) => structuredClone(stored.order));
  }

  /** Deletes an order when `condition` holds (batch acceptance undoing its own items, issue 11). */
  deleteIf(noOrder: string, condition: (order: PayoutOrder) => boolean): boolean {
    const stored = this.orders.get(noOrder);
    if (!stored || !condition(structuredClone(stored.order))) return false;
    return this.orders.delete(noOrder);
  }

  async get(noOrder: string): Promise<PayoutOrder | undefined> {
    const stored = this.orders.get(noOrder);
    return stored ? structuredClone(stored.order) : undefined;
  }

  async update(expected: OrderVersion, change: OrderChange, commit?: LimitCommit): Promise<PayoutOrder> {
    assertPatchKeys(change.set);
    const stored = this.orders.get(expected.no_order);
    if (!stored || stored.order.status !== expected.status || stored.order.version !== expected.version) {
      throw new TransitionConflictError(expected.no_order);
    }
    const index = dueIndexEffect(change);
    if (commit) this.applyCommit(commit);
    const next: Record<string, unknown> = { ...structuredClone(stored.order) };
    for (const [key, value] of Object.entries(structuredClone(change.set))) {
      if (value !== undefined) next[key] = value;
    }
    next.status = change.status;
    next.version = expected.version + 1;
    next.updated_at = change.at;
    if (change.history) next.history = [...stored.order.history, structuredClone(change.history)];
    let indexed = stored.indexed;
    if (index === 'leave') {
      delete next.next_check_at;
      indexed = false;
    } else if (index === 'set') {
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

  async listAwaitingApproval(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.listWaiting('AWAITING_APPROVAL', query);
  }

  /** AWAITING_FUNDS orders, oldest created first (the `FUNDS` waiting queue, issue 13). */
  async listAwaitingFunds(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.listWaiting('AWAITING_FUNDS', query);
  }

  private listWaiting(
    status: 'AWAITING_APPROVAL' | 'AWAITING_FUNDS',
    query: { limit: number; cursor?: string },
  ): AwaitingPage {
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const after = query.cursor ? decodeAwaitingCursor(query.cursor) : undefined;
    const waiting: AwaitingOrderRef[] = [];
    for (const { order } of this.orders.values()) {
      if (order.status !== status) continue;
      const ref = { no_order: order.no_order, created_at: order.created_at };
      if (after && compareAwaiting(ref, after) <= 0) continue;
      waiting.push(ref);
    }
    waiting.sort(compareAwaiting);
    const items = waiting.slice(0, limit);
    const last = items.at(-1);
    return waiting.length > limit && last ? { items, cursor: encodeAwaitingCursor(last) } : { items };
  }

  /** Checks every counter first, then moves them all: all or nothing, like the DynamoDB transaction. */
  private applyCommit(commit: LimitCommit): void {
    const sign = commit.kind === 'reserve' ? 1 : -1;
    const moves: { key: string; limitFen?: number; limitCount?: number; payee: boolean }[] = [
      { key: dailyCounterKey(commit.day), limitFen: commit.dailyLimitFen, payee: false },
    ];
    if (commit.payee) {
      moves.push({
        key: payeeCounterKey(commit.day, commit.payee.key),
        limitFen: commit.payee.limitFen,
        limitCount: commit.payee.limitCount,
        payee: true,
      });
    }
    if (commit.kind === 'reserve') {
      for (const move of moves) {
        const current = this.counters.get(move.key) ?? { amount_fen: 0, count: 0, expires_at: 0 };
        if (move.limitFen !== undefined && current.amount_fen + commit.amountFen > move.limitFen) {
          throw new LimitExceededError(
            move.payee ? 'payee_daily_amount' : 'daily_amount',
            formatFen(Math.max(0, move.limitFen - current.amount_fen)),
          );
        }
        if (move.limitCount !== undefined && current.count + 1 > move.limitCount) {
          throw new LimitExceededError(
            'payee_daily_count',
            String(Math.max(0, move.limitCount - current.count)),
          );
        }
      }
    }
    for (const move of moves) {
      const current = this.counters.get(move.key) ?? { amount_fen: 0, count: 0, expires_at: 0 };
      this.counters.set(move.key, {
        amount_fen: current.amount_fen + sign * commit.amountFen,
        count: current.count + sign,
        expires_at: commit.expiresAt,
      });
    }
  }

  /** Number of stored orders; lets benchmarks and tests check nothing was written twice. */
  get size(): number {
    return this.orders.size;
  }
}

export interface Counter {
  readonly amount_fen: number;
  readonly count: number;
  readonly expires_at: number;
}

function compareAwaiting(a: AwaitingOrderRef, b: AwaitingOrderRef): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.no_order < b.no_order ? -1 : a.no_order > b.no_order ? 1 : 0;
}

function encodeAwaitingCursor(ref: AwaitingOrderRef): string {
  return Buffer.from(JSON.stringify(ref), 'utf8').toString('base64url');
}

function decodeAwaitingCursor(cursor: string): AwaitingOrderRef {
  try {
    const ref = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<AwaitingOrderRef>;
    if (typeof ref.no_order === 'string' && typeof ref.created_at === 'string') {
      return { no_order: ref.no_order, created_at: ref.created_at };
    }
  } catch {
    // fall through to the uniform error below
  }
  throw new RangeError('invalid listAwaitingApproval cursor');
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
