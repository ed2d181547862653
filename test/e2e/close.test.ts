import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeLocalData, closeSummary } from '../../local/close';
import { chinaDay, chinaDayStart, DAY_MS } from '../../src/core/days';
import { payoutBody, postPayout, startTestStack, TEST_CARD, type TestStack } from '../support/local-stack';

/**
 * The daily close in local mode: payouts through the API and the sandbox, `npm run close`'s code over the
 * stack's DynamoDB Local and reports dir, then GET /close/{date} through the local front.
 */

let stack: TestStack;
const today = chinaDay(new Date());
/** Half an hour after today (China time) ends: the close of today is then allowed. */
const afterToday = () => new Date(chinaDayStart(today).getTime() + DAY_MS + 30 * 60_000);

beforeAll(async () => {
  stack = await startTestStack('close', { sandbox: { stepMs: 20, notifyIntervalMs: 50 } });
});
afterAll(async () => {
  await stack?.dispose();
});

async function statusOf(noOrder: string): Promise<string> {
  const response = await fetch(`${stack.url}/payouts/${noOrder}`);
  return ((await response.json()) as { status: string }).status;
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(now = afterToday) {
  return closeLocalData({
    dataDir: stack.reportsDir,
    env: { LOCAL_REPORTS_DIR: stack.reportsDir },
    date: today,
    dynamo: { endpoint: stack.dynamoEndpoint, tableName: stack.tableName },
    now,
  });
}

describe('the daily close in local mode', () => {
  it('closes a day of payouts, serves it through GET /close/{date} and keeps the earlier version', async () => {
    const paid = payoutBody('success');
    const failed = payoutBody('fail');
    for (const body of [paid, failed]) expect([201, 202]).toContain((await postPayout(stack, body)).status);
    await until(async () => (await statusOf(paid.no_order)) === 'SUCCESS');
    await until(async () => (await statusOf(failed.no_order)) === 'FAILURE');

    const before = await fetch(`${stack.url}/close/${today}`);
    expect(before.status).toBe(404);

    // Today has not ended yet: refused, naming date.
    await expect(run(() => new Date())).rejects.toMatchObject({ fields: [{ field: 'date' }] });

    const first = await run();
    expect(first.statement.created).toEqual({
      count: 2,
      amount: '2.13',
      by_status: { SUCCESS: { count: 1, amount: '1.00' }, FAILURE: { count: 1, amount: '1.13' } },
    });
    expect(first.statement.balance.paid_out).toEqual({ count: 1, amount: '1.00' });
    expect(closeSummary(first)).toContain('created      2 / 2.13');

    const response = await fetch(`${stack.url}/close/${today}`);
    expect(response.status).toBe(200);
    const served = (await response.json()) as Record<string, unknown>;
    expect(served).toEqual({ ...JSON.parse(JSON.stringify(first.statement)), version: '1' });
    // No card number or name, masked or not, anywhere in what is served.
    expect(JSON.stringify(served)).not.toContain(TEST_CARD.slice(-4));

    const second = await run();
    expect(second.statement.supersedes).toMatchObject({ version: '1' });
    expect(second.versions).toEqual({ json: '2', csv: '2' });
    expect((await readdir(join(stack.reportsDir, 'close'))).sort()).toEqual([
      `${today}.csv`,
      `${today}.csv.1`,
      `${today}.json`,
      `${today}.json.1`,
    ]);
    expect(((await (await fetch(`${stack.url}/close/${today}`)).json()) as { version: string }).version).toBe(
      '2',
    );
  });

  it('answers 400 naming date for a date that is not yyyy-mm-dd', async () => {
    const response = await fetch(`${stack.url}/close/2026-13-01`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { fields: { field: string }[] } }).error.fields).toEqual([
      { field: 'date', message: expect.any(String) },
    ]);
  });
});
