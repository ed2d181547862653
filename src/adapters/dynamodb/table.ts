/**
 * The payouts table, shared by the store adapter, local mode (CreateTable against DynamoDB Local) and the
 * CDK storage construct, so the three cannot disagree.
 *
 * - Base table: partition key `no_order` (the merchant's payout number is our idempotency key: a
 *   conditional Put on it is what makes "exactly one apply" hold).
 * - GSI `open-by-due`: sparse, KEYS_ONLY. Only non-final orders carry `open_shard` (`OPEN#0`…`OPEN#3`,
 *   by a hash of no_order, so no single index partition takes every write) and `next_check_at` (ISO time
 *   when reconciliation should look next). Final transitions REMOVE both, so the index holds exactly the
 *   backlog, and reconciliation Queries it — never a Scan.
 * - Stream: NEW_AND_OLD_IMAGES, feeding the payout-event publisher (at-least-once, survives a crash
 *   between the state write and the publish).
 */
export const PAYOUTS_TABLE = {
  partitionKey: 'no_order',
  openIndex: {
    name: 'open-by-due',
    partitionKey: 'open_shard',
    sortKey: 'next_check_at',
    shards: 4,
  },
} as const;

export function openShardFor(noOrder: string): string {
  // FNV-1a: stable across processes and runtimes, no crypto needed for spreading keys.
  let hash = 0x811c9dc5;
  for (let i = 0; i < noOrder.length; i++) {
    hash ^= noOrder.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `OPEN#${hash % PAYOUTS_TABLE.openIndex.shards}`;
}

export function allOpenShards(): string[] {
  return Array.from({ length: PAYOUTS_TABLE.openIndex.shards }, (_, i) => `OPEN#${i}`);
}
