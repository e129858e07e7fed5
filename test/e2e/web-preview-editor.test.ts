// The workspace in real Chromium with a real sandbox of the seed lab: a container started in the
// terminal shows in the Ports list and its preview shows nginx's page; nginx_b's page on 9080 in the
// network_mode stack; a WebSocket echo service through the preview; another learner gets 403; a page
// served from the sandbox cannot use labrun's API (and could, without the CSP sandbox); the lesson's
// file: link opens netsvc.conf in the editor, an edit meanwhile in the terminal is a conflict, and the
// saved edit makes nginx_b answer on 9081 after a restart. Screenshots go to test/artifacts/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { LABEL } from '../../server/sandbox/naming.ts';
import { collectErrors, launchBrowser, textWaits, typeInTerminal } from '../support/browser.ts';
import { SANDBOX_DOCKER, requireChromium, requireDocker } from '../support/require.ts';
import { TOKEN, copyLab, startServer } from '../integration/http-fixture.ts';

const ARTIFACTS = path.resolve('test/artifacts');
const PROMPT_TIMEOUT_MS = 180_000;
const OUTPUT_TIMEOUT_MS = 60_000;

const { waitForScreen } = textWaits({ timeout: OUTPUT_TIMEOUT_MS, polling: 200 });

/** Runs a command in the terminal and waits for a marker it prints when done. */
async function runInTerminal(page: Page, command: string, marker: string): Promise<void> {
  await page.locator('.ws-tab-label[data-tab^="term:"]').first().click();
  await typeInTerminal(page, `${command}; echo ${marker}-$((40+2))`);
  await waitForScreen(page, new RegExp(`${marker}-42`));
}

function sandboxName(labId: string): string {
  return execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '--filter', `label=${LABEL.lab}=${labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
}

/** Opens the Ports tab and waits for a row; returns the new tab its Open link opens. */
async function openFromPorts(page: Page, port: number, where: string): Promise<Page> {
  await page.locator('.ws-tab-label[data-tab="ports"]').click();
  const row = page.locator(`.ports-table tr[data-port="${port}"][data-where="${where}"]`).first();
  await row.waitFor({ timeout: OUTPUT_TIMEOUT_MS });
  const [tab] = await Promise.all([page.context().waitForEvent('page'), row.locator('a.preview-link').click()]);
  await tab.waitForLoadState();
  return tab;
}

/** Reloads a preview tab until its body matches (a service that is still starting). */
async function waitForBody(tab: Page, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + OUTPUT_TIMEOUT_MS;
  for (;;) {
    const text = await tab.locator('body').innerText().catch(() => '');
    if (pattern.test(text)) return;
    if (Date.now() > deadline) throw new Error(`the preview never showed ${pattern}; it shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 700));
    await tab.reload();
  }
}

test('the workspace in Chromium: ports, preview, editor', { timeout: 900_000 }, async (t) => {
  if (!requireChromium(t) || !requireDocker(t)) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const fx = copyLab(t, path.resolve('labs/linux-networks'));
  const server = await startServer(t, fx, { reapSandboxes: true });
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  collectErrors(page, pageErrors, { console: false });

  await page.goto(`${server.url}/?token=${TOKEN}`);
  await page.goto(`${server.url}/labs/${fx.labId}`);
  await waitForScreen(page, /linuxnetworks[^\n]*[#$]/, PROMPT_TIMEOUT_MS);
  let nginxTicketUrl = '';

  await t.test('a container started in the terminal shows in Ports, and its preview shows nginx\'s page', async () => {
    await runInTerminal(page, 'docker run -p 8080:80 -d nginx', 'started');
    const tab = await openFromPorts(page, 8080, 'sandbox');
    await waitForBody(tab, /Welcome to nginx!/);
    assert.match(await tab.title(), /Welcome to nginx!/);
    nginxTicketUrl = tab.url();
    assert.match(new URL(nginxTicketUrl).pathname, new RegExp(`^/preview/@[^/]+/${fx.labId}/8080/$`));
    await page.screenshot({ path: path.join(ARTIFACTS, 'workspace-ports.png') });
    await tab.screenshot({ path: path.join(ARTIFACTS, 'workspace-preview-nginx.png') });
    await tab.close();
  });

  await t.test('the lesson\'s port: link opens the same preview', async () => {
    const link = page.locator('.markdown a.port-link[data-port="8080"]');
    await link.waitFor();
    await page.locator('.ws-tab-label[data-tab^="term:"]').first().click();
    const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await waitForBody(tab, /Welcome to nginx!/);
    await tab.close();
    assert.equal(await page.locator('.ws-tab-label[data-tab="ports"]').getAttribute('aria-selected'), 'true', 'the Ports tab came to the front');
  });

  await t.test('a page served from the sandbox cannot call labrun\'s API; without the CSP sandbox it could', async () => {
    const sb = sandboxName(fx.labId);
    // It tries labrun's API with the learner's cookie; and, to show the app itself still works, its own address.
    const attack = "<!doctype html><title>wait</title><script>const own=fetch('./').then(r=>'own:'+r.status,()=>'own:failed');fetch('/api/labs',{credentials:'include'}).then(r=>r.text().then(t=>'status:'+r.status+':'+t.slice(0,20)),e=>'blocked:'+e.name).then(async a=>{document.title=a+'|'+(await own)})</script>";
    execFileSync('docker', [...SANDBOX_DOCKER, 'exec', '-i', sb, 'bash', '-c', 'docker exec -i $(docker ps -q --filter publish=8080) sh -c "cat > /usr/share/nginx/html/attack.html"'], { input: attack });
    const tab = await context.newPage();
    await tab.goto(`${nginxTicketUrl}attack.html`);
    await tab.waitForFunction(() => document.title !== 'wait', undefined, { timeout: OUTPUT_TIMEOUT_MS });
    assert.match(await tab.title(), /^blocked:TypeError\|own:200$/);
    // The same page with labrun's protection stripped in the browser: it reads the learner's API.
    const exposed = await context.newPage();
    await exposed.route('**/attack.html', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['content-security-policy'];
      await route.fulfill({ response, headers });
    });
    await exposed.goto(`${nginxTicketUrl}attack.html`);
    await exposed.waitForFunction(() => document.title !== 'wait', undefined, { timeout: OUTPUT_TIMEOUT_MS });
    assert.match(await exposed.title(), /^status:200:\{"labs".*\|own:200$/);
    await tab.close();
    await exposed.close();
  });

  await t.test('with network_mode: service:nginx_a, the preview of 9080 shows nginx_b\'s page', async () => {
    await runInTerminal(page, 'docker rm -f $(docker ps -aq) >/dev/null; docker compose -f docker-compose-netsvc.yaml up -d', 'stack');
    await runInTerminal(page, "docker compose -f docker-compose-netsvc.yaml exec -T nginx_b sh -c 'echo served-by-nginx_b > /usr/share/nginx/html/who.html'", 'marked');
    const tab = await openFromPorts(page, 9080, 'sandbox');
    await tab.goto(`${tab.url()}who.html`);
    await waitForBody(tab, /served-by-nginx_b/);
    await tab.close();
    // The list names the namespace's owner for the ports inside it.
    await page.locator('.ports-table tr[data-port="9080"][data-where="nginx_a"]').waitFor();
  });

  await t.test('a WebSocket echo service in the sandbox works through the preview', async () => {
    const sb = sandboxName(fx.labId);
    execFileSync('docker', [...SANDBOX_DOCKER, 'exec', '-i', sb, 'bash', '-c', 'cat > /tmp/ws-echo.pl && (setsid perl /tmp/ws-echo.pl 8765 >/tmp/ws-echo.log 2>&1 &)'], { input: readFileSync(path.resolve('test/fixtures/preview/ws-echo.pl')) });
    const tab = await openFromPorts(page, 8765, 'sandbox');
    await tab.waitForFunction(() => document.title.startsWith('echo:') || document.title === 'ws-error', undefined, { timeout: OUTPUT_TIMEOUT_MS });
    assert.equal(await tab.title(), 'echo:ping-42');
    await tab.close();
  });

  await t.test('another learner gets 403', async () => {
    const created = await page.request.post(`${server.url}/api/classes`, { data: { labId: fx.labId }, headers: { origin: server.url } });
    assert.equal(created.status(), 201);
    const { joinCode } = (await created.json()) as { joinCode: string };
    const other = await browser.newContext();
    t.after(() => other.close());
    const joined = await other.request.post(`${server.url}/api/join/${joinCode}`, { data: { name: 'Other learner' }, headers: { origin: server.url } });
    assert.equal(joined.status(), 201);
    const theirs = await other.newPage();
    const entry = await theirs.goto(`${server.url}/preview/${fx.labId}/8765/?learner=local`);
    assert.equal(entry?.status(), 403);
    const ticketed = await theirs.goto(nginxTicketUrl.replace('/8080/', '/8765/'));
    assert.equal(ticketed?.status(), 403, 'a ticket is for one port only');
    const shared = await theirs.goto(nginxTicketUrl);
    assert.equal(shared?.status(), 403, 'a shared link does not let another learner in');
  });

  await t.test('the editor: a lesson link opens netsvc.conf at its line; a change underneath is a conflict; the saved edit takes effect', async () => {
    await page.locator('.step-list button[data-step="network-mode"]').click();
    const link = page.locator('.markdown a.file-link[data-file="netsvc.conf"]');
    await link.click();
    const editor = page.locator('.editor-host .cm-content');
    await editor.waitFor();
    await page.waitForFunction(() => document.querySelector('.editor-path')?.textContent === 'netsvc.conf');
    assert.equal(await page.locator('.ws-tab-label[data-tab="editor"]').getAttribute('aria-selected'), 'true', 'the Editor tab came to the front');
    // The terminals come first in the strip, the Ports and Editor tabs last.
    assert.deepEqual((await page.locator('.ws-tab-label').evaluateAll((els) => els.map((e) => e.getAttribute('data-tab')))).slice(-2), ['ports', 'editor']);
    assert.match(await editor.innerText(), /listen 9080;/);
    assert.equal((await page.locator('.editor-host .cm-activeLine').innerText()).trim(), 'listen 9080;', 'opened at line 3');

    // Edit in the editor (End, then Shift+Home selects the line's text after its indentation): marked unsaved.
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.insertText('listen 9081;');
    await page.locator('.editor-dirty:not(.is-hidden)').waitFor();
    await page.locator('.tree-file.is-dirty[data-path="netsvc.conf"]').waitFor();

    // Meanwhile, the terminal changes the file.
    await runInTerminal(page, "echo '# edited in the terminal' >> netsvc.conf", 'appended');
    await page.locator('.ws-tab-label[data-tab="editor"]').click();
    await page.locator('button[data-action="save"]').click();
    const conflict = page.locator('.editor-message.is-conflict');
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /changed in your sandbox since you opened it/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'workspace-editor-conflict.png') });
    await page.locator('button[data-action="overwrite"]').click();
    await page.locator('.editor-message.is-info').waitFor();
    await page.locator('.editor-dirty.is-hidden').waitFor({ state: 'attached' });

    // Restart the stack in the terminal (one terminal tab here); nginx_b now listens on 9081 in nginx_a's namespace.
    await runInTerminal(page, 'grep -c "listen 9081" netsvc.conf && docker compose -f docker-compose-netsvc.yaml restart nginx_b', 'restarted');
    const tab = await openFromPorts(page, 9081, 'nginx_a');
    await waitForBody(tab, /Welcome to nginx!/);
    assert.match(new URL(tab.url()).pathname, /\/9081@nginx_a\/$/);
    await tab.close();
  });

  assert.deepEqual(pageErrors, []);
});
