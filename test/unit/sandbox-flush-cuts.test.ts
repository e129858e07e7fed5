// FlushCuts (server/sandbox/flush-cuts.ts): the relay's flush marks name an output offset and travel
// on stderr, which may overtake stdout or lag behind it; the cut must land at the offset either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLUSH_MARK, FlushCuts, type CutEvent } from '../../server/sandbox/flush-cuts.ts';

const b = (s: string): Buffer => Buffer.from(s);
const show = (events: CutEvent[]): string[] => events.map((e) => (e.type === 'data' ? e.data.toString() : `cut keep=${e.keep}`));

test('a mark that comes after its offset cuts at once, keeping the newer bytes already passed on', () => {
  const cuts = new FlushCuts();
  assert.deepEqual(show(cuts.output(b('yyyy'))), ['yyyy']);
  assert.deepEqual(show(cuts.output(b('^C'))), ['^C']);
  assert.deepEqual(show(cuts.mark(4)), ['cut keep=2']);
  assert.deepEqual(show(cuts.output(b('$ '))), ['$ ']);
});

test('a mark that overtakes the output drops the older bytes as they come, then cuts', () => {
  const cuts = new FlushCuts();
  assert.deepEqual(show(cuts.output(b('yy'))), ['yy']);
  assert.deepEqual(show(cuts.mark(7)), []);
  assert.deepEqual(show(cuts.output(b('yyy'))), [], 'older than the flush: dropped');
  assert.deepEqual(show(cuts.output(b('yy^C'))), ['cut keep=0', '^C'], 'the cut falls inside this chunk');
  assert.deepEqual(show(cuts.output(b('$ '))), ['$ ']);
});

test('a cut that falls on a chunk boundary passes nothing stale and nothing new is lost', () => {
  const cuts = new FlushCuts();
  assert.deepEqual(show(cuts.mark(3)), []);
  assert.deepEqual(show(cuts.output(b('yyy'))), ['cut keep=0']);
  assert.deepEqual(show(cuts.output(b('^C'))), ['^C']);
  assert.deepEqual(show(cuts.mark(5)), ['cut keep=0'], 'a second flush right at the end keeps nothing');
});

test('the mark line the relay writes is recognised, and ordinary stderr is not', () => {
  assert.equal(FLUSH_MARK.exec('\0flush 131072')?.[1], '131072');
  assert.equal(FLUSH_MARK.exec('flush 12'), null);
  assert.equal(FLUSH_MARK.exec('labrun: the terminal could not start: /dev/ptmx: No such file'), null);
});
