// The asciicast v2 writer and parser (no Docker): header, timed events, resize and marker events, a
// marker only when the learner's step changes, and the parser refusing what is not asciicast v2.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CastWriter, parseAsciicast } from '../../server/recording/asciicast.ts';

test('a written recording parses back: header, output, resize and marker events with their times', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'labrun-cast-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = 1_700_000_000_000;
  const file = path.join(dir, 'x.cast');
  const w = new CastWriter({ path: file, cols: 80, rows: 24, now: () => now, input: true });
  w.marker('step-1');
  now += 1500;
  w.output(Buffer.from('hello\r\n'));
  w.input('ls\r');
  now += 250;
  w.resize(120, 40);
  await w.close();
  await w.close();
  const cast = parseAsciicast(readFileSync(file, 'utf8'));
  assert.ok(cast.ok);
  assert.deepEqual(cast.header, { version: 2, width: 80, height: 24, timestamp: 1_700_000_000, env: { TERM: 'xterm-256color', SHELL: '/bin/bash' } });
  assert.deepEqual(cast.events, [
    [0, 'm', 'step-1'],
    [1.5, 'o', 'hello\r\n'],
    [1.5, 'i', 'ls\r'],
    [1.75, 'r', '120x40'],
  ]);
  const before = readFileSync(file, 'utf8');
  await new CastWriter({ path: file, cols: 1, rows: 1 }).close();
  assert.equal(readFileSync(file, 'utf8'), before, 'a writer never overwrites an existing recording');
});

test('the parser names the first line that is not asciicast v2', () => {
  const rows: [string, string, RegExp][] = [
    ['version 1 header', '{"version":1,"width":80,"height":24}\n', /line 1|header/],
    ['not JSON', '{"version":2,"width":80,"height":24}\n[0.1, "o", "a"]\nnope\n', /not JSON/],
    ['bad code', '{"version":2,"width":80,"height":24}\n[0.1, "x", "a"]\n', /not an event/],
    ['time going back', '{"version":2,"width":80,"height":24}\n[1, "o", "a"]\n[0.5, "o", "b"]\n', /backwards/],
  ];
  for (const [name, text, want] of rows) {
    const r = parseAsciicast(text);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.error, want, name);
  }
});
