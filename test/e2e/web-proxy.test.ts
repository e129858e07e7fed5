// labrun behind a real nginx on a sub-path, in real Chromium: the documented nginx configuration
// (docs/deploying.md) in front of `labrun serve --base-path /labrun --trusted-proxy 127.0.0.1`. The
// seed lab's first step (terminal over a proxied WebSocket, Check) and a classroom join by its link
// both work through the proxy; the cookies are scoped to /labrun; the join link the board shows is
// the proxy's address (X-Forwarded-Host believed from the trusted proxy), not labrun's own.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../server/config.ts';
import { collectErrors, launchBrowser, textWaits } from '../support/browser.ts';
import { requireChromium, requireDocker, requireNginx } from '../support/require.ts';
import { startNginx } from '../support/nginx.ts';
import { TOKEN, copyLab, startServer } from '../integration/http-fixture.ts';

const BASE = '/labrun';
const PROMPT_TIMEOUT_MS = 180_000;
const OUTPUT_TIMEOUT_MS = 30_000;

const { waitForText } = textWaits({ timeout: OUTPUT_TIMEOUT_MS });
/** Console errors and failed responses: a refused WebSocket or a file missed under the prefix fails the test. */
const ERRORS = { responses: true };

test('behind nginx on /labrun: the seed lab\'s first step and a classroom join work through the proxy', async (t) => {
  if (!requireChromium(t) || !requireDocker(t) || !requireNginx(t)) return;
  const lab = copyLab(t, path.resolve('labs/linux-networks'));
  const config = parseConfig(['--port', '0', '--labs', lab.labsDir, '--data', lab.dataDir, '--token', TOKEN, '--base-path', BASE, '--trusted-proxy', '127.0.0.1'], {});
  const server = await startServer(t, { ...lab, config }, { reapSandboxes: true });
  const upstreamPort = Number(new URL(server.url).port);
  const nginx = await startNginx(t, upstreamPort);
  const app = `${nginx.origin}${BASE}`;
  const browser = await launchBrowser(t);
  const errors: string[] = [];
  const ownerContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const owner = await ownerContext.newPage();
  collectErrors(owner, errors, ERRORS);

  await t.test('the printed link, opened through nginx, signs in under /labrun with a cookie scoped to it', async () => {
    await owner.goto(`${app}/?token=${TOKEN}`);
    const landed = new URL(owner.url());
    assert.equal(landed.origin, nginx.origin);
    assert.equal(landed.pathname, `${BASE}/`);
    assert.equal(landed.search, '');
    await owner.locator(`a.lab-card[data-lab="${lab.labId}"]`).waitFor();
    const cookies = await ownerContext.cookies(`${app}/`);
    const session = cookies.find((c) => c.name === 'labrun_session');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.path, BASE);
    assert.equal(session.httpOnly, true);
    // The browser sends it only under the prefix: a page of another app on this host never sees it.
    assert.equal((await ownerContext.cookies(`${nginx.origin}/other-app/`)).some((c) => c.name === 'labrun_session'), false);
  });

  await t.test('the seed lab\'s first step: a terminal over the proxied WebSocket, Check fails, Run, Check passes', async () => {
    await owner.locator(`a.lab-card[data-lab="${lab.labId}"]`).click();
    await owner.waitForURL(`${app}/labs/${lab.labId}`);
    await waitForText(owner, '.term-host .xterm-rows', /linuxnetworks[^\n]*#/, PROMPT_TIMEOUT_MS);
    await owner.locator('button[data-action="check"]').click();
    await owner.locator('.results.failed').waitFor({ timeout: OUTPUT_TIMEOUT_MS * 3 });
    await owner.locator('.code-block:has(pre[data-run]) button.run').first().click();
    // The prompt after the id, not the id: `docker run -d` prints the id before it starts the container.
    await waitForText(owner, '.term-host .xterm-rows', /[0-9a-f]{64}\s*\S*linuxnetworks#/, OUTPUT_TIMEOUT_MS * 2);
    await owner.locator('button[data-action="check"]').click();
    await owner.locator('.results.passed').waitFor({ timeout: OUTPUT_TIMEOUT_MS * 3 });
    assert.equal(await owner.locator('.step-list li.done').count(), 1);
  });

  let joinUrl = '';
  await t.test('the instructor creates a class; its join link is the proxy\'s address under /labrun', async () => {
    await owner.goto(`${app}/instructor`);
    await owner.locator('select[name="lab"]').selectOption(lab.labId);
    await owner.locator('input[name="name"]').fill('Proxied class');
    await owner.locator('button[data-action="create-class"]').click();
    await owner.waitForURL(`${app}/instructor/classes/*`);
    const code = await owner.locator('[data-join-code]').innerText();
    joinUrl = await owner.locator('.join-link').inputValue();
    assert.equal(joinUrl, `${app}/join/${code}`);
    assert.equal(await owner.locator('a[data-results="csv"]').getAttribute('href'), `${BASE}/api/classes/${new URL(owner.url()).pathname.split('/').pop() ?? ''}/results.csv`);
  });

  await t.test('a learner in another browser joins by the link and gets a shell through the proxy', async () => {
    const learnerContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const learner = await learnerContext.newPage();
    collectErrors(learner, errors, ERRORS);
    await learner.goto(joinUrl);
    await learner.locator('.join-card h1', { hasText: 'Proxied class' }).waitFor();
    await learner.locator('input[name="name"]').fill('Grace Hopper');
    await learner.locator('button[type="submit"]').click();
    await learner.waitForURL(`${app}/labs/${lab.labId}`);
    await waitForText(learner, '.term-host .xterm-rows', /linuxnetworks[^\n]*#/, PROMPT_TIMEOUT_MS);
    await learner.locator('.term-host .xterm').click();
    await learner.keyboard.type('echo proxied-$((6*7))');
    await learner.keyboard.press('Enter');
    await waitForText(learner, '.term-host .xterm-rows', /proxied-42/);
    const cookie = (await learnerContext.cookies(`${app}/`)).find((c) => c.name === 'labrun_learner');
    assert.equal(cookie?.path, BASE);
    await owner.locator('tr[data-learner] .learner-name', { hasText: 'Grace Hopper' }).waitFor({ timeout: OUTPUT_TIMEOUT_MS });
  });

  assert.deepEqual(errors, [], `nginx error log:\n${nginx.errors().slice(-2000)}`);
});
