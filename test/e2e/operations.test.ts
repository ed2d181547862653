import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amountFor } from '../../sandbox/scenarios';
import { applyInput } from '../../src/core/payouts';
import { startTestStack, TEST_CARD, TEST_NAME, type TestStack } from '../support/local-stack';
import { testNoOrder } from '../support/order-fixtures';

/**
 * The operations API end to end (issue 12), in local mode: HTTP with `x-principal` → local front → the
 * query function's operations routes → DynamoDB Local (and the sandbox for the payouts themselves).
 */

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown> & { error?: { code: string; fields?: { field: string }[] } };
}

let stack: TestStack;
const created: string[] = [];

async function call(
  method: 'GET' | 'POST',
  path: string,
  principal = 'olga',
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      'x-principal': principal,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Answer['body'] = {};
  if ((response.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, text, body: parsed };
}

beforeAll(async () => {
  stack = await startTestStack('ops');
  for (let i = 0; i < 3; i++) {
    const no_order = testNoOrder('OPS');
    const answer = await call('POST', '/payouts', 'alice', {
      no_order,
      money_order: amountFor('success', 10 + i),
      card_no: TEST_CARD,
      acct_name: TEST_NAME,
      flag_card: '0',
      info_order: 'operations e2e',
    });
    expect([200, 201, 202]).toContain(answer.status);
    created.push(no_order);
  }
}, 60_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('operations API (local mode)', () => {
  it('lists payouts newest first, without history, paging with a cursor', async () => {
    const first = await call('GET', '/payouts?limit=2');
    expect(first.status).toBe(200);
    const items = first.body.items as { no_order: string; history?: unknown; card_no_masked: string }[];
    expect(items.map((v) => v.no_order)).toEqual([created[2], created[1]]);
    expect(items[0]).not.toHaveProperty('history');
    expect(items[0]!.card_no_masked).not.toBe(TEST_CARD);
    expect(typeof first.body.next_cursor).toBe('string');
    const second = await call('GET', `/payouts?limit=2&cursor=${first.body.next_cursor as string}`);
    expect((second.body.items as { no_order: string }[]).map((v) => v.no_order)).toEqual([created[0]]);
    expect(second.body.next_cursor).toBeNull();
  });

  it('names a bad parameter', async () => {
    const bad = await call('GET', '/payouts?limit=500&from=2026-11-31');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.fields?.map((f) => f.field).sort()).toEqual(['from', 'limit']);
  });

  it('exports the same search inline as CSV, masked', async () => {
    const csv = await call('GET', '/payouts/export.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toMatch(/^no_order,batch_id,created_at/);
    expect(lines).toHaveLength(4);
    expect(csv.text).not.toContain(TEST_CARD);
    expect(csv.text).not.toContain(TEST_NAME);
  });

  it('shows an anomaly in the exceptions; a named person acknowledges it, in the history', async () => {
    const target = created[0]!;
    // A provider result with another amount: the transition function records it as an anomaly.
    const order = await stack.runtime.deps.store.get(target);
    await applyInput(
      stack.runtime.deps,
      undefined,
      { type: 'result', source: 'notify', resultPay: 'SUCCESS', moneyFen: order!.money_fen + 1 },
      target,
    );
    const before = await call('GET', '/exceptions');
    expect(before.status).toBe(200);
    expect(before.body.anomalies).toMatchObject({
      count: 1,
      items: [expect.objectContaining({ no_order: target })],
    });
    for (const group of ['unknown', 'stuck', 'awaiting_approval', 'awaiting_funds']) {
      expect(before.body[group]).toMatchObject({ count: expect.any(Number), items: expect.any(Array) });
    }

    const noNote = await call('POST', `/payouts/${target}/anomalies/ack`, 'olga', {});
    expect(noNote.status).toBe(400);
    expect(noNote.body.error?.fields?.map((f) => f.field)).toEqual(['note']);

    const ack = await call('POST', `/payouts/${target}/anomalies/ack`, 'olga', { note: 'amount checked' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ anomalies: 1, anomalies_acknowledged: 1 });
    expect((ack.body.history as Record<string, unknown>[]).at(-1)).toMatchObject({
      principal: 'local:olga',
      note: 'amount checked',
      source: 'operator',
    });
    const after = await call('GET', '/exceptions');
    expect(after.body.anomalies).toMatchObject({ count: 0, items: [] });
    const again = await call('POST', `/payouts/${target}/anomalies/ack`, 'olga', { note: 'again' });
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('invalid_state');
    expect((await call('POST', '/payouts/NOSUCHORDER1/anomalies/ack', 'olga', { note: 'x' })).status).toBe(
      404,
    );
  });
});
