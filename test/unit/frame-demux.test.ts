import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { FrameDemux, demuxFrames, demuxStream } from '../../server/sandbox/frame-demux.ts';

function frame(stream: 0 | 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Feeds `bytes` to a demuxer in the given cut points and records each call, in order. */
function feed(bytes: Buffer, cuts: number[]): string[] {
  const calls: string[] = [];
  const demux = new FrameDemux(
    (c) => calls.push(`out:${c}`),
    (c) => calls.push(`err:${c}`),
  );
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    demux.push(bytes.subarray(from, at));
    from = at;
  }
  return calls;
}

test('a whole payload splits into stdout and stderr, a torn last frame kept as far as it goes', () => {
  const whole = Buffer.concat([frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, 'out2\n')]);
  assert.deepEqual(demuxFrames(whole), { stdout: 'out1\nout2\n', stderr: 'err1\n' });
  const torn = Buffer.concat([frame(1, 'a'), frame(2, 'bcdef').subarray(0, 10)]);
  assert.deepEqual(demuxFrames(torn), { stdout: 'a', stderr: 'bc' });
  assert.deepEqual(demuxFrames(Buffer.alloc(0)), { stdout: '', stderr: '' });
});

test("one read's stdout frames reach the sink as one chunk, in order around stderr", () => {
  const bytes = Buffer.concat([frame(1, 'a'), frame(1, 'b'), frame(0, 'c'), frame(2, 'E'), frame(1, 'd'), frame(1, ''), frame(1, 'e')]);
  assert.deepEqual(feed(bytes, []), ['out:abc', 'err:E', 'out:de']);
});

test('headers and payloads torn at every byte across reads come out whole and in order', () => {
  const bytes = Buffer.concat([frame(1, 'hello'), frame(2, 'oops'), frame(1, 'world')]);
  for (let cut = 1; cut < bytes.length; cut++) {
    const calls = feed(bytes, [cut]);
    const out = calls.filter((c) => c.startsWith('out:')).map((c) => c.slice(4)).join('');
    const err = calls.filter((c) => c.startsWith('err:')).map((c) => c.slice(4)).join('');
    assert.equal(out, 'helloworld', `cut at ${cut}`);
    assert.equal(err, 'oops', `cut at ${cut}`);
    assert.ok(calls.findIndex((c) => c.startsWith('err:')) < calls.findIndex((c) => c.includes('w')), `stderr before the later stdout, cut at ${cut}`);
  }
  // One byte per read: the slowest a socket can deliver.
  const byByte = feed(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)).join('|');
  assert.equal(byByte.replace(/(out|err):/g, '').replace(/\|/g, ''), 'hellooopsworld');
});

test('a stream that is not multiplexed after all passes through as stdout', () => {
  const text = Buffer.from('plain output, no frame headers\n');
  assert.deepEqual(feed(text, [3]), ['out:plain output, no frame headers\n']);
  assert.deepEqual(feed(Buffer.concat([frame(1, 'ok'), text]), []), ['out:okplain output, no frame headers\n']);
});

test('a live stream is split as it is read', async () => {
  const stream = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  demuxStream(
    stream,
    (c) => out.push(c.toString()),
    (c) => err.push(c.toString()),
  );
  const bytes = Buffer.concat([frame(1, 'one'), frame(2, 'two'), frame(1, 'three')]);
  stream.write(bytes.subarray(0, 5));
  stream.write(bytes.subarray(5));
  stream.end();
  await new Promise((r) => stream.once('end', r));
  assert.equal(out.join(''), 'onethree');
  assert.deepEqual(err, ['two']);
});
