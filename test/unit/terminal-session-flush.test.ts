// A tty flush through TerminalSession over a real WebSocket on loopback, with a fake pty: output still
// batched here is dropped, pages that said they understand `flush` frames are told (with how much of
// what they already have is newer), and a page that did not say so (one loaded before the frame
// existed, whose parser would refuse it) gets none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeClientFrame, parseServerControlFrame, type ServerControlFrame } from '../../shared/protocol.ts';
import { TerminalManager } from '../../server/terminal/terminal-manager.ts';
import { FakePty } from '../support/fake-driver.ts';

interface Page {
  ws: WebSocket;
  output: () => string;
  controls: ServerControlFrame[];
}

async function harness(t: import('node:test').TestContext): Promise<{ pty: () => FakePty; open: (opts: { features: boolean; readOnly?: boolean }) => Promise<Page> }> {
  const manager = new TerminalManager({ graceMs: 60_000 });
  let pty: FakePty | undefined;
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    const readOnly = new URL(req.url ?? '/', 'http://x').searchParams.get('ro') === '1';
    manager.attach(ws, 'k', (cols, rows) => (pty = new FakePty(cols, rows)), { readOnly });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  t.after(async () => {
    await manager.dispose();
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const open = async (opts: { features: boolean; readOnly?: boolean }): Promise<Page> => {
    const ws = new WebSocket(`${url}${opts.readOnly ? '?ro=1' : ''}`);
    let out = '';
    const controls: ServerControlFrame[] = [];
    ws.on('message', (data, isBinary) => {
      const text = Buffer.isBuffer(data) ? data.toString() : String(data);
      if (isBinary) out += text;
      else {
        const parsed = parseServerControlFrame(text);
        assert.ok(parsed.ok, text);
        controls.push(parsed.frame);
        if (parsed.frame.type === 'hello' && opts.features) ws.send(encodeClientFrame({ type: 'features', flush: true }));
      }
    });
    await new Promise((resolve) => ws.once('open', resolve));
    while (!controls.some((c) => c.type === 'hello')) await sleep(5);
    await sleep(20); // the features frame is in
    return { ws, output: () => out, controls };
  };
  return { pty: () => pty as FakePty, open };
}

const flushes = (p: Page): ServerControlFrame[] => p.controls.filter((c) => c.type === 'flush');

test('a flush drops batched stale output and tells the pages that understand it', async (t) => {
  const h = await harness(t);
  const learner = await h.open({ features: true });
  const watcher = await h.open({ features: false, readOnly: true });
  h.pty().emit('already-drawn;');
  await sleep(30);
  h.pty().emit('stale-y-y-y');
  h.pty().emit('^C');
  // Within the batch delay: the stale bytes are still here, and only the newest two are kept.
  h.pty().flushed(2);
  await sleep(30);
  h.pty().emit('$ ');
  await sleep(30);
  assert.equal(learner.output(), 'already-drawn;^C$ ');
  assert.equal(watcher.output(), 'already-drawn;^C$ ', 'the stale bytes never left the server for anyone');
  assert.deepEqual(flushes(learner), [{ type: 'flush', keep: 0 }], 'nothing the page has is newer than the flush');
  assert.deepEqual(flushes(watcher), [], 'a page that did not ask for flush frames gets none');
});

test('when the newer bytes already went out, the page is told to keep them', async (t) => {
  const h = await harness(t);
  const learner = await h.open({ features: true });
  h.pty().emit('y-y-^');
  await sleep(30);
  h.pty().emit('C');
  h.pty().flushed(3);
  await sleep(30);
  assert.deepEqual(flushes(learner), [{ type: 'flush', keep: 2 }], 'of the 3 newer bytes, 2 were sent before the flush');
  assert.equal(learner.output(), 'y-y-^C');
});
