import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_INPUT_CHARS,
  closeReason,
  encodeClientFrame,
  encodeServerControlFrame,
  parseClientFrame,
  parseServerControlFrame,
  type ClientFrame,
  type ServerControlFrame,
} from '../../shared/protocol.ts';

const good: Array<[string, string, ClientFrame]> = [
  ['input', '{"type":"input","data":"ls\\r"}', { type: 'input', data: 'ls\r' }],
  ['empty input', '{"type":"input","data":""}', { type: 'input', data: '' }],
  ['input at the limit', JSON.stringify({ type: 'input', data: 'x'.repeat(MAX_INPUT_CHARS) }), { type: 'input', data: 'x'.repeat(MAX_INPUT_CHARS) }],
  ['resize', '{"type":"resize","cols":120,"rows":40}', { type: 'resize', cols: 120, rows: 40 }],
  ['resize negative clamps to 1', '{"type":"resize","cols":-5,"rows":0}', { type: 'resize', cols: 1, rows: 1 }],
  ['resize huge clamps to 1000', '{"type":"resize","cols":99999,"rows":1001}', { type: 'resize', cols: 1000, rows: 1000 }],
  ['ack', '{"type":"ack","bytes":5000}', { type: 'ack', bytes: 5000 }],
  ['features', '{"type":"features","flush":true}', { type: 'features', flush: true }],
];

for (const [name, text, frame] of good) {
  test(`parseClientFrame accepts ${name}`, () => {
    assert.deepEqual(parseClientFrame(text), { ok: true, frame });
  });
}

const bad: Array<[string, string, RegExp]> = [
  ['not JSON', 'hello', /not JSON/],
  ['JSON but not an object', '42', /bad frame/],
  ['null', 'null', /bad frame/],
  ['array', '[1,2]', /bad frame/],
  ['unknown type', '{"type":"exec","cmd":"rm -rf /"}', /bad frame/],
  ['missing type', '{"data":"x"}', /bad frame/],
  ['input not a string', '{"type":"input","data":42}', /data/],
  ['oversized input', JSON.stringify({ type: 'input', data: 'x'.repeat(MAX_INPUT_CHARS + 1) }), /data/],
  ['extra field', '{"type":"input","data":"x","admin":true}', /bad frame/],
  ['fractional size', '{"type":"resize","cols":80.5,"rows":24}', /cols/],
  ['size as string', '{"type":"resize","cols":"80","rows":24}', /cols/],
  ['missing rows', '{"type":"resize","cols":80}', /rows/],
  ['size beyond safe integers', '{"type":"resize","cols":1e300,"rows":24}', /cols/],
  ['zero ack', '{"type":"ack","bytes":0}', /bytes/],
  ['negative ack', '{"type":"ack","bytes":-100}', /bytes/],
  ['huge ack', '{"type":"ack","bytes":1e12}', /bytes/],
  ['features without a flag', '{"type":"features"}', /flush/],
  ['server frame sent by client', '{"type":"hello","replayBytes":0,"readOnly":false,"resumed":false}', /bad frame/],
  ['frame far too large', 'x'.repeat(2_000_000), /exceeds/],
];

for (const [name, text, error] of bad) {
  test(`parseClientFrame rejects ${name}`, () => {
    const result = parseClientFrame(text);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error, error);
  });
}

test('client frames round-trip through encode and parse', () => {
  for (const [, , frame] of good) assert.deepEqual(parseClientFrame(encodeClientFrame(frame)), { ok: true, frame });
});

test('server control frames round-trip, and malformed ones are refused', () => {
  const frames: ServerControlFrame[] = [
    { type: 'hello', replayBytes: 1234, readOnly: false, resumed: true },
    { type: 'exit', code: 0, signal: null },
    { type: 'exit', code: null, signal: 9 },
    { type: 'error', message: 'could not start the terminal', code: 1011 },
    { type: 'flush', keep: 0 },
    { type: 'flush', keep: 12 },
  ];
  for (const frame of frames) assert.deepEqual(parseServerControlFrame(encodeServerControlFrame(frame)), { ok: true, frame });
  assert.equal(parseServerControlFrame('{"type":"hello"}').ok, false);
  assert.equal(parseServerControlFrame('{').ok, false);
  assert.equal(parseServerControlFrame('{"type":"flush","keep":-1}').ok, false);
});

test('closeReason keeps reasons within 123 UTF-8 bytes', () => {
  assert.equal(closeReason('short'), 'short');
  for (const long of ['a'.repeat(500), 'é'.repeat(100), '😀'.repeat(40)]) {
    const reason = closeReason(long);
    assert.ok(new TextEncoder().encode(reason).length <= 123, reason);
    assert.ok(reason.endsWith('…'));
    assert.ok(!reason.includes('\uFFFD'));
  }
});
