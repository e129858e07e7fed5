import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputBatcher, STREAM_DELAY_MS, STREAM_MIN_BYTES } from '../../server/terminal/output-batcher.ts';

const b = (s: string): Buffer => Buffer.from(s);

function setup(t: import('node:test').TestContext, opts: { maxBatchBytes?: number } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 1_000;
  const sent: string[] = [];
  const batcher = new OutputBatcher({
    flush: (chunk) => sent.push(chunk.toString()),
    delayMs: 5,
    echoWindowMs: 30,
    now: () => clock,
    ...opts,
  });
  const advance = (ms: number) => {
    clock += ms;
    t.mock.timers.tick(ms);
  };
  return { batcher, sent, advance };
}

test('OutputBatcher coalesces output for the batch delay', (t) => {
  const { batcher, sent, advance } = setup(t);
  batcher.push(b('a'));
  batcher.push(b('b'));
  advance(4);
  batcher.push(b('c'));
  assert.deepEqual(sent, []);
  advance(1);
  assert.deepEqual(sent, ['abc']);
  batcher.push(b('d'));
  advance(5);
  assert.deepEqual(sent, ['abc', 'd']);
});

test('OutputBatcher sends output at once right after a keystroke, then batches again', (t) => {
  const { batcher, sent, advance } = setup(t);
  batcher.noteInput();
  advance(2);
  batcher.push(b('l'));
  assert.deepEqual(sent, ['l']);
  advance(28);
  batcher.push(b('s'));
  assert.deepEqual(sent, ['l', 's']);
  advance(1); // 31 ms after the keystroke: outside the echo window
  batcher.push(b('x'));
  assert.deepEqual(sent, ['l', 's']);
  advance(5);
  assert.deepEqual(sent, ['l', 's', 'x']);
});

test('OutputBatcher holds output longer while a command streams, and only then', (t) => {
  const { batcher, sent, advance } = setup(t);
  const big = 'x'.repeat(STREAM_MIN_BYTES);
  batcher.push(b(big));
  advance(5); // the ordinary delay: nothing streamed before
  assert.deepEqual(sent, [big]);
  batcher.push(b('y'));
  advance(5);
  assert.deepEqual(sent, [big], 'right after a big frame the stream delay applies');
  advance(STREAM_DELAY_MS - 5);
  assert.deepEqual(sent, [big, 'y']);
  advance(STREAM_DELAY_MS + 1); // a quiet moment: the stream is over
  batcher.push(b('z'));
  advance(5);
  assert.deepEqual(sent, [big, 'y', 'z']);
});

test('OutputBatcher flushes early once a batch is big enough', (t) => {
  const { batcher, sent } = setup(t, { maxBatchBytes: 4 });
  batcher.push(b('ab'));
  assert.deepEqual(sent, []);
  batcher.push(b('cd'));
  assert.deepEqual(sent, ['abcd']);
});

test('OutputBatcher.flush drains pending output immediately and cancels the timer', (t) => {
  const { batcher, sent, advance } = setup(t);
  batcher.push(b('tail'));
  batcher.flush();
  assert.deepEqual(sent, ['tail']);
  advance(10);
  assert.deepEqual(sent, ['tail']);
  batcher.flush();
  assert.deepEqual(sent, ['tail']);
});

test('OutputBatcher.dispose drops pending output and ignores later pushes', (t) => {
  const { batcher, sent, advance } = setup(t);
  batcher.push(b('lost'));
  batcher.dispose();
  batcher.dispose();
  batcher.push(b('later'));
  advance(10);
  batcher.flush();
  assert.deepEqual(sent, []);
});

test('OutputBatcher drops stale pending output on a tty flush, keeping the newer tail', (t) => {
  const { batcher, sent, advance } = setup(t);
  batcher.push(b('yyyy'));
  batcher.push(b('y^C'));
  assert.equal(batcher.discardStale(2), 0, 'the kept bytes were all still pending');
  advance(5);
  assert.deepEqual(sent, ['^C']);
});

test('OutputBatcher reports kept bytes that already went out, so the page keeps them', (t) => {
  const { batcher, sent, advance } = setup(t);
  batcher.push(b('yy^'));
  batcher.flush();
  batcher.push(b('C'));
  assert.equal(batcher.discardStale(2), 1, 'one of the two newer bytes was sent already');
  advance(5);
  assert.deepEqual(sent, ['yy^', 'C']);
  batcher.push(b('zz'));
  assert.equal(batcher.discardStale(0), 0);
  advance(5);
  assert.deepEqual(sent, ['yy^', 'C'], 'a flush that keeps nothing leaves nothing pending');
});
