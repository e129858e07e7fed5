// mountTerminal in real Chromium against a real TerminalManager and bash pty on loopback: typing,
// sendInput, automatic reconnect with scrollback and shell state kept, no retry after 4404, exit and
// restart, and Ctrl-C stopping `yes` with flow control in the loop.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { TerminalManager } from '../../server/terminal/terminal-manager.ts';
import { spawnBash } from '../support/bash-pty.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, requireChromium } from '../support/require.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const WAIT_MS = 15_000;
const home = mkdtempSync(join(tmpdir(), 'labrun-term-e2e-'));

// The page: mounts the terminal with a key and mode from the query string and records every status.
const ENTRY = `
import { mountTerminal } from './client/terminal/mount-terminal.ts';
const q = new URLSearchParams(location.search);
window.__statuses = [];
window.__handle = mountTerminal(document.getElementById('t'), {
  url: 'ws://' + location.host + '/ws?' + q.toString(),
  onStatus: (s) => window.__statuses.push(s),
});
`;
const HTML = `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/page.css">
<style>html,body{margin:0;height:100%}#t{height:100%}</style></head>
<body><div id="t"></div><script type="module" src="/page.js"></script></body></html>`;

let server: Server | undefined;
let wss: WebSocketServer | undefined;
let manager: TerminalManager | undefined;
let browser: Browser | undefined;
let base = '';

before(async () => {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'page.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outdir: '/virtual',
    entryNames: 'page',
    write: false,
    logLevel: 'warning',
  });
  const files = new Map<string, { type: string; body: Uint8Array | string }>([['/', { type: 'text/html', body: HTML }]]);
  for (const out of bundle.outputFiles) {
    const name = `/${out.path.split('/').pop() ?? ''}`;
    files.set(name, { type: name.endsWith('.css') ? 'text/css' : 'text/javascript', body: out.contents });
  }
  const m = new TerminalManager({ graceMs: 60_000 });
  manager = m;
  server = createServer((req, res) => {
    const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws, req) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    m.attach(
      ws,
      q.get('key') ?? 'default',
      (cols, rows) => spawnBash(home, cols, rows),
      { readOnly: q.get('ro') === '1' },
    );
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await browser?.close();
  await manager?.dispose();
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rmSync(home, { recursive: true, force: true });
});

async function openPage(query: string): Promise<Page> {
  browser ??= await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
  await page.goto(`${base}/?${query}`);
  await page.waitForSelector('.xterm-rows');
  return page;
}

/** Waits until the rendered screen (xterm's DOM rows) matches. */
async function screenShows(page: Page, pattern: RegExp): Promise<void> {
  try {
    await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('.xterm-rows')?.textContent ?? ''), pattern.source, {
      timeout: WAIT_MS,
    });
  } catch {
    const screen = await page.evaluate(() => document.querySelector('.xterm-rows')?.textContent ?? '');
    assert.fail(`screen never showed ${pattern}; it shows ${JSON.stringify(screen.slice(-300))}`);
  }
}

type Status = { state: string; [k: string]: unknown };
const statuses = (page: Page): Promise<Status[]> => page.evaluate('window.__statuses') as Promise<Status[]>;

async function waitForStatus(page: Page, pred: (s: Status) => boolean, what: string): Promise<Status> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = (await statuses(page)).find(pred);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no ${what} status; got ${JSON.stringify(await statuses(page))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('keystrokes reach the shell and the output is rendered', async (t) => {
  if (!requireChromium(t)) return;
  const page = await openPage('key=typing');
  await waitForStatus(page, (s) => s.state === 'open', 'open');
  await page.click('.xterm-screen');
  await page.keyboard.type('echo "typed $((6*7))"');
  await page.keyboard.press('Enter');
  await screenShows(page, /typed 42/);
  await page.evaluate('window.__handle.sendInput(\'echo "run-$((2+3))"\\r\')');
  await screenShows(page, /run-5/);
  await page.close();
});

test('after the connection drops the client reconnects, replays the screen and keeps the shell', async (t) => {
  if (!requireChromium(t)) return;
  const page = await openPage('key=reconnect');
  await waitForStatus(page, (s) => s.state === 'open', 'open');
  await page.evaluate('window.__handle.sendInput(\'export Y=kept; echo "before-$((1+1))"\\r\')');
  await screenShows(page, /before-2/);
  for (const c of wss?.clients ?? []) c.terminate();
  await waitForStatus(page, (s) => s.state === 'reconnecting', 'reconnecting');
  await waitForStatus(page, (s) => s.state === 'open' && s.resumed === true, 'resumed open');
  await screenShows(page, /before-2/);
  await page.evaluate('window.__handle.sendInput(\'echo "y=$Y"\\r\')');
  await screenShows(page, /y=kept/);
  await page.close();
});

test('a 4404 close is final: the client reports closed and does not retry', async (t) => {
  if (!requireChromium(t)) return;
  const page = await openPage('key=nobody&ro=1');
  const closed = await waitForStatus(page, (s) => s.state === 'closed', 'closed');
  assert.equal(closed.code, 4404);
  await new Promise((r) => setTimeout(r, 1_500));
  const all = await statuses(page);
  assert.equal(all.filter((s) => s.state === 'connecting').length, 1, JSON.stringify(all));
  assert.equal(all.some((s) => s.state === 'reconnecting'), false);
  await page.close();
});

test('when the shell exits the client says so, and Enter starts a new shell', async (t) => {
  if (!requireChromium(t)) return;
  const page = await openPage('key=exiting');
  await waitForStatus(page, (s) => s.state === 'open', 'open');
  await page.evaluate("window.__handle.sendInput('exit 4\\r')");
  const exited = await waitForStatus(page, (s) => s.state === 'exited', 'exited');
  assert.equal(exited.code, 4);
  await screenShows(page, /shell exited with code 4/);
  await page.click('.xterm-screen');
  await page.keyboard.press('Enter');
  const deadline = Date.now() + WAIT_MS;
  while ((await statuses(page)).filter((s) => s.state === 'open').length < 2) {
    if (Date.now() > deadline) assert.fail(`no second open status; got ${JSON.stringify(await statuses(page))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await statuses(page)).at(-1)?.resumed, false, 'Enter after exit should start a new shell');
  await page.evaluate('window.__handle.sendInput(\'echo "new-$((3+4))"\\r\')');
  await screenShows(page, /new-7/);
  await page.close();
});

test('yes floods the terminal, Ctrl-C stops it and the prompt comes back', async (t) => {
  if (!requireChromium(t)) return;
  const page = await openPage('key=flood');
  await waitForStatus(page, (s) => s.state === 'open', 'open');
  await page.click('.xterm-screen');
  await page.keyboard.type('yes flood');
  await page.keyboard.press('Enter');
  await screenShows(page, /flood(flood){5}/);
  await new Promise((r) => setTimeout(r, 2_000));
  await page.keyboard.press('Control+C');
  await page.keyboard.type('clear; echo "stopped-$((5+5))"');
  await page.keyboard.press('Enter');
  await screenShows(page, /^stopped-10/);
  await page.close();
});
