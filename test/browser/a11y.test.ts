import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payoutBody, startTestStack, type TestStack } from '../support/local-stack';
import { testNoOrder } from '../support/order-fixtures';
import { launchChromium, newPerson, signIn } from './browser';

/**
 * Issue 12 asks for an accessible console: labels, keyboard use, visible focus. The flow tests prove the
 * pages work; this one walks every page (both languages) and checks, in the real browser, what a screen
 * reader and a keyboard user depend on: every control has an accessible name, the document says its
 * language, there is exactly one h1, and every element the Tab key reaches shows a focus indicator.
 */
let stack: TestStack;
let browser: Browser;
let noOrder = '';

beforeAll(async () => {
  stack = await startTestStack('a11y', {
    env: { APPROVAL_MIN_AMOUNT: '100.00' },
    sandbox: { stepMs: 20, notifyIntervalMs: 200 },
  });
  browser = await launchChromium();
  // One payout that waits for approval and one that is paid, so the lists, the approvals page and the
  // detail page have rows, buttons and a timeline to check.
  noOrder = testNoOrder('A11Y');
  for (const [no, amount] of [
    [noOrder, '12.00'],
    [testNoOrder('A11YBIG'), '150.00'],
  ] as const) {
    const response = await fetch(`${stack.url}/payouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-principal': 'alice' },
      body: JSON.stringify(payoutBody('success', { no_order: no, money_order: amount })),
    });
    expect(response.status).toBe(202);
  }
});

afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

/**
 * Evaluated in the page (a string: this file is type-checked without the DOM library). Answers one line
 * per problem found among the visible elements.
 */
const AUDIT = `(() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '') +
    ' "' + (el.outerHTML || '').slice(0, 80) + '"';
  const named = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\\s+/).some((id) => (document.getElementById(id)?.textContent || '').trim())) return true;
    if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return true;
    if ((el.getAttribute('title') || '').trim()) return true;
    return false;
  };
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (visible(el) && !named(el)) problems.push('control without a label: ' + describe(el));
  }
  for (const el of document.querySelectorAll('button, a[href], [role=button]')) {
    if (!visible(el)) continue;
    const text = (el.textContent || '').trim();
    if (!text && !named(el)) problems.push('button or link without a name: ' + describe(el));
  }
  for (const img of document.querySelectorAll('img, svg[role=img]')) {
    if (visible(img) && !img.getAttribute('alt') && !img.getAttribute('aria-label')) problems.push('image without a text alternative: ' + describe(img));
  }
  if (!document.documentElement.lang) problems.push('html element without lang');
  const h1s = [...document.querySelectorAll('h1')].filter(visible);
  if (h1s.length !== 1) problems.push('expected one visible h1, found ' + h1s.length);
  const ids = new Map();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) problems.push('duplicate id ' + id + ' (' + n + ')');
  return problems;
})()`;

/** What the focused element shows; a focus indicator is an outline or a box shadow. */
const FOCUS = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  // Tag each element once, so coming back round to the first one is seen even when texts repeat.
  window.__a11yStops = (window.__a11yStops || 0);
  if (!el.dataset.a11yStop) el.dataset.a11yStop = String(++window.__a11yStops);
  return { stop: el.dataset.a11yStop, what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30), shown: Boolean(outline || shadow) };
})()`;

async function open(page: Page, hash: string, heading: RegExp): Promise<void> {
  await page.goto(`${stack.url}/console/${hash}`);
  await expect.poll(async () => (await page.locator('main h1').first().textContent()) ?? '').toMatch(heading);
  // The page's own requests have answered (its tables and buttons are drawn).
  await page.waitForLoadState('networkidle');
}

/** Presses Tab until focus comes back round to an element it reached (or 80 steps), returning every element that had no indicator. */
async function unfocusedStops(page: Page): Promise<{ reached: number; hidden: string[] }> {
  await page.evaluate(
    'document.activeElement && document.activeElement.blur && document.activeElement.blur()',
  );
  const hidden: string[] = [];
  const seen = new Set<string>();
  let reached = 0;
  let previous: string | undefined;
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const focus = (await page.evaluate(FOCUS)) as { stop: string; what: string; shown: boolean } | null;
    if (!focus) continue;
    if (process.env.A11Y_DEBUG) console.log(focus);
    // A date input takes several Tabs (one per part of the date): still the same stop.
    if (focus.stop === previous) continue;
    if (seen.has(focus.stop)) break;
    previous = focus.stop;
    seen.add(focus.stop);
    reached++;
    if (!focus.shown) hidden.push(focus.what);
  }
  return { reached, hidden };
}

const PAGES: readonly { name: string; hash: () => string; zh: RegExp; en: RegExp }[] = [
  { name: 'overview', hash: () => '#/', zh: /概览/, en: /Overview/ },
  { name: 'payouts', hash: () => '#/payouts', zh: /代付/, en: /Payouts/ },
  { name: 'detail', hash: () => `#/payouts/${noOrder}`, zh: new RegExp(noOrder), en: new RegExp(noOrder) },
  { name: 'approvals', hash: () => '#/approvals', zh: /审批/, en: /Approvals/ },
  { name: 'batches', hash: () => '#/batches', zh: /批量/, en: /Batches/ },
  { name: 'exceptions', hash: () => '#/exceptions', zh: /异常/, en: /Exceptions/ },
  { name: 'sandbox', hash: () => '#/sandbox', zh: /沙箱/, en: /Sandbox/ },
];

describe('web console accessibility', () => {
  it('labels every control, marks the language and shows keyboard focus on every page, in both languages', async () => {
    const { context, page, problems } = await newPerson(browser);
    try {
      await signIn(page, `${stack.url}/console/`, 'bob');
      for (const lang of ['zh', 'en'] as const) {
        if (lang === 'en') {
          await page.getByRole('button', { name: /English|语言|language/i }).click();
          await expect.poll(() => page.evaluate('document.documentElement.lang')).toBe('en');
        } else {
          expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
        }
        for (const p of PAGES) {
          await open(page, p.hash(), lang === 'zh' ? p.zh : p.en);
          const found = (await page.evaluate(AUDIT)) as string[];
          expect(found, `${p.name} (${lang})`).toEqual([]);
          const stops = await unfocusedStops(page);
          // At least the skip button, the navigation and the header's buttons are reachable by keyboard.
          expect(stops.reached, `${p.name} (${lang}) keyboard stops`).toBeGreaterThanOrEqual(8);
          expect(stops.hidden, `${p.name} (${lang}) focus without an indicator`).toEqual([]);
        }
      }
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('the checks themselves find an unlabelled control, a nameless button and a hidden focus ring', async () => {
    const { context, page } = await newPerson(browser);
    try {
      await signIn(page, `${stack.url}/console/`, 'carol');
      await open(page, '#/payouts', /代付/);
      expect(await page.evaluate(AUDIT)).toEqual([]);
      await page.evaluate(`(() => {
        const main = document.getElementById('main');
        const input = document.createElement('input'); input.id = 'probe-input'; main.prepend(input);
        const button = document.createElement('button'); button.id = 'probe-button'; main.prepend(button);
      })()`);
      const found = (await page.evaluate(AUDIT)) as string[];
      expect(found.some((p) => p.startsWith('control without a label: input#probe-input'))).toBe(true);
      expect(found.some((p) => p.startsWith('button or link without a name: button#probe-button'))).toBe(
        true,
      );
      await page.evaluate(`(() => {
        const b = document.getElementById('probe-button');
        b.textContent = 'probe'; b.style.outline = 'none'; b.style.boxShadow = 'none'; b.focus();
      })()`);
      expect(await page.evaluate(FOCUS)).toMatchObject({ what: 'button#probe-button probe', shown: false });
    } finally {
      await context.close();
    }
  });
});
