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
 *   AWAITING_FUNDS orders (issue 13) carry `approval_queue = FUNDS` in the same index: the waiting queue the
 *   funds module resends from, oldest first (one index for both human-paced queues; the attribute keeps
 *   its first name so deployed tables need no index replaced).
 * - GSI `by-day`: KEYS_ONLY, every order. `day_shard` (`<China day>#<0..3>`, by the same hash as the open
 *   shards) and `created_at` are written once, at creation, and never change, so the index costs one write
 *   per payout and nothing on later transitions. It serves the daily close (every payout created on a
 *   day) and newest-first listing by date.
 * - GSI `by-batch`: sparse (batch items only), INCLUDE projection of what a batch view, its items page and
 *   its report need (BATCH_ITEM_PROJECTION), so a batch of 5,000 is read with one Query chain, not 5,000
 *   GetItems. Single payouts never carry `batch_id` and pay nothing for it.
 * - GSI `late-by-day`: sparse, KEYS_ONLY: `late_day` is set only when an order reaches a final status on a
 *   later China day than its creation (rare), for the close's "late results of earlier days".
 * - Batch records (issue 11) live in the same table under `BATCH#<batch_id>`.
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
  /** The waiting-queue value of AWAITING_FUNDS orders in the awaiting-approval index. */
  fundsQueue: 'FUNDS',
  byDayIndex: {
    name: 'by-day',
    partitionKey: 'day_shard',
    sortKey: 'created_at',
    shards: 4,
  },
  batchIndex: {
    name: 'by-batch',
    partitionKey: 'batch_id',
    /** A number: the item's row in its batch (1-based). */
    sortKey: 'batch_seq',
  },
  lateIndex: {
    name: 'late-by-day',
    partitionKey: 'late_day',
    sortKey: 'no_order',
  },
  /**
   * Sparse, KEYS_ONLY (issue 12): only an order with an anomaly nobody has acknowledged carries
   * `anomaly_queue` (one constant value: anomalies are rare and worked by people) and `anomaly_at` (the
   * time of its latest anomaly). Set by the write that records an anomaly, removed by the write that
   * acknowledges it (order-store.ts update()), so the index holds exactly the exceptions queue.
   */
  anomalyIndex: {
    name: 'open-anomalies',
    partitionKey: 'anomaly_queue',
    sortKey: 'anomaly_at',
    queue: 'OPEN',
  },
  batchPrefix: 'BATCH#',
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

/** The table key of a batch record. */
export function batchKey(batchId: string): string {
  return `${PAYOUTS_TABLE.batchPrefix}${batchId}`;
}

/** Whether a table key is a payout order (not a counter, not a batch record). */
export function isOrderKey(key: string): boolean {
  return !key.includes('#');
}

/**
 * The order attributes the by-batch index carries: a batch's counts and amounts per status, its items
 * page (views without history) and report.csv. Never the sealed payee.
 */
export const BATCH_ITEM_PROJECTION = [
  'status',
  'money_fen',
  'money_order',
  'info_order',
  'flag_card',
  'card_no_masked',
  'acct_name_masked',
  'oid_paybill',
  'result_pay',
  'settle_date',
  'ret_code',
  'ret_msg',
  'memo',
  'created_at',
  'updated_at',
  'created_by',
  'approved_by',
  'voided_by',
  'denied_by',
  'anomalies',
] as const;

function fnv1a(text: string): number {
  // FNV-1a: stable across processes and runtimes, no crypto needed for spreading keys.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The open-by-due partition number `shard` (0 … shards − 1). */
export function openShard(shard: number): string {
  return `OPEN#${shard}`;
}

export function openShardFor(noOrder: string): string {
  return openShard(fnv1a(noOrder) % PAYOUTS_TABLE.openIndex.shards);
}

/** The by-day partition of an order created on China day `day`. */
export function dayShardFor(day: string, noOrder: string): string {
  return `${day}#${fnv1a(noOrder) % PAYOUTS_TABLE.byDayIndex.shards}`;
}

/** Every by-day partition of a China day (the close and the listing query them all and merge). */
export function allDayShards(day: string): string[] {
  return Array.from({ length: PAYOUTS_TABLE.byDayIndex.shards }, (_, i) => `${day}#${i}`);
}

export function allOpenShards(): string[] {
  return Array.from({ length: PAYOUTS_TABLE.openIndex.shards }, (_, i) => openShard(i));
}

/** A global secondary index of the payouts table, as local mode and the CDK stack both create it. */
export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' };
  readonly sortKey: { readonly name: string; readonly type: 'S' | 'N' };
  /** KEYS_ONLY, or INCLUDE with these non-key attributes. */
  readonly include?: readonly string[];
}

/** Every GSI of the payouts table, the one list local mode (CreateTable) and the CDK construct read. */
export const PAYOUTS_INDEXES: readonly IndexDefinition[] = [
  {
    name: PAYOUTS_TABLE.openIndex.name,
    partitionKey: { name: PAYOUTS_TABLE.openIndex.partitionKey, type: 'S' },
    sortKey: { name: PAYOUTS_TABLE.openIndex.sortKey, type: 'S' },
  },
  {
    name: PAYOUTS_TABLE.awaitingIndex.name,
    partitionKey: { name: PAYOUTS_TABLE.awaitingIndex.partitionKey, type: 'S' },
    sortKey: { name: PAYOUTS_TABLE.awaitingIndex.sortKey, type: 'S' },
  },
  {
    name: PAYOUTS_TABLE.byDayIndex.name,
    partitionKey: { name: PAYOUTS_TABLE.byDayIndex.partitionKey, type: 'S' },
    sortKey: { name: PAYOUTS_TABLE.byDayIndex.sortKey, type: 'S' },
  },
  {
    name: PAYOUTS_TABLE.batchIndex.name,
    partitionKey: { name: PAYOUTS_TABLE.batchIndex.partitionKey, type: 'S' },
    sortKey: { name: PAYOUTS_TABLE.batchIndex.sortKey, type: 'N' },
    include: BATCH_ITEM_PROJECTION,
  },
  {
    name: PAYOUTS_TABLE.lateIndex.name,
    partitionKey: { name: PAYOUTS_TABLE.lateIndex.partitionKey, type: 'S' },
    sortKey: { name: PAYOUTS_TABLE.lateIndex.sortKey, type: 'S' },
  },
  {
    name: PAYOUTS_TABLE.anomalyIndex.name,
    partitionKey: { name: PAYOUTS_TABLE.anomalyIndex.partitionKey, type: 'S' },
    sortKey: { name: PAYOUTS_TABLE.anomalyIndex.sortKey, type: 'S' },
  },
];
