// The touch key bar's byte table (client/terminal/key-bytes.ts): what each key and each sticky
// modifier sends, checked against the bytes a VT100/xterm keyboard produces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BAR_KEYS, ctrlOf, keyBytes, withModifiers } from '../../client/terminal/key-bytes.ts';

const none = { ctrl: false, alt: false };
const ctrl = { ctrl: true, alt: false };
const alt = { ctrl: false, alt: true };
const both = { ctrl: true, alt: true };

test('each bar key without modifiers', () => {
  const table: [string, string][] = [
    ['Escape', '\x1b'],
    ['Tab', '\t'],
    ['ArrowUp', '\x1b[A'],
    ['ArrowDown', '\x1b[B'],
    ['ArrowLeft', '\x1b[D'],
    ['ArrowRight', '\x1b[C'],
    ['|', '|'],
    ['~', '~'],
  ];
  assert.deepEqual(table.map(([k]) => k), [...BAR_KEYS], 'the table covers every key of the bar');
  for (const [key, bytes] of table) assert.equal(keyBytes(key as (typeof BAR_KEYS)[number], none), bytes, key);
});

test('arrows follow application cursor mode (DECCKM) unless modified', () => {
  assert.equal(keyBytes('ArrowUp', none, { applicationCursor: true }), '\x1bOA');
  assert.equal(keyBytes('ArrowLeft', none, { applicationCursor: true }), '\x1bOD');
  assert.equal(keyBytes('ArrowUp', ctrl, { applicationCursor: true }), '\x1b[1;5A');
  assert.equal(keyBytes('ArrowRight', ctrl), '\x1b[1;5C', 'Ctrl-Right: word forward in readline');
  assert.equal(keyBytes('ArrowLeft', alt), '\x1b[1;3D');
  assert.equal(keyBytes('ArrowDown', both), '\x1b[1;7B');
});

test('Ctrl makes control characters the way terminals do', () => {
  const table: [string, string][] = [
    ['c', '\x03'],
    ['C', '\x03'],
    ['d', '\x04'],
    ['z', '\x1a'],
    ['a', '\x01'],
    ['@', '\x00'],
    ['[', '\x1b'],
    ['\\', '\x1c'],
    [']', '\x1d'],
    ['^', '\x1e'],
    ['_', '\x1f'],
    [' ', '\x00'],
    ['?', '\x7f'],
  ];
  for (const [ch, bytes] of table) assert.equal(ctrlOf(ch), bytes, JSON.stringify(ch));
  assert.equal(ctrlOf('1'), undefined, 'digits have no control form');
  assert.equal(ctrlOf('ab'), undefined);
});

test('sticky modifiers on soft-keyboard text', () => {
  assert.equal(withModifiers('c', ctrl), '\x03', 'Ctrl then c is Ctrl-C');
  assert.equal(withModifiers('b', alt), '\x1bb', 'Alt-b is ESC b (word back in readline)');
  assert.equal(withModifiers('x', both), '\x1b\x18');
  assert.equal(withModifiers('1', ctrl), '1', 'no control form: the key as typed');
  assert.equal(withModifiers('hello', ctrl), 'hello', 'a word from autocomplete is not one key');
  assert.equal(withModifiers('c', none), 'c');
  assert.equal(keyBytes('|', ctrl), '|', '| has no control form');
  assert.equal(keyBytes('~', alt), '\x1b~');
  assert.equal(keyBytes('Escape', alt), '\x1b\x1b');
  assert.equal(keyBytes('Tab', alt), '\x1b\t');
  assert.equal(keyBytes('Tab', ctrl), '\t');
});
