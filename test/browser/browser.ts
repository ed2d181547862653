import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Debian's Chromium (scripts/ensure-chromium.sh), driven by playwright-core, headless, with the flags that
 * work on a machine without outside network. Playwright starts it on a fresh temporary --user-data-dir
 * of its own (launch(), not launchPersistentContext), and every browser context in it is a separate
 * person: separate storage, separate sign-in.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/**
 * Collects what the page reports as broken (uncaught errors, CSP violations) so a test can assert there
 * were none: a strict CSP silently blocking a script would otherwise look like an empty page.
 */
export async function newPerson(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    locale: 'zh-CN',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      problems.push(message.text());
  });
  return { context, page, problems };
}

export async function signIn(page: Page, consoleUrl: string, name: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel('操作人名称').fill(name);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await expect.poll(() => page.locator('#signed-in').textContent()).toContain(name);
}

/**
 * The same sign-in with the keyboard only: Tab to the name field (its focus ring must be visible), type,
 * Enter. Proves the sign-in needs no mouse and that keyboard focus is shown.
 */
export async function signInWithKeyboard(page: Page, consoleUrl: string, name: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.locator('#principal').waitFor();
  for (let i = 0; i < 10 && (await page.evaluate('document.activeElement?.id')) !== 'principal'; i++) {
    await page.keyboard.press('Tab');
  }
  // A string, evaluated in the page: this file is type-checked without the DOM library.
  const outline = await page.evaluate(
    '(() => { const el = document.activeElement; const s = getComputedStyle(el); return { id: el.id, style: s.outlineStyle, width: s.outlineWidth }; })()',
  );
  expect(outline).toEqual({ id: 'principal', style: 'solid', width: '3px' });
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('#signed-in').textContent()).toContain(name);
}

const SHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));

/**
 * Screenshots for docs/console/ (shown in the README): only when CONSOLE_SCREENSHOTS=1, so an ordinary
 * test run never rewrites committed files.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.CONSOLE_SCREENSHOTS !== '1') return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
