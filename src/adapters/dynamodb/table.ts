/**
 * The payouts table, shared by the store adapter, local mode (CreateTable against DynamoDB Local) and the
 * CDK storage construct, so the three cannot disagree.
 *
 * - Base table: partition key `no_order` (the merchant's payout number is our idempotency key: a
 *   conditional Put on it is what makes "exactly one apply" hold).
 * - GSI `open-by-due`: sparse, KEYS_ONLY. Only orders reconciliation may still look at carry `open_shard`
 *   (`OPEN#0`…`OPEN#3`, by a hash of no_order, so no single index partition takes every write) and
 *   `next_check_at` (ISO time when reconciliation should look next): the non-final ones (AWAITING_APPROVAL
 *   due at its approval expiry) and a SUCCESS under the returns watch (`isDueIndexed`, src/core/status.ts).
 *   A write marked `leaveDueIndex` REMOVEs both, so the index holds exactly the backlog, and
 *   reconciliation Queries it — never a Scan.
 * - GSI `awaiting-approval`: sparse, KEYS_ONLY. Only an AWAITING_APPROVAL order carries `approval_queue`
 *   (one constant value: approvals are few and human-paced, one partition is plenty), sorted by
 *   `created_at`; the write that approves, denies or voids it REMOVEs the attribute.
 * - Spending-limit counters (issue 10) live in the same table under keys no no_order can take (no_order
 *   is `[A-Za-z0-9_-]`): `LIMIT#<yyyy-mm-dd>` per China day and `LIMIT#<yyyy-mm-dd>#P#<payee key>` per
 *   payee and day, with `amount_fen`, `count` and the TTL attribute `expires_at` (epoch seconds). They
 *   change in the same transaction as the order write that commits or releases the money.
 * - Stream: NEW_AND_OLD_IMAGES, feeding the payout-event publisher (at-least-once, survives a crash
 *   between the state write and the publish). Counter items produce no events.
 */
export const PAYOUTS_TABLE = {
  partitionKey: 'no_order',
  openIndex: {
    name: 'open-by-due',
    partitionKey: 'open_shard',
    sortKey: 'next_check_at',
    shards: 4,
  },
  awaitingIndex: {
    name: 'awaiting-approval',
    partitionKey: 'approval_queue',
    sortKey: 'created_at',
    /** The only value of approval_queue. */
    queue: 'AWAITING',
  },
  /** DynamoDB TTL attribute (epoch seconds); only counter items carry it, orders are kept. */
  ttlAttribute: 'expires_at',
  counterPrefix: 'LIMIT#',
} as const;

/** The key of a China day's counter. */
export function dailyCounterKey(day: string): string {
  return `${PAYOUTS_TABLE.counterPrefix}${day}`;
}

/** The key of a payee's counter for a China day. */
export function payeeCounterKey(day: string, payeeKey: string): string {
  return `${PAYOUTS_TABLE.counterPrefix}${day}#P#${payeeKey}`;
}

/** Whether a table key belongs to a counter rather than an order. */
export function isCounterKey(key: string): boolean {
  return key.startsWith(PAYOUTS_TABLE.counterPrefix);
}

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
