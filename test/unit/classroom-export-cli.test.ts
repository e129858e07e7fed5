// `labrun export` as a user runs it (spawned through bin/labrun): its mistakes get a clear message
// and an exit code, never a stack trace. The export itself is tested on a real class in
// test/integration/http-classroom.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Store } from '../../server/store/store.ts';
import { ClassStore } from '../../server/classroom/class-store.ts';

function exportCli(...args: string[]) {
  const r = spawnSync('bin/labrun', ['export', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('labrun export: bad arguments and missing data are named, with an exit code', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrexport-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new Store(dir);
  const classes = new ClassStore(store.database);
  const cls = classes.createClass('gone-lab', 'Old class');
  classes.addLearner(cls.id, 'Ada');
  store.close();

  const cases: [string[], number, RegExp][] = [
    [[], 2, /^labrun export: --class is required/],
    [['--class', cls.id, '--format', 'xml', '--data', dir], 2, /^labrun export: --format: must be csv or json, not 'xml'/],
    [['--class', cls.id, '--data', path.join(dir, 'nowhere')], 1, /^labrun export: no progress database in .*nowhere \(labrun\.db\)/],
    [['--class', 'c000000000000', '--data', dir], 1, new RegExp(`^labrun export: no class 'c000000000000' in .*; classes there: ${cls.id} \\(Old class\\)`)],
  ];
  for (const [args, code, message] of cases) {
    const r = exportCli(...args);
    assert.equal(r.code, code, args.join(' '));
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // A lab no longer in the labs folder: a warning, and the steps the database knows (none here yet).
  const r = exportCli('--class', cls.id, '--data', dir, '--labs', path.join(dir, 'no-labs'), '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /lab 'gone-lab' is not in/);
  assert.match(r.stdout, /"name": "Ada"/);
});
