import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CappedCollector, lastLines } from '../../server/sandbox/output.ts';
import { goldenKey } from '../../server/sandbox/golden.ts';

function write(c: CappedCollector, chunks: string[]): Promise<void> {
  return new Promise((resolve) => {
    for (const chunk of chunks) c.write(Buffer.from(chunk));
    c.end(resolve);
  });
}

test('a collector under its cap keeps everything', async () => {
  const c = new CappedCollector(10);
  await write(c, ['abc', 'def']);
  assert.equal(c.text(), 'abcdef');
  assert.equal(c.truncated, false);
});

test('a collector keeps exactly the cap and says it dropped the rest', async () => {
  const c = new CappedCollector(5);
  await write(c, ['abc', 'defgh', 'ij']);
  assert.equal(c.text(), 'abcde');
  assert.equal(c.truncated, true);
});

test('lastLines keeps the last non-empty lines', () => {
  assert.equal(lastLines('a\n\nb\nc  \n\n', 2), 'b\nc');
  assert.equal(lastLines('', 3), '');
});

test('the golden key changes with any image id and ignores the order images are listed in', () => {
  const a = { tag: 'nginx:latest', id: 'sha256:1' };
  const b = { tag: 'redis:7', id: 'sha256:2' };
  assert.equal(goldenKey('sha256:s', [a, b]), goldenKey('sha256:s', [b, a]));
  assert.notEqual(goldenKey('sha256:s', [a, b]), goldenKey('sha256:s', [{ ...a, id: 'sha256:3' }, b]));
  assert.notEqual(goldenKey('sha256:s', [a]), goldenKey('sha256:t', [a]));
  assert.match(goldenKey('sha256:s', []), /^[0-9a-f]{24}$/);
});

test('the golden key includes which host image each name is loaded from', () => {
  const plain = { tag: 'nginx:latest', id: 'sha256:1' };
  const mapped = { ...plain, hostImage: 'labrun/nginx:latest' };
  assert.equal(goldenKey('sha256:s', [plain]), goldenKey('sha256:s', [{ ...plain, hostImage: 'nginx:latest' }]));
  assert.notEqual(goldenKey('sha256:s', [plain]), goldenKey('sha256:s', [mapped]));
  assert.notEqual(goldenKey('sha256:s', [mapped]), goldenKey('sha256:s', [{ ...mapped, tag: 'web:1' }]));
});
