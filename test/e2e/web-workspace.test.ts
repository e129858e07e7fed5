// The learner's workspace in real headless Chromium with a real sandbox: several terminal tabs (a
// Run block opening the tab it names, +, reload bringing every tab back with its scrollback, rename,
// close, the limit), keyboard reachability, copy and paste round-tripping a multi-line text into the
// shell exactly (and bracketed when the program asks), and the touch key bar on a phone-sized
// viewport sending Ctrl-C to `yes` and Tab to bash's completion.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectErrors, launchBrowser, screenText, textWaits, typeInTerminal } from '../support/browser.ts';
import { requireChromium, requireDocker } from '../support/require.ts';
import { TOKEN, makeFixture, startServer } from '../integration/http-fixture.ts';

const ARTIFACTS = path.resolve('test/artifacts');
const PROMPT_TIMEOUT_MS = 120_000;
const OUTPUT_TIMEOUT_MS = 20_000;
/** The rows of the terminal in front (hidden tabs keep their own). */
const FRONT_ROWS = '.ws-panel:not([hidden]) .term-host .xterm-rows';

const frontText = (page: Page): Promise<string> => screenText(page, FRONT_ROWS);
const { waitForScreen: waitForFront } = textWaits({ timeout: OUTPUT_TIMEOUT_MS, rows: FRONT_ROWS });
const typeLine = (page: Page, line: string): Promise<void> => typeInTerminal(page, line, '.ws-panel:not([hidden]) .term-host .xterm');

/** Titles of the terminal tabs (the workspace also holds other panels, e.g. Network). */
async function tabTitles(page: Page): Promise<string[]> {
  return page.locator('.ws-tab[data-tab^="term:"] [role="tab"]').allInnerTexts();
}

/** Step one of the fixture lab, plus a Run block aimed at terminal 2. */
function addTerminalBlock(labsDir: string, labId: string): void {
  const file = path.join(labsDir, labId, 'steps', '01-hello.md');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\nIn a second terminal:\n\n\`\`\`bash run terminal=2\necho in-two-$((40+2)) && tty\n\`\`\`\n`);
}

async function openLesson(browser: Browser, url: string, labId: string, contextOpts: Parameters<Browser['newContext']>[0], errors: string[]): Promise<Page> {
  const context = await browser.newContext(contextOpts);
  const page = await context.newPage();
  collectErrors(page, errors, { allowed: [/status of 409/] });
  await page.goto(`${url}/labs/${labId}?token=${TOKEN}`);
  await waitForFront(page, /webfix[^\n]*[#$]/, PROMPT_TIMEOUT_MS);
  return page;
}

test('the workspace: terminal tabs, keyboard, clipboard and the touch key bar', async (t) => {
  if (!requireChromium(t) || !requireDocker(t)) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const fx = makeFixture(t);
  addTerminalBlock(fx.labsDir, fx.labId);
  const server = await startServer(t, fx, { reapSandboxes: true });
  const browser = await launchBrowser(t);
  const errors: string[] = [];
  const page = await openLesson(browser, server.url, fx.labId, { viewport: { width: 1400, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] }, errors);

  await t.test('a Run block aimed at terminal 2 opens that tab and runs there', async () => {
    await typeLine(page, 'echo in-one-$((1+1))');
    await waitForFront(page, /in-one-2/);
    assert.deepEqual(await tabTitles(page), ['Terminal 1']);
    await page.locator('.code-block:has(pre[data-terminal="2"]) button.run').click();
    await page.locator('.ws-tab.is-active [role="tab"]', { hasText: 'Terminal 2' }).waitFor();
    await waitForFront(page, /in-two-42/, PROMPT_TIMEOUT_MS);
    assert.deepEqual(await tabTitles(page), ['Terminal 1', 'Terminal 2']);
    assert.doesNotMatch(await frontText(page), /in-one-2/, 'a shell of its own: no output of terminal 1');
    // A second run goes to the same tab, not a new one.
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 1' }).click();
    await page.locator('.code-block:has(pre[data-terminal="2"]) button.run').click();
    await page.locator('.ws-tab.is-active [role="tab"]', { hasText: 'Terminal 2' }).waitFor();
    assert.equal((await tabTitles(page)).length, 2);
  });

  await t.test('+ opens a third shell; a reload brings every tab back with its scrollback, the front one in front', async () => {
    await page.locator('button[data-action="new-terminal"]').click();
    await page.locator('.ws-tab.is-active [role="tab"]', { hasText: 'Terminal 3' }).waitFor();
    await waitForFront(page, /webfix[^\n]*[#$]/, PROMPT_TIMEOUT_MS);
    await typeLine(page, 'echo in-three-$((1+2))');
    await waitForFront(page, /in-three-3/);
    await page.reload();
    await page.locator('.ws-tab.is-active [role="tab"]', { hasText: 'Terminal 3' }).waitFor();
    assert.deepEqual(await tabTitles(page), ['Terminal 1', 'Terminal 2', 'Terminal 3']);
    await waitForFront(page, /in-three-3/, PROMPT_TIMEOUT_MS);
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 1' }).click();
    await waitForFront(page, /in-one-2/);
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 2' }).click();
    await waitForFront(page, /in-two-42/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'workspace-tabs.png') });
  });

  await t.test('rename by double-click and by F2 is kept across a reload; close ends the shell', async () => {
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 3' }).dblclick();
    await page.locator('input.ws-rename').fill('build logs');
    await page.keyboard.press('Enter');
    await page.locator('.ws-tab [role="tab"]', { hasText: 'build logs' }).waitFor();
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 2' }).focus();
    await page.keyboard.press('F2');
    await page.locator('input.ws-rename').fill('server');
    await page.keyboard.press('Enter');
    await page.locator('.ws-tab [role="tab"]', { hasText: 'server' }).waitFor();
    await page.reload();
    await page.locator('.ws-tab [role="tab"]', { hasText: 'build logs' }).waitFor();
    assert.deepEqual(await tabTitles(page), ['Terminal 1', 'server', 'build logs']);

    await page.locator('.ws-tab [role="tab"]', { hasText: 'build logs' }).click();
    await page.locator('.ws-tab.is-active button[data-action="close"]').click();
    await page.waitForFunction(() => document.querySelectorAll('.ws-tab[data-tab^="term:"]').length === 2);
    assert.deepEqual(await tabTitles(page), ['Terminal 1', 'server']);
    // The number is free again, and the new tab is a new shell: no scrollback of the closed one.
    await page.locator('button[data-action="new-terminal"]').click();
    await page.locator('.ws-tab.is-active [role="tab"]', { hasText: 'Terminal 3' }).waitFor();
    await waitForFront(page, /webfix[^\n]*[#$]/, PROMPT_TIMEOUT_MS);
    assert.doesNotMatch(await frontText(page), /in-three-3/);
  });

  await t.test('past the limit, + is disabled and the server says why', async () => {
    const answer = await page.evaluate(async (labId) => {
      const statuses: number[] = [];
      let last = '';
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`/api/labs/${labId}/terminals`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        statuses.push(res.status);
        last = JSON.stringify(await res.json());
      }
      return { statuses, last };
    }, fx.labId);
    assert.deepEqual(answer.statuses, [201, 201, 201, 409, 409, 409]);
    assert.match(answer.last, /6 terminals open, the most a session may have; close one/);
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('.ws-tab[data-tab^="term:"]').length === 6);
    assert.equal(await page.locator('button[data-action="new-terminal"]').isDisabled(), true);
    for (const title of ['Terminal 4', 'Terminal 5', 'Terminal 6']) {
      await page.locator('.ws-tab [role="tab"]', { hasText: title }).click();
      await page.locator('.ws-tab.is-active button[data-action="close"]').click();
      await page.locator('.ws-tab [role="tab"]', { hasText: title }).waitFor({ state: 'detached' });
    }
    assert.equal(await page.locator('button[data-action="new-terminal"]').isDisabled(), false);
  });

  await t.test('the keyboard reaches every control with a visible focus, and gets out of the terminal', async () => {
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 1' }).click();
    await typeLine(page, 'echo focus-check');
    await page.keyboard.press('Control+Shift+ArrowUp');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Terminal 1', 'Ctrl+Shift+Up leaves the terminal for its tab');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'server');
    assert.equal(await page.locator('.ws-tab.is-active [role="tab"]').innerText(), 'server', 'arrows switch tabs');
    const outline = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? getComputedStyle(el).outlineStyle : 'none';
    });
    assert.notEqual(outline, 'none', 'the focused tab shows an outline');
    // Tab walks on through the tab's own buttons, +, and the settings.
    const reached: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        const visible = el ? getComputedStyle(el).outlineStyle !== 'none' : false;
        return `${el?.getAttribute('data-action') ?? el?.getAttribute('aria-label') ?? el?.tagName}${visible ? '' : ' (no focus style)'}`;
      }));
    }
    assert.deepEqual(reached, ['rename', 'close', 'new-terminal', 'Terminal settings']);
    await page.keyboard.press('Enter');
    await page.locator('.settings-menu input[name="screen-reader"]').waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    assert.equal(await page.locator('.settings-menu input[name="screen-reader"]').isChecked(), true);
    await page.locator('.ws-panel:not([hidden]) .xterm-accessibility').first().waitFor({ state: 'attached' });
    await page.reload();
    await waitForFront(page, /webfix[^\n]*[#$]/, PROMPT_TIMEOUT_MS);
    await page.locator('.ws-panel:not([hidden]) .xterm-accessibility').first().waitFor({ state: 'attached' });
    assert.equal(await page.locator('.settings-menu input[name="screen-reader"]').isChecked(), true, 'kept across a reload');
  });

  await t.test('copy from the terminal and paste into it round-trips a multi-line text exactly', async () => {
    await page.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 1' }).click();
    const text = 'ALPHA one\n  beta  two | ~ back\\slash\ngamma "three" $HOME \'q\'';
    // Printed from base64, so the command line itself does not contain the text.
    await typeLine(page, `clear; echo ${Buffer.from(`${text}\n`).toString('base64')} | base64 -d`);
    await waitForFront(page, /gamma "three"/);
    const rows = page.locator(`${FRONT_ROWS} > div`);
    const first = rows.filter({ hasText: /^ALPHA one/ }).first();
    const last = rows.filter({ hasText: /^gamma "three"/ }).first();
    const a = await first.boundingBox();
    const b = await last.boundingBox();
    assert.ok(a && b);
    await page.mouse.move(a.x + 1, a.y + a.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width - 2, b.y + b.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.keyboard.press('Control+Shift+C');
    await page.waitForFunction(async (want) => (await navigator.clipboard.readText()) === want, text, { timeout: 5000 }).catch(async () => {
      throw new Error(`the clipboard holds ${JSON.stringify(await page.evaluate(() => navigator.clipboard.readText()))}`);
    });

    const pasted = async (times: number): Promise<void> => {
      // The clipboard is read asynchronously: wait for the paste to echo before typing on.
      await page.waitForFunction(
        ([sel, n]) => ((document.querySelector(sel)?.textContent ?? '').match(/gamma "three"/g) ?? []).length >= n,
        [FRONT_ROWS, times] as const,
        { timeout: OUTPUT_TIMEOUT_MS },
      );
    };
    // The marker prints after bash turned bracketed paste off for the command, so a paste after it
    // reaches cat as plain text (pasting sooner would still be bracketed: bash's own mode).
    await typeLine(page, 'echo cat-$((1+1))-ready; cat > /tmp/pasted.txt');
    await waitForFront(page, /cat-2-ready/);
    await page.keyboard.press('Control+Shift+V');
    await pasted(2);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+D');
    await typeLine(page, 'echo B64=$(base64 -w0 /tmp/pasted.txt)=END');
    await waitForFront(page, /B64=[A-Za-z0-9+/]+=*=END/);
    const got = /B64=([A-Za-z0-9+/]+=*)=END/.exec(await frontText(page))?.[1] ?? '';
    assert.equal(Buffer.from(got, 'base64').toString(), `${text}\n`, 'what reached the shell is the text, byte for byte');

    // A program that turns on bracketed paste (mode 2004) gets the paste bracketed.
    await typeLine(page, "clear; printf '\\e[?2004h'; echo bp-$((1+1))-on; cat -v > /tmp/bracketed.txt");
    await page.waitForFunction((sel) => !/gamma "three"/.test(document.querySelector(sel)?.textContent ?? ''), FRONT_ROWS);
    await waitForFront(page, /bp-2-on/);
    await page.keyboard.press('Control+Shift+V');
    await pasted(1);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+D');
    await typeLine(page, "printf '\\e[?2004l'; echo BR=$(head -c 7 /tmp/bracketed.txt)=$(grep -c '201~' /tmp/bracketed.txt)");
    await waitForFront(page, /BR=\^\[\[200~=1/);
  });

  await t.test('with copy on selection turned on, selecting copies', async () => {
    await page.evaluate(() => navigator.clipboard.writeText('before'));
    await page.locator('.ws-settings summary').click();
    await page.locator('.settings-menu input[name="copy-on-select"]').check();
    await page.keyboard.press('Escape');
    await typeLine(page, `clear; echo ${Buffer.from('SELECTED words here\n').toString('base64')} | base64 -d`);
    await waitForFront(page, /SELECTED words here/);
    const row = await page.locator(`${FRONT_ROWS} > div`).filter({ hasText: /^SELECTED words here/ }).first().boundingBox();
    assert.ok(row);
    await page.mouse.move(row.x + 1, row.y + row.height / 2);
    await page.mouse.down();
    await page.mouse.move(row.x + row.width - 2, row.y + row.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(async () => (await navigator.clipboard.readText()) === 'SELECTED words here', undefined, { timeout: 5000 });
  });

  await t.test('on a 390×844 touch screen the key bar sends Ctrl-C to yes and Tab to completion', async () => {
    const phone = await openLesson(browser, server.url, fx.labId, { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 }, errors);
    const bar = phone.locator('.key-bar');
    assert.equal(await bar.isVisible(), true, 'the key bar shows on a touch screen');
    assert.equal(await page.locator('.key-bar').isVisible(), false, 'and not with a mouse');
    await phone.locator('.ws-tab [role="tab"]', { hasText: 'Terminal 1' }).tap();
    await phone.locator('.ws-panel:not([hidden]) .term-host .xterm').tap();
    await phone.keyboard.type('yes');
    await phone.keyboard.press('Enter');
    await waitForFront(phone, /(y\s*){20}/);
    await bar.locator('button[data-mod="ctrl"]').tap();
    assert.equal(await bar.locator('button[data-mod="ctrl"]').getAttribute('aria-pressed'), 'true', 'Ctrl is armed for the next key');
    await phone.keyboard.type('c');
    assert.equal(await bar.locator('button[data-mod="ctrl"]').getAttribute('aria-pressed'), 'false', 'and released after it');
    await phone.keyboard.type('echo after-yes-$((2*3))');
    await phone.keyboard.press('Enter');
    await waitForFront(phone, /after-yes-6/, OUTPUT_TIMEOUT_MS * 2);

    await phone.keyboard.type('clear; mkdir -p /tmp/keybar-e2e && echo completed-ok > /tmp/keybar-e2e/unusual-name.txt');
    await phone.keyboard.press('Enter');
    // Only a completed name prints the file: what was typed names no file. (The narrow screen wraps
    // the command line, so the effect is checked rather than the redrawn line.)
    await phone.keyboard.type('cat /tmp/keybar-e2e/unu');
    await bar.locator('button[data-key="Tab"]').tap();
    await phone.keyboard.press('Enter');
    await waitForFront(phone, /completed-ok/);
    assert.doesNotMatch(await frontText(phone), /No such file/);
    // The arrows too: Up recalls the command, Enter runs it again.
    await bar.locator('button[data-key="ArrowUp"]').tap();
    await phone.keyboard.press('Enter');
    await phone.waitForFunction((sel) => ((document.querySelector(sel)?.textContent ?? '').match(/completed-ok/g) ?? []).length >= 2, FRONT_ROWS, { timeout: OUTPUT_TIMEOUT_MS });
    await phone.screenshot({ path: path.join(ARTIFACTS, 'workspace-phone-keybar.png') });
  });

  assert.deepEqual(errors, []);
});
