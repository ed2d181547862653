import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payoutBody, startTestStack, TEST_CARD, TEST_NAME, type TestStack } from '../support/local-stack';
import { testNoOrder } from '../support/order-fixtures';
import { launchChromium, newPerson, signIn } from './browser';

/**
 * The Payouts page's Export button in a real browser (issue 12), both ways an export is answered: inline
 * CSV, and — when the CSV is larger than the response may be (here a tiny EXPORT_INLINE_MAX_BYTES) — a
 * short-lived signed link the console follows. Either way the person gets a downloaded file, masked.
 */
let stack: TestStack;
let browser: Browser;
const numbers = [testNoOrder('EXB'), testNoOrder('EXB'), testNoOrder('EXB')];

beforeAll(async () => {
  stack = await startTestStack('console-export', {
    // The header alone fits; any three payouts do not.
    env: { EXPORT_INLINE_MAX_BYTES: '400' },
    sandbox: { stepMs: 20, notifyIntervalMs: 200 },
  });
  browser = await launchChromium();
  for (const no_order of numbers) {
    const response = await fetch(`${stack.url}/payouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-principal': 'alice' },
      body: JSON.stringify(payoutBody('success', { no_order })),
    });
    expect(response.status).toBe(202);
  }
});

afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

/** Clicks Export on the page as it is and answers the downloaded file's name and text. */
async function exportFrom(page: Page): Promise<{ name: string; text: string }> {
  const downloaded = page.waitForEvent('download');
  await page.getByRole('button', { name: '导出 CSV' }).click();
  const file = await downloaded;
  const path = await file.path();
  return { name: file.suggestedFilename(), text: await readFile(path, 'utf8') };
}

describe('web console export', () => {
  it('downloads a large export through its signed link, and a small one inline, both masked', async () => {
    const { context, page, problems } = await newPerson(browser);
    try {
      await signIn(page, `${stack.url}/console/`, 'bob');

      // Every payout of the default range: too large to answer inline, so the answer is a link.
      await page.goto(`${stack.url}/console/#/payouts`);
      await expect.poll(() => page.getByText(numbers[0]!).count()).toBeGreaterThan(0);
      const large = await exportFrom(page);
      expect(large.name).toMatch(/^[0-9a-f-]{36}\.csv$/);
      const lines = large.text
        .replace(/^\uFEFF/, '')
        .trim()
        .split(/\r\n/);
      expect(lines[0]).toMatch(/^no_order,/);
      for (const no of numbers) expect(lines.some((line) => line.startsWith(`${no},`))).toBe(true);
      expect(large.text).not.toContain(TEST_CARD);
      expect(large.text).not.toContain(TEST_NAME);
      // The page is still the console: the link downloaded, it did not navigate away.
      expect(await page.locator('main h1').textContent()).toMatch(/代付/);

      // A filter nothing matches: the header alone fits the response, answered inline.
      await page.goto(`${stack.url}/console/#/payouts?status=DENIED`);
      await page.locator('main h1').waitFor();
      const small = await exportFrom(page);
      expect(small.name).toBe('payouts.csv');
      expect(small.text.replace(/^\uFEFF/, '').trim()).toBe(lines[0]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
