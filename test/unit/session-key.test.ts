// One helper builds a session's key (server/session/session-key.ts): nobody else joins a learner and
// a lab into a string by hand, so the maps that keep sessions can never disagree on it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sessionKey } from '../../server/session/session-key.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HELPER = path.join('server', 'session', 'session-key.ts');
/** A template or concatenation that joins something learner-ish and something lab-ish with ':'. */
const HAND_BUILT = [/`\$\{[^}`]*learner[^}`]*\}:\$\{[^}`]*lab[^}`]*\}`/i, /learner\w*\s*\+\s*['"]:['"]\s*\+\s*\w*lab/i];

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

test('no session key is built outside the one helper', () => {
  const offenders: string[] = [];
  for (const file of ['server', 'client', 'shared', 'test', 'bench'].flatMap(sources)) {
    if (file === HELPER || file === path.join('test', 'unit', 'session-key.test.ts')) continue;
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (HAND_BUILT.some((re) => re.test(line))) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});

test('the pattern catches what it is meant to', () => {
  const caught = (line: string): boolean => HAND_BUILT.some((re) => re.test(line));
  assert.equal(caught('const key = `${learnerId}:${labId}`;'), true);
  assert.equal(caught('m.get(`${e.learnerId}:${lab.id}`)'), true);
  assert.equal(caught("const k = learnerId + ':' + labId;"), true);
  assert.equal(caught('`${repo}:${tag}`'), false);
  assert.equal(sessionKey('ada', 'linux-networks'), 'ada:linux-networks');
});
