// WriteQueue (client/terminal/write-queue.ts) against a stand-in for xterm's write buffer that calls
// back when a test says it has parsed a chunk: one chunk is inside xterm at a time, the rest can be
// dropped after a tty flush (acked all the same), and the page's own notices are never dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteQueue } from '../../client/terminal/write-queue.ts';

class FakeXterm {
  readonly written: string[] = [];
  readonly #callbacks: Array<(() => void) | undefined> = [];
  write(data: string | Uint8Array, callback?: () => void): void {
    this.written.push(typeof data === 'string' ? data : Buffer.from(data).toString());
    this.#callbacks.push(callback);
  }
  /** xterm parsed the oldest chunk it holds. */
  parse(): void {
    this.#callbacks.shift()?.();
  }
  get holding(): number {
    return this.#callbacks.length;
  }
}

const u8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

function setup() {
  const xterm = new FakeXterm();
  const queue = new WriteQueue(xterm);
  let acked = 0;
  const out = (s: string) => queue.output(u8(s), (n) => (acked += n));
  return { xterm, queue, out, acked: () => acked };
}

test('xterm is handed one chunk at a time, the next from the previous one\'s callback', () => {
  const { xterm, out, acked } = setup();
  out('aa');
  out('bb');
  out('cc');
  assert.deepEqual(xterm.written, ['aa']);
  assert.equal(xterm.holding, 1);
  xterm.parse();
  assert.deepEqual(xterm.written, ['aa', 'bb'], 'handed over inside the callback, so xterm never waits');
  xterm.parse();
  xterm.parse();
  assert.deepEqual(xterm.written, ['aa', 'bb', 'cc']);
  assert.equal(acked(), 6);
});

test('a flush drops what waits except the newest `keep` bytes, acks the dropped ones, and cancels a cut-off sequence', () => {
  const { xterm, queue, out, acked } = setup();
  const fresh = '^C\r\n$ ';
  out('y\r\n'.repeat(3));
  out('y\r\n'.repeat(100));
  out(`yy${fresh}`);
  assert.equal(queue.dropStale(fresh.length), 300 + 2);
  assert.equal(acked(), 302, 'dropped bytes count as drawn for flow control');
  xterm.parse();
  xterm.parse();
  xterm.parse();
  assert.deepEqual(xterm.written, ['y\r\n'.repeat(3), '\x18', fresh]);
  assert.equal(acked(), 9 + 302 + fresh.length);
});

test('the page\'s notices stay through a flush, in order', () => {
  const { xterm, queue, out } = setup();
  out('first');
  out('stale');
  queue.message('[notice]');
  out('new');
  assert.equal(queue.dropStale(3), 5);
  for (let i = 0; i < 4; i++) xterm.parse();
  assert.deepEqual(xterm.written, ['first', '\x18', '[notice]', 'new']);
});

test('nothing waiting, nothing dropped: no cancel is written', () => {
  const { xterm, queue, out } = setup();
  out('only');
  assert.equal(queue.dropStale(0), 0, 'the chunk inside xterm is past reach');
  xterm.parse();
  assert.deepEqual(xterm.written, ['only']);
});

test('clear forgets what waits without acking it (the next connection replays afresh)', () => {
  const { xterm, queue, out, acked } = setup();
  out('old1');
  out('old2');
  queue.clear();
  xterm.parse();
  out('new');
  xterm.parse();
  assert.deepEqual(xterm.written, ['old1', 'new']);
  assert.equal(acked(), 4 + 3);
});
