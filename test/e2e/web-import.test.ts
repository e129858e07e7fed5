// An imported Killercoda scenario in real headless Chromium, read by `labrun serve --labs` as it is:
// the intro's foreground is typed into the terminal, the assets its setup installed are there, an
// inline {{exec}} and a fenced {{exec}} block run from their buttons, {{exec interrupt}} presses Ctrl-C
// first, the scenario's image is shown, and the verify script fails, then passes once the learner ran
// the command (it also needs the step's background to have run).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { collectErrors, launchBrowser, textWaits } from '../support/browser.ts';
import { requireChromium, requireDocker } from '../support/require.ts';
import { TOKEN, copyLab, startServer } from '../integration/http-fixture.ts';

const PROMPT_TIMEOUT_MS = 120_000;
const OUTPUT_TIMEOUT_MS = 20_000;

const { waitForScreen } = textWaits({ timeout: OUTPUT_TIMEOUT_MS });

test('an imported Killercoda scenario in Chromium: foreground, Run buttons, interrupt, image, verify', async (t) => {
  if (!requireChromium(t) || !requireDocker(t)) return;
  const fx = copyLab(t, path.resolve('test/fixtures/killercoda/file-basics'));
  const server = await startServer(t, fx, { reapSandboxes: true });
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors: string[] = [];
  collectErrors(page, pageErrors, { console: false, responses: true });

  await page.goto(`${server.url}/?token=${TOKEN}`);
  await page.locator(`a.lab-card[data-lab="${fx.labId}"]`).click();
  await page.waitForURL(`**/labs/${fx.labId}`);
  assert.equal(await page.locator('.step > h1').innerText(), 'Welcome');

  await t.test("the intro's foreground is typed into the terminal when the step opens", async () => {
    // Typed, so the shell echoes the command line and then prints its result.
    await waitForScreen(page, /echo "foreground-typed-\$\(\(6 \* 7\)\)"[\s\S]*foreground-typed-42/, PROMPT_TIMEOUT_MS);
  });

  await t.test("the scenario's image is served from the lab", async () => {
    const img = page.locator('.markdown img[alt="A box and an arrow"]');
    await img.waitFor();
    assert.match((await img.getAttribute('src')) ?? '', new RegExp(`/api/labs/${fx.labId}/assets/images/diagram\\.png$`));
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('.markdown img')?.naturalWidth ?? 0) > 0);
  });

  await t.test('an inline {{exec}} runs from its button; the assets were installed by the setup', async () => {
    await page.locator('.markdown code[data-run] + button.inline-run').first().click();
    await waitForScreen(page, /first\.txt/);
  });

  await t.test('step 2: verify fails, a fenced {{exec}} Run block does the step, verify passes', async () => {
    await page.locator('button[data-action="next"]').click();
    assert.equal(await page.locator('.step > h1').innerText(), 'Write a greeting');
    await page.locator('button[data-action="check"]').click();
    const failed = page.locator('.results.failed');
    await failed.waitFor({ timeout: OUTPUT_TIMEOUT_MS * 2 });
    assert.match(await failed.innerText(), /step1\/verify\.sh exits 0/);
    await page.locator('.code-block:has(pre[data-run]:not([data-interrupt])) button.run').first().click();
    await waitForScreen(page, /echo hello > ~\/greeting\.txt/);
    await page.locator('button[data-action="check"]').click();
    await page.locator('.results.passed').waitFor({ timeout: OUTPUT_TIMEOUT_MS * 2 });
  });

  await t.test('{{exec interrupt}} presses Ctrl-C before typing: a running sleep ends and the command runs', async () => {
    await page.locator('.markdown code[data-run]:text("sleep 600") + button.inline-run').click();
    await waitForScreen(page, /sleep 600/);
    await page.locator('.code-block:has(pre[data-interrupt]) button.run').click();
    // ^C ends the sleep; without it the shell would still be sleeping and never print the file.
    await waitForScreen(page, /\^C[\s\S]*cat ~\/greeting\.txt\s*hello/);
  });

  await t.test("step 3's foreground is typed when it opens", async () => {
    await page.locator('button[data-action="next"]').click();
    await waitForScreen(page, /step two: run the helper[\s\S]*step two: run the helper/);
  });

  assert.deepEqual(pageErrors, []);
});
