import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScrollbackRing } from '../../server/terminal/scrollback-ring.ts';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

const cases: Array<[string, number, string[], string]> = [
  ['empty', 8, [], ''],
  ['below capacity', 8, ['abc', 'de'], 'abcde'],
  ['exactly full', 8, ['abcd', 'efgh'], 'abcdefgh'],
  ['wraps and keeps the newest bytes', 8, ['abcdef', 'ghij'], 'cdefghij'],
  ['wraps several times', 4, ['ab', 'cd', 'ef', 'g'], 'defg'],
  ['chunk larger than capacity', 4, ['ab', '0123456789'], '6789'],
  ['chunk exactly capacity after data', 4, ['xy', 'abcd'], 'abcd'],
  ['push after a too-large chunk', 4, ['0123456789', 'ab'], '89ab'],
  ['empty chunks change nothing', 4, ['', 'ab', ''], 'ab'],
];

for (const [name, cap, pushes, expected] of cases) {
  test(`ScrollbackRing: ${name}`, () => {
    const ring = new ScrollbackRing(cap);
    for (const p of pushes) ring.push(b(p));
    assert.equal(ring.snapshot().toString('utf8'), expected);
    assert.equal(ring.size, Buffer.byteLength(expected));
  });
}

test('ScrollbackRing drops a character cut in half by wraparound', () => {
  const ring = new ScrollbackRing(4);
  ring.push(b('aé€')); // 1 + 2 + 3 bytes: the ring keeps the last 4, starting inside 'é'
  assert.equal(ring.snapshot().toString('utf8'), '€');
});

test('ScrollbackRing holds a long stream in bounded memory, newest bytes last', () => {
  const ring = new ScrollbackRing(1000);
  let all = '';
  for (let i = 0; i < 2000; i++) {
    const line = `line ${i}\n`;
    all += line;
    ring.push(b(line));
  }
  assert.equal(ring.size, 1000);
  assert.equal(ring.snapshot().toString('utf8'), all.slice(-1000));
});

test('ScrollbackRing refuses a non-positive capacity', () => {
  assert.throws(() => new ScrollbackRing(0), /capacity/);
});
