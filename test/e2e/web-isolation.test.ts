// The learner is told when their sandbox is not a boundary: on a server running trusted sandboxes the
// lesson page says so above the lesson, and on the default (isolated) level it says nothing. Real
// Chromium, real server, real sandboxes of both levels.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { launchBrowser } from '../support/browser.ts';
import { requireChromium, requireDocker } from '../support/require.ts';
import { TOKEN, makeFixture, startServer } from '../integration/http-fixture.ts';

const ARTIFACTS = path.resolve('test/artifacts');
const PROMPT_TIMEOUT_MS = 120_000;
const WARNING = 'This sandbox is not isolated from the server';

for (const isolation of ['trusted', 'isolated'] as const) {
  test(`the lesson page on a ${isolation} server ${isolation === 'trusted' ? 'warns' : 'does not warn'} that the sandbox is not isolated`, async (t) => {
    if (!requireChromium(t) || !requireDocker(t)) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    const fx = makeFixture(t);
    fx.config = { ...fx.config, isolation };
    const server = await startServer(t, fx, { reapSandboxes: true });
    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${server.url}/?token=${TOKEN}`);
    await page.locator(`a.lab-card[data-lab="${fx.labId}"]`).click();
    await page.waitForURL(`**/labs/${fx.labId}`);
    // The shell prompt: the page is complete and the sandbox of this level is running.
    await page.waitForFunction(() => /webfix[^\n]*[#$]/.test((document.querySelector('.term-host .xterm-rows')?.textContent ?? '').replace(/\u00a0/g, ' ')), undefined, { timeout: PROMPT_TIMEOUT_MS, polling: 200 });
    const warning = page.locator('.isolation-warning');
    if (isolation === 'trusted') {
      assert.match(await warning.innerText(), new RegExp(WARNING));
      await page.screenshot({ path: path.join(ARTIFACTS, 'lesson-trusted-warning.png') });
    } else {
      assert.equal(await warning.count(), 0, 'an isolated sandbox gets no warning');
    }
  });
}
