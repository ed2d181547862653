import { decodeSeqCursor, encodeSeqCursor } from '../../src/adapters/dynamodb/batch-store';
import { dailyCounterKey, payeeCounterKey } from '../../src/adapters/dynamodb/table';
import type {
  BatchChange,
  BatchItemPage,
  BatchItemRow,
  BatchRecord,
  BatchVersion,
  DispatchTrigger,
} from '../../src/core/batch-model';
import type { BatchWriteStore, CounterMove } from '../../src/core/batches';
import { LimitExceededError, TransitionConflictError } from '../../src/core/errors';
import type { PayoutOrder } from '../../src/core/model';
import type { PayoutStatus } from '../../src/core/status';
import { formatFen } from '../../src/lianlian/money';
import type { MemoryOrderStore } from './memory-order-store';

/**
 * In-memory BatchWriteStore with the DynamoDB semantics, over a MemoryOrderStore (items are its orders;
 * counters are its counters, so item releases and batch reservations meet in one place). One JS turn is
 * one transaction.
 */
export class MemoryBatchStore implements BatchWriteStore {
  private readonly batches = new Map<string, BatchRecord>();
  /** Fail the next putBatch (a crash between the items and the record). */
  failNextPut: Error | undefined;

  constructor(private readonly orders: MemoryOrderStore) {}

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const record = this.batches.get(batchId);
    return record ? structuredClone(record) : undefined;
  }

  async putBatch(
    record: BatchRecord,
    commit?: CounterMove,
  ): Promise<{ created: true } | { created: false; existing: BatchRecord }> {
    if (this.failNextPut) {
      const error = this.failNextPut;
      this.failNextPut = undefined;
      throw error;
    }
    const existing = this.batches.get(record.batch_id);
    if (existing) return { created: false, existing: structuredClone(existing) };
    if (commit) this.apply([commit]);
    this.batches.set(record.batch_id, structuredClone(record));
    return { created: true };
  }

  async updateBatch(expected: BatchVersion, change: BatchChange, commit?: CounterMove): Promise<BatchRecord> {
    const stored = this.batches.get(expected.batch_id);
    if (!stored || stored.status !== expected.status || stored.version !== expected.version) {
      throw new TransitionConflictError(expected.batch_id);
    }
    if (commit) this.apply([commit]);
    const next: Record<string, unknown> = { ...structuredClone(stored) };
    for (const [key, value] of Object.entries(change.set)) if (value !== undefined) next[key] = value;
    next.status = change.status;
    next.version = stored.version + 1;
    next.updated_at = change.at;
    if (change.history) next.history = [...stored.history, change.history];
    if (change.leaveDueIndex) delete next.next_check_at;
    const record = next as unknown as BatchRecord;
    this.batches.set(expected.batch_id, record);
    return structuredClone(record);
  }

  async listItems(
    batchId: string,
    query: { limit: number; cursor?: string; status?: PayoutStatus; afterSeq?: number },
  ): Promise<BatchItemPage> {
    let after = query.afterSeq ?? 0;
    if (query.cursor) {
      after = Math.max(after, decodeSeqCursor(query.cursor));
    }
    const rows = this.orders
      .all()
      .filter((o) => o.batch_id === batchId && (o.batch_seq ?? 0) > after)
      .filter((o) => query.status === undefined || o.status === query.status)
      .sort((a, b) => (a.batch_seq ?? 0) - (b.batch_seq ?? 0));
    const items = rows.slice(0, query.limit).map(toRow);
    const last = items.at(-1);
    return rows.length > query.limit && last ? { items, cursor: encodeSeqCursor(last.batch_seq) } : { items };
  }

  async getOrders(noOrders: readonly string[]): Promise<Map<string, PayoutOrder>> {
    const found = new Map<string, PayoutOrder>();
    for (const noOrder of noOrders) {
      const order = await this.orders.get(noOrder);
      if (order) found.set(noOrder, order);
    }
    return found;
  }

  async moveCounters(moves: readonly CounterMove[]): Promise<void> {
    if (moves.length > 100) throw new Error('a transaction holds at most 100 items');
    this.apply(moves);
  }

  async deleteQueuedItem(noOrder: string, batchId: string): Promise<boolean> {
    return this.orders.deleteIf(noOrder, (o) => o.status === 'QUEUED' && o.batch_id === batchId);
  }

  /** Checks every counter first, then moves them all: all or nothing. */
  private apply(moves: readonly CounterMove[]): void {
    for (const move of moves) {
      if (move.kind !== 'reserve') continue;
      const current = this.orders.counters.get(keyOf(move)) ?? { amount_fen: 0, count: 0, expires_at: 0 };
      if (move.limitFen !== undefined && current.amount_fen + move.amountFen > move.limitFen) {
        throw new LimitExceededError(
          move.payeeKey === undefined ? 'daily_amount' : 'payee_daily_amount',
          formatFen(Math.max(0, move.limitFen - current.amount_fen)),
        );
      }
      if (move.limitCount !== undefined && current.count + move.count > move.limitCount) {
        throw new LimitExceededError(
          'payee_daily_count',
          String(Math.max(0, move.limitCount - current.count)),
        );
      }
    }
    for (const move of moves) {
      const sign = move.kind === 'reserve' ? 1 : -1;
      const current = this.orders.counters.get(keyOf(move)) ?? { amount_fen: 0, count: 0, expires_at: 0 };
      this.orders.counters.set(keyOf(move), {
        amount_fen: current.amount_fen + sign * move.amountFen,
        count: current.count + sign * move.count,
        expires_at: move.expiresAt,
      });
    }
  }
}

function keyOf(move: CounterMove): string {
  return move.payeeKey === undefined ? dailyCounterKey(move.day) : payeeCounterKey(move.day, move.payeeKey);
}

function toRow(o: PayoutOrder): BatchItemRow {
  const row: Record<string, unknown> = {
    no_order: o.no_order,
    batch_seq: o.batch_seq,
    status: o.status,
    money_fen: o.money_fen,
    money_order: o.money_order,
    info_order: o.info_order,
    flag_card: o.flag_card,
    card_no_masked: o.card_no_masked,
    acct_name_masked: o.acct_name_masked,
    oid_paybill: o.oid_paybill,
    result_pay: o.result_pay,
    settle_date: o.settle_date,
    ret_code: o.ret_code,
    ret_msg: o.ret_msg,
    memo: o.memo,
    created_at: o.created_at,
    updated_at: o.updated_at,
    created_by: o.created_by,
    approved_by: o.approved_by,
    voided_by: o.voided_by,
    denied_by: o.denied_by,
    anomalies: o.anomalies,
  };
  for (const key of Object.keys(row)) if (row[key] === undefined) delete row[key];
  return row as unknown as BatchItemRow;
}

/** Records every batchReady call (tests assert the dispatcher was told, exactly when). */
export class RecordingDispatchTrigger implements DispatchTrigger {
  readonly ready: string[] = [];
  async batchReady(batchId: string): Promise<void> {
    this.ready.push(batchId);
  }
}
