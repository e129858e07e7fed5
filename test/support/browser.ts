// labrun's pages in real headless Chromium, for the browser tests: one browser a test (closed after
// it), the page errors that fail a test, and waiting for text to show in a page, the terminal's
// visible rows above all.
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './require.ts';

/** The rows of the lesson page's terminal (xterm's DOM renderer). */
export const TERMINAL_ROWS = '.term-host .xterm-rows';

/** Chromium for this test; closed after it. */
export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  return browser;
}

/**
 * Collects what went wrong in a page into `into`, for the test to assert empty: uncaught errors, and
 * unless `console` is false the console's errors (but those matching `allowed`), and with `responses`
 * every response of status 400 or more.
 */
export function collectErrors(page: Page, into: string[], opts: { console?: boolean; responses?: boolean; allowed?: RegExp[] } = {}): void {
  const allowed = opts.allowed ?? [];
  page.on('pageerror', (err) => into.push(err.message));
  if (opts.console !== false) {
    page.on('console', (msg) => {
      // xterm's run-time <style> elements are refused by the CSP by design; client/xterm-styles.ts
      // mirrors them into constructed stylesheets, so only the browser's report of the refusal remains.
      if (msg.type() === 'error' && !/^Applying inline style violates/.test(msg.text()) && !allowed.some((re) => re.test(msg.text()))) into.push(msg.text());
    });
  }
  if (opts.responses) {
    page.on('response', (res) => {
      if (res.status() >= 400) into.push(`${res.status()} ${res.url()}`);
    });
  }
}

/** Text of the terminal's visible rows (or of `selector`), with non-breaking spaces made plain. */
export function screenText(page: Page, selector = TERMINAL_ROWS): Promise<string> {
  return page.evaluate((sel) => (document.querySelector(sel)?.textContent ?? '').replace(/\u00a0/g, ' '), selector);
}

/** Clicks into the terminal (or the one `terminal` selects) and types a line, as the learner would. */
export async function typeInTerminal(page: Page, line: string, terminal = '.term-host .xterm'): Promise<void> {
  await page.locator(terminal).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

export interface TextWaits {
  /** Waits until `selector`'s text (non-breaking spaces made plain) matches `pattern`. */
  waitForText(page: Page, selector: string, pattern: RegExp, timeout?: number): Promise<void>;
  /** Waits until the terminal's visible rows (`rows`, by default the lesson page's) match `pattern`. */
  waitForScreen(page: Page, pattern: RegExp, timeout?: number): Promise<void>;
}

/**
 * Waits for text in a page, by default for as long as the test gives its output (`timeout`, each test
 * its own), checking every `polling` ms. A wait that times out says what the element shows instead.
 */
export function textWaits(defaults: { timeout: number; polling?: number; rows?: string }): TextWaits {
  const polling = defaults.polling ?? 100;
  const rows = defaults.rows ?? TERMINAL_ROWS;
  async function wait(page: Page, selector: string, what: string, pattern: RegExp, timeout: number): Promise<void> {
    try {
      await page.waitForFunction(
        ([sel, source, flags]) => new RegExp(source, flags).test((document.querySelector(sel)?.textContent ?? '').replace(/\u00a0/g, ' ')),
        [selector, pattern.source, pattern.flags] as const,
        { timeout, polling },
      );
    } catch (err) {
      const text = await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? '(nothing)', selector);
      throw new Error(`${what} never showed ${pattern}; it shows:\n${text.replace(/\u00a0/g, ' ')}`, { cause: err });
    }
  }
  return {
    waitForText: (page, selector, pattern, timeout = defaults.timeout) => wait(page, selector, selector, pattern, timeout),
    waitForScreen: (page, pattern, timeout = defaults.timeout) => wait(page, rows, 'terminal', pattern, timeout),
  };
}
