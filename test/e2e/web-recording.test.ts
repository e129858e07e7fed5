// Terminal recordings in real Chromium with a real sandbox: the instructor turns recording on for a
// class, the learner sees that it is on and works in the terminal (moving to the next step in
// between), the board plays the recording back with asciinema-player showing the same lines as the
// live terminal, and the learner's downloaded `.cast` is valid asciicast v2 (header and every event
// line), carries the step markers, and plays in Debian's `asciinema cat`. The board's Network tab
// shows the same learner's engine, read-only.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { outputText, parseAsciicast } from '../../server/recording/asciicast.ts';
import { asciinemaCat } from '../support/asciinema.ts';
import { collectErrors, launchBrowser } from '../support/browser.ts';
import { requireAsciinema, requireChromium, requireDocker } from '../support/require.ts';
import { TOKEN, makeFixture, startServer } from '../integration/http-fixture.ts';

const ARTIFACTS = path.resolve('test/artifacts');
const PROMPT_TIMEOUT_MS = 120_000;
const OUTPUT_TIMEOUT_MS = 30_000;

/** Visible lines of an element's text, with non-breaking spaces made plain and trailing blanks cut. */
async function lines(page: Page, selector: string): Promise<string[]> {
  const text = await page.locator(selector).first().innerText();
  return text.replace(/\u00a0/g, ' ').split('\n').map((l) => l.trimEnd());
}

/** The lines the learner's commands printed (not the command lines that typed them). */
const printed = (all: string[]): string[] => all.filter((l) => /^(rec-\w+|done-42|next-42)$/.test(l.trim())).map((l) => l.trim());

async function waitForLines(page: Page, selector: string, want: string[]): Promise<void> {
  const deadline = Date.now() + OUTPUT_TIMEOUT_MS;
  for (;;) {
    const got = printed(await lines(page, selector).catch(() => []));
    if (want.every((w) => got.includes(w))) return;
    if (Date.now() > deadline) throw new Error(`${selector} never showed ${want.join(', ')}; it shows ${JSON.stringify(await lines(page, selector).catch(() => []))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a recorded terminal plays back on the board as it was, and downloads as valid asciicast v2', async (t) => {
  if (!requireChromium(t) || !requireDocker(t) || !requireAsciinema(t)) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const fx = makeFixture(t);
  const server = await startServer(t, fx, { reapSandboxes: true });
  const browser = await launchBrowser(t);
  const errors: string[] = [];
  const teacher = await (await browser.newContext({ viewport: { width: 1400, height: 1100 } })).newPage();
  const learner = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true })).newPage();
  collectErrors(teacher, errors);
  collectErrors(learner, errors);

  await teacher.goto(`${server.url}/instructor?token=${TOKEN}`);
  await teacher.locator('select[name="lab"]').selectOption(fx.labId);
  await teacher.locator('button[data-action="create-class"]').click();
  await teacher.waitForURL('**/instructor/classes/*');
  const joinUrl = await teacher.locator('.join-link').inputValue();
  const recordBtn = teacher.locator('button[data-action="toggle-recording"]');
  assert.equal(await recordBtn.innerText(), 'Record terminals');
  await recordBtn.click();
  await teacher.locator('button[data-action="toggle-recording"].is-recording').waitFor();

  await learner.goto(joinUrl);
  await learner.locator('input[name="name"]').waitFor({ timeout: 10_000 }).catch(async (err: unknown) => {
    throw new Error(`no join form at ${joinUrl}: ${(await learner.locator('body').innerText()).slice(0, 500)} ${errors.join('; ')}`, { cause: err });
  });
  await learner.locator('input[name="name"]').fill('Grace');
  await learner.locator('button[type="submit"]').click();
  await learner.waitForURL(`**/labs/${fx.labId}`);
  await learner.locator('.rec-box:not(.is-hidden-panel) .rec-badge').waitFor({ timeout: OUTPUT_TIMEOUT_MS });
  await learner.waitForFunction(() => /webfix[^\n]*[#$]/.test((document.querySelector('.term-host .xterm-rows')?.textContent ?? '').replace(/\u00a0/g, ' ')), undefined, { timeout: PROMPT_TIMEOUT_MS });

  const type = async (line: string): Promise<void> => {
    await learner.locator('.term-host .xterm').click();
    await learner.keyboard.type(line);
    await learner.keyboard.press('Enter');
  };
  await type("printf 'rec-%s\\n' alpha beta gamma; echo done-$((6*7))");
  await waitForLines(learner, '.term-host .xterm-rows', ['rec-alpha', 'rec-beta', 'rec-gamma', 'done-42']);
  // The next step: a marker in the recording.
  await learner.locator('.step-list button[data-step="where"]').click();
  await learner.locator('.step > h1').filter({ hasNotText: 'Say hello' }).waitFor();
  await type('echo next-$((6*7))');
  await waitForLines(learner, '.term-host .xterm-rows', ['next-42']);
  const live = printed(await lines(learner, '.term-host .xterm-rows'));
  assert.deepEqual(live, ['rec-alpha', 'rec-beta', 'rec-gamma', 'done-42', 'next-42']);
  await learner.screenshot({ path: path.join(ARTIFACTS, 'recording-learner-badge.png') });

  await t.test('the board plays it back with the same lines as the live terminal', async () => {
    await teacher.locator('tr[data-learner] .learner-name', { hasText: 'Grace' }).click();
    await teacher.locator('.watch-panel .pane-tab[data-view="recordings"]').click();
    await teacher.locator('.watch-panel li[data-recording] button[data-action="play"]').first().click();
    await waitForLines(teacher, '.rec-player .ap-term-text', live);
    assert.deepEqual(printed(await lines(teacher, '.rec-player .ap-term-text')), live);
    await teacher.screenshot({ path: path.join(ARTIFACTS, 'recording-board-player.png') });
  });

  await t.test('the board\'s Network tab shows the learner\'s own engine, read-only', async () => {
    await teacher.locator('.watch-panel .pane-tab[data-view="topology"]').click();
    // The fixture lab's stack is not up: the learner's engine has no containers, and the panel says so.
    await teacher.locator('.watch-panel .topo-status', { hasText: 'No containers yet' }).waitFor({ timeout: OUTPUT_TIMEOUT_MS });
  });

  await t.test('the learner downloads their own: valid asciicast v2 with step markers, and asciinema cat plays it', async () => {
    await learner.locator('.rec-badge').click();
    const link = learner.locator('.rec-mine a').first();
    await link.waitFor();
    const [download] = await Promise.all([learner.waitForEvent('download'), link.click()]);
    assert.match(download.suggestedFilename(), /\.cast$/);
    const file = path.join(ARTIFACTS, 'recording-download.cast');
    await download.saveAs(file);
    const cast = parseAsciicast(readFileSync(file, 'utf8'));
    assert.ok(cast.ok, cast.ok ? '' : `line ${cast.line}: ${cast.error}`);
    assert.equal(cast.header.version, 2);
    assert.deepEqual(cast.events.filter((e) => e[1] === 'm').map((e) => e[2]), ['hello', 'where']);
    const text = outputText(cast.events);
    for (const l of live) assert.ok(text.includes(`${l}\r\n`), `the file has ${l}`);
    const cat = await asciinemaCat(file);
    assert.equal(cat.code, 0, cat.output);
    for (const l of live) assert.ok(cat.output.includes(l), `asciinema cat printed ${l}`);
  });

  assert.deepEqual(errors, []);
});
