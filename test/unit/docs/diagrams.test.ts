import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PayoutOrder } from '../../../src/core/model';
import type { ApplyOutcome, UnknownReason } from '../../../src/core/ports';
import { PAYOUT_STATUSES } from '../../../src/core/status';
import { DEFAULT_NOT_FOUND_GRACE_MS, decide, type TransitionInput } from '../../../src/core/transition';
import { RESULT_PAY } from '../../../src/lianlian/codes';
import { makeOrder } from '../../support/order-fixtures';

// The diagrams in docs/architecture.md are for people; this test keeps the state diagram in step with the
// code. The transitions are not listed by hand here: they are found by running the real decide() over every
// status and a generated set of orders and inputs, so a change to the transition function that adds or
// removes an edge fails this test until the diagram follows.

const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
const mermaidBlocks = [...doc.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
const stateDiagram = mermaidBlocks.find((b) => b.trimStart().startsWith('stateDiagram-v2'));
const sequenceDiagram = mermaidBlocks.find((b) => b.trimStart().startsWith('sequenceDiagram'));

/** `A --> B` and `A --> B: label` lines, without the start/end pseudo-state `[*]`. */
function diagramEdges(diagram: string): Set<string> {
  const edges = new Set<string>();
  for (const line of diagram.split('\n')) {
    const m = /^\s*(\S+)\s*-->\s*([^\s:]+)/.exec(line);
    if (!m || m[1] === '[*]' || m[2] === '[*]') continue;
    edges.add(`${m[1]} --> ${m[2]}`);
  }
  return edges;
}

function diagramStates(diagram: string): Set<string> {
  const states = new Set<string>();
  for (const line of diagram.split('\n')) {
    const m = /^\s*(\S+)\s*-->\s*([^\s:]+)/.exec(line);
    for (const s of m ? [m[1], m[2]] : []) if (s && s !== '[*]') states.add(s);
  }
  return states;
}

// ---- the generated space ------------------------------------------------------------------------------

const APPLIED_AT = '2026-11-27T04:00:00.000Z';
const appliedMs = Date.parse(APPLIED_AT);
const GRACE = DEFAULT_NOT_FOUND_GRACE_MS;
/** Just after the apply, just inside the grace, just past it, long past it. */
const NOWS = [1_000, GRACE - 1, GRACE, GRACE + 1, 10 * GRACE].map((d) => new Date(appliedMs + d));
/** ret_code values an order can carry: none, the accepted code, each "unknown" code, 8901, a refusal. */
const STORED_RET_CODES = [undefined, '0000', '1002', '2005', '9999', '8901', '1001'];
const UNKNOWN_REASONS: UnknownReason[] = [
  'timeout',
  'network',
  'http_status',
  'unparsable',
  'bad_signature',
  'unsigned_success',
  'mismatch',
  'code',
];

const MAKER = 'local:maker';
const CHECKER = 'local:checker';

function orders(): PayoutOrder[] {
  const out: PayoutOrder[] = [];
  for (const status of PAYOUT_STATUSES)
    for (const ret_code of STORED_RET_CODES)
      for (const details of [false, true])
        for (const watched of [false, true])
          for (const apply_attempts of [0, 1, 2])
            out.push(
              makeOrder({
                status,
                ret_code,
                apply_attempts,
                created_by: MAKER,
                // Half of the awaiting orders are past their approval expiry (the expire input).
                approval_expires_at: apply_attempts === 1 ? APPLIED_AT : '2099-01-01T00:00:00.000Z',
                applied_at: APPLIED_AT,
                result_pay: status in RESULT_PAY ? status : undefined,
                oid_paybill: details ? '2026112700000001' : undefined,
                settle_date: details ? '20261127' : undefined,
                memo: details ? 'memo' : undefined,
                next_check_at: watched ? '2026-11-27T05:00:00.000Z' : undefined,
                // Half of the orders waiting for funds have waited past FUNDS_WAIT_SECONDS.
                funds_since: watched ? '2026-11-20T00:00:00.000Z' : APPLIED_AT,
              }),
            );
  return out;
}

function applyOutcomes(): ApplyOutcome[] {
  const out: ApplyOutcome[] = [
    { kind: 'accepted', retCode: '0000' },
    { kind: 'accepted', retCode: '0000', retMsg: '交易成功', oidPaybill: '2026112700000001' },
  ];
  for (const retCode of ['1001', '1008', '4002', '8888', '9104']) out.push({ kind: 'rejected', retCode });
  for (const reason of UNKNOWN_REASONS)
    for (const retCode of [undefined, '9999', '1002', '2005', '0000'])
      for (const knownCode of [undefined, true, false])
        out.push({ kind: 'unknown', reason, retCode, knownCode });
  return out;
}

function inputs(order: PayoutOrder): TransitionInput[] {
  const out: TransitionInput[] = [];
  for (const source of ['apply', 'reconcile'] as const)
    for (const outcome of applyOutcomes()) out.push({ type: 'apply', source, outcome });
  for (const source of ['query', 'notify', 'reconcile'] as const) {
    for (const resultPay of [...Object.keys(RESULT_PAY), 'REFUND', ''])
      for (const moneyFen of [order.money_fen, order.money_fen + 1])
        for (const withDetails of [false, true])
          out.push({
            type: 'result',
            source,
            resultPay,
            moneyFen,
            retCode: '0000',
            ...(withDetails ? { oidPaybill: '2026112700000002', settleDate: '20261128', memo: 'm' } : {}),
          });
    if (source !== 'notify') out.push({ type: 'not_found', source });
  }
  // A person's decisions (issue 10), by the creator and by someone else.
  for (const principal of [MAKER, CHECKER]) {
    out.push({ type: 'approve', principal });
    out.push({ type: 'deny', principal, reason: 'no' });
    out.push({ type: 'void', principal });
  }
  out.push({ type: 'expire' });
  // Batches and funds (issues 11, 13): a batch denies its items, the dispatcher and the funds module claim.
  out.push({ type: 'deny', principal: CHECKER, reason: 'batch', batch: true });
  out.push({ type: 'dispatch' }, { type: 'funds_resend' }, { type: 'funds_expire' });
  return out;
}

/** Every (from → to) status change decide() can make, found by exploring it. */
function exploredEdges(): Set<string> {
  const edges = new Set<string>();
  // Time matters to 8901 (the grace period) and the returns watch to results; the other inputs are
  // tried at one time only, which keeps the exploration to about a second.
  for (const order of orders())
    for (const input of inputs(order))
      for (const now of input.type === 'not_found' ? NOWS : [NOWS[0] as Date])
        for (const returnWatchMs of input.type === 'result' ? [0, 86_400_000] : [0]) {
          const d = decide(order, input, { now, notFoundGraceMs: GRACE, returnWatchMs });
          if (d.kind === 'change' && d.status !== order.status) edges.add(`${order.status} --> ${d.status}`);
        }
  return edges;
}

// ---- the assertions -----------------------------------------------------------------------------------

describe('docs/architecture.md diagrams', () => {
  it('has a Mermaid state diagram and a Mermaid sequence diagram', () => {
    expect(stateDiagram, 'a ```mermaid block starting with stateDiagram-v2').toBeDefined();
    expect(sequenceDiagram, 'a ```mermaid block starting with sequenceDiagram').toBeDefined();
  });

  it('the state diagram shows every status in PAYOUT_STATUSES, and no other', () => {
    expect([...diagramStates(stateDiagram ?? '')].sort()).toEqual([...PAYOUT_STATUSES].sort());
  });

  it("the state diagram's edges are exactly the transitions decide() makes", () => {
    const explored = exploredEdges();
    // A sanity floor, so a broken explorer (nothing generated) cannot pass against an empty diagram.
    expect(explored.has('PENDING --> ACCEPTED')).toBe(true);
    expect([...diagramEdges(stateDiagram ?? '')].sort()).toEqual([...explored].sort());
  });

  it('the state diagram starts at PENDING, the status every order is created in', () => {
    expect(stateDiagram).toMatch(/^\s*\[\*\]\s*-->\s*PENDING\b/m);
  });

  it('the sequence diagram walks apply → notify → reconcile', () => {
    const text = sequenceDiagram ?? '';
    const at = (word: RegExp) => text.search(word);
    expect(at(/apply/i)).toBeGreaterThanOrEqual(0);
    expect(at(/notify/i)).toBeGreaterThan(at(/apply/i));
    expect(at(/reconcil/i)).toBeGreaterThan(at(/notify/i));
  });
});
