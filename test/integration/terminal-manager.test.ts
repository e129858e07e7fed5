// TerminalManager end to end on loopback: a real bash in a real pty, a real WebSocket server, and a
// `ws` client speaking shared/protocol.ts. No Docker needed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode, FlowControl, encodeClientFrame, parseServerControlFrame, type ServerControlFrame } from '../../shared/protocol.ts';
import { TerminalManager } from '../../server/terminal/terminal-manager.ts';
import { processAlive, sessionAlive } from '../../server/terminal/process-group.ts';
import { MAX_BATCH_BYTES } from '../../server/terminal/output-batcher.ts';
import { spawnBash } from '../support/bash-pty.ts';

const WAIT_MS = 10_000;
const home = mkdtempSync(join(tmpdir(), 'labrun-terminal-'));

interface Harness {
  manager: TerminalManager;
  url: string;
  close(): Promise<void>;
}

async function startHarness(opts: { graceMs?: number } = {}): Promise<Harness> {
  const manager = new TerminalManager({ graceMs: opts.graceMs ?? 60_000 });
  const server: Server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    const params = new URL(req.url ?? '/', 'http://x').searchParams;
    manager.attach(ws, params.get('key') ?? 'default', (cols, rows) => spawnBash(home, cols, rows), { readOnly: params.get('ro') === '1' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    manager,
    url: `ws://127.0.0.1:${port}/`,
    async close() {
      await manager.dispose();
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A protocol client that records everything and can withhold acks. */
class Client {
  readonly ws: WebSocket;
  output = Buffer.alloc(0);
  received = 0;
  controls: ServerControlFrame[] = [];
  autoAck: boolean;
  #unacked = 0;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, key: string, opts: { autoAck?: boolean; readOnly?: boolean } = {}) {
    this.autoAck = opts.autoAck ?? true;
    this.ws = new WebSocket(`${url}?key=${encodeURIComponent(key)}${opts.readOnly ? '&ro=1' : ''}`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (!isBinary) {
        const parsed = parseServerControlFrame(buf.toString());
        assert.ok(parsed.ok, `server sent a bad control frame: ${buf.toString()}`);
        this.controls.push(parsed.frame);
        return;
      }
      this.received += buf.length;
      // Keep the tail only: `yes` would otherwise fill memory in the flow-control test.
      this.output = Buffer.concat([this.output, buf]).subarray(-64 * 1024);
      this.#unacked += buf.length;
      if (this.autoAck) this.ackAll();
    });
  }

  ackAll(): void {
    if (this.#unacked > 0 && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(encodeClientFrame({ type: 'ack', bytes: this.#unacked }));
      this.#unacked = 0;
    }
  }

  send(data: string): void {
    this.ws.send(encodeClientFrame({ type: 'input', data }));
  }

  text(): string {
    return this.output.toString('utf8');
  }

  async waitFor(pattern: RegExp, what = String(pattern)): Promise<RegExpMatchArray> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const m = this.text().match(pattern);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output tail: ${JSON.stringify(this.text().slice(-300))}`);
      await sleep(20);
    }
  }

  async waitForControl(type: ServerControlFrame['type']): Promise<ServerControlFrame> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const frame = this.controls.find((f) => f.type === type);
      if (frame) return frame;
      if (Date.now() > deadline) throw new Error(`timed out waiting for a ${type} frame`);
      await sleep(20);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const harness = await startHarness();
after(async () => {
  await harness.close();
  rmSync(home, { recursive: true, force: true });
});

async function connect(key: string, opts: { autoAck?: boolean; readOnly?: boolean } = {}): Promise<Client> {
  const client = new Client(harness.url, key, opts);
  await client.opened;
  return client;
}

test('input is echoed and commands run', async () => {
  const c = await connect('echo');
  const hello = await c.waitForControl('hello');
  assert.deepEqual(hello, { type: 'hello', replayBytes: 0, readOnly: false, resumed: false });
  c.send('echo "answer=$((6*7))"\r');
  await c.waitFor(/answer=42/);
  c.ws.close();
});

test('without acks the server stops reading near the high watermark; acks resume; Ctrl-C stops yes', async () => {
  const c = await connect('flow', { autoAck: false });
  c.send('yes\r');
  // One pty read and one batch may land on top of the watermark before the pause takes effect.
  const bound = FlowControl.HIGH_WATERMARK_BYTES + 2 * MAX_BATCH_BYTES;
  const deadline = Date.now() + WAIT_MS;
  while (c.received <= FlowControl.HIGH_WATERMARK_BYTES && Date.now() < deadline) await sleep(20);
  assert.ok(c.received > FlowControl.HIGH_WATERMARK_BYTES, `yes produced only ${c.received} bytes`);
  await sleep(500);
  const stalled = c.received;
  assert.ok(stalled <= bound, `received ${stalled} bytes without acking; expected at most ${bound}`);
  await sleep(500);
  assert.equal(c.received, stalled, 'output kept flowing although nothing was acked');

  c.autoAck = true;
  c.ackAll();
  const resumeDeadline = Date.now() + WAIT_MS;
  while (c.received < stalled + 10 * FlowControl.HIGH_WATERMARK_BYTES && Date.now() < resumeDeadline) await sleep(20);
  assert.ok(c.received >= stalled + 10 * FlowControl.HIGH_WATERMARK_BYTES, 'acking did not resume the output');

  c.send('\x03');
  c.send('echo "after=$((40+2))"\r');
  await c.waitFor(/after=42\r?\n/);
  c.ws.close();
});

test('reconnecting with the same key replays scrollback and keeps shell state', async () => {
  const first = await connect('reconnect');
  first.send('export X=kept-$((1+1))\r');
  first.send('echo "set $X"\r');
  await first.waitFor(/set kept-2/);
  first.ws.close();
  await first.closed;
  assert.ok(harness.manager.has('reconnect'), 'the terminal should outlive its socket during the grace period');

  const second = await connect('reconnect');
  const hello = await second.waitForControl('hello');
  assert.equal(hello.type === 'hello' && hello.resumed, true);
  assert.ok(hello.type === 'hello' && hello.replayBytes > 0);
  await second.waitFor(/set kept-2/, 'the replayed scrollback');
  second.send('echo "X is $X"\r');
  await second.waitFor(/X is kept-2/);
  second.ws.close();
});

test('a second writer replaces the first, which is closed with 4409', async () => {
  const first = await connect('replace');
  await first.waitForControl('hello');
  const second = await connect('replace');
  assert.equal((await first.closed).code, CloseCode.Replaced);
  second.send('echo "still $((2+3))"\r');
  await second.waitFor(/still 5/);
  second.ws.close();
});

test('a read-only watcher sees output but its input and resizes are ignored', async () => {
  const writer = await connect('watch');
  await writer.waitForControl('hello');
  const watcher = await connect('watch', { readOnly: true });
  const hello = await watcher.waitForControl('hello');
  assert.equal(hello.type === 'hello' && hello.readOnly, true);
  watcher.send('echo "from-watcher-$((1+1))"\r');
  watcher.ws.send(encodeClientFrame({ type: 'resize', cols: 33, rows: 11 }));
  // The server answers a ping after it has handled the frames before it: the watcher's input is now
  // in the pty or dropped. Then the pty's own order puts any echo of it before the writer's output.
  await new Promise<void>((resolve) => {
    watcher.ws.once('pong', () => resolve());
    watcher.ws.ping();
  });
  writer.send('stty size; echo "from-writer-$((2+2))"\r');
  await writer.waitFor(/from-writer-4/);
  await watcher.waitFor(/from-writer-4/);
  assert.doesNotMatch(writer.text() + watcher.text(), /from-watcher-2/);
  assert.doesNotMatch(writer.text(), /11 33/);
  watcher.ws.close();
  writer.ws.close();
});

test('a read-only attach to a key with no terminal is refused with 4404', async () => {
  const c = new Client(harness.url, 'nobody-here', { readOnly: true });
  assert.equal((await c.closed).code, CloseCode.UnknownSession);
  assert.equal(harness.manager.has('nobody-here'), false);
});

test('resize reaches the pty: stty and tput report the new size', async () => {
  const c = await connect('resize');
  c.ws.send(encodeClientFrame({ type: 'resize', cols: 123, rows: 45 }));
  c.send('echo "size=$(stty size) cols=$(tput cols)"\r');
  await c.waitFor(/size=45 123 cols=123/);
  c.ws.close();
});

test('after the shell exits: an exit frame, a normal close, resizes ignored, and a fresh shell next time', async () => {
  const c = await connect('exit');
  c.send('exit 3\r');
  // Resizes racing with the exit must not crash the server.
  for (let i = 0; i < 50; i++) {
    if (c.ws.readyState !== WebSocket.OPEN) break;
    c.ws.send(encodeClientFrame({ type: 'resize', cols: 10 + i, rows: 10 }));
    await sleep(2);
  }
  const closed = await c.closed;
  assert.equal(closed.code, CloseCode.Normal);
  assert.deepEqual(
    c.controls.find((f) => f.type === 'exit'),
    { type: 'exit', code: 3, signal: null },
  );
  assert.equal(harness.manager.has('exit'), false);

  const again = await connect('exit');
  const hello = await again.waitForControl('hello');
  assert.equal(hello.type === 'hello' && hello.resumed, false);
  again.send('echo "fresh $((9-8))"\r');
  await again.waitFor(/fresh 1/);
  again.ws.close();
});

test('malformed frames close that socket with 4400 while other clients keep working', async () => {
  const healthy = await connect('healthy');
  const cases: Array<[string, (ws: WebSocket) => void, RegExp]> = [
    ['not JSON', (ws) => ws.send('rm -rf /'), /not JSON/],
    ['unknown type', (ws) => ws.send(JSON.stringify({ type: 'exec', argv: ['id'] })), /bad frame/],
    ['negative ack', (ws) => ws.send(JSON.stringify({ type: 'ack', bytes: -1 })), /bytes/],
    ['extra field', (ws) => ws.send(JSON.stringify({ type: 'input', data: 'x', sudo: true })), /bad frame/],
    ['binary frame', (ws) => ws.send(Buffer.from('ls\r'), { binary: true }), /binary/],
  ];
  for (const [name, sendBad, reason] of cases) {
    const bad = await connect(`bad-${name}`);
    sendBad(bad.ws);
    const closed = await bad.closed;
    assert.equal(closed.code, CloseCode.BadFrame, name);
    assert.match(closed.reason, reason, name);
  }
  healthy.send('echo "alive $((3*3))"\r');
  await healthy.waitFor(/alive 9/);
  healthy.ws.close();
});

test('dispose kills the whole process session, including background jobs, and closes sockets', async () => {
  const local = await startHarness();
  const c = new Client(local.url, 'doomed');
  await c.opened;
  c.send('sleep 1000 & echo "bg=$!"\r');
  const [, bgPid] = await c.waitFor(/bg=(\d+)/);
  const pid = local.manager.pidOf('doomed');
  assert.ok(pid !== undefined && bgPid !== undefined);
  assert.ok(sessionAlive(pid));
  await local.close();
  await local.close(); // idempotent
  assert.equal(sessionAlive(pid), false, 'the shell session survived dispose');
  // Not `kill -0`: PID 1 on this VM does not reap orphans, so the killed job lingers as a zombie.
  assert.equal(processAlive(Number(bgPid)), false, 'the background job survived dispose');
  assert.equal((await c.closed).code, CloseCode.GoingAway);
});

test('the grace timer kills a terminal nobody reattached to', async () => {
  const local = await startHarness({ graceMs: 200 });
  const c = new Client(local.url, 'brief');
  await c.opened;
  c.send('echo "up $((1+1))"\r');
  await c.waitFor(/up 2/);
  const pid = local.manager.pidOf('brief');
  assert.ok(pid !== undefined);
  c.ws.close();
  const deadline = Date.now() + WAIT_MS;
  while (local.manager.has('brief') && Date.now() < deadline) await sleep(20);
  assert.equal(local.manager.has('brief'), false);
  assert.equal(sessionAlive(pid), false);
  await local.close();
});
