import type { BalanceReading, FundsLowFigures, FundsStore, OrderAmount } from '../../src/core/funds';
import type { AwaitingPage } from '../../src/core/ports';
import type { MemoryOrderStore } from './memory-order-store';

/** In-memory FundsStore with the DynamoFundsStore semantics (conditional writes, one JS turn each). */
export class MemoryFundsStore implements FundsStore {
  checkedAt: string | undefined;
  readonly days = new Map<
    string,
    { first_fen: number; first_at: string; last_fen: number; last_at: string }
  >();
  low: boolean | undefined;
  /** Every order number passed to amountsOf, in calls (tests check reads are batched). */
  readonly amountCalls: string[][] = [];

  constructor(private readonly orders: MemoryOrderStore) {}

  listAwaitingFunds(query: { limit: number; cursor?: string }): Promise<AwaitingPage> {
    return this.orders.listAwaitingFunds(query);
  }

  async claimBalanceCheck(at: string, intervalMs: number): Promise<boolean> {
    const before = new Date(Date.parse(at) - intervalMs).toISOString();
    if (this.checkedAt !== undefined && this.checkedAt > before) return false;
    this.checkedAt = at;
    return true;
  }

  async recordBalance(reading: BalanceReading): Promise<void> {
    const day = this.days.get(reading.day);
    if (day && day.last_at >= reading.at) return;
    this.days.set(reading.day, {
      first_fen: day?.first_fen ?? reading.balanceFen,
      first_at: day?.first_at ?? reading.at,
      last_fen: reading.balanceFen,
      last_at: reading.at,
    });
  }

  async setFundsLow(low: boolean, _at: string, _figures: FundsLowFigures): Promise<boolean> {
    if ((this.low ?? false) === low) return false;
    this.low = low;
    return true;
  }

  async amountsOf(noOrders: readonly string[]): Promise<OrderAmount[]> {
    this.amountCalls.push([...noOrders]);
    const out: OrderAmount[] = [];
    for (const n of noOrders) {
      const order = await this.orders.get(n);
      if (order) out.push({ no_order: n, status: order.status, money_fen: order.money_fen });
    }
    return out;
  }
}
