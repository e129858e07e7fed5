// `labrun validate` as a user runs it: spawned through bin/labrun, on the broken fixtures (exact
// file:line:col lines, exit 1, no stack trace) and on the shipped labs (exit 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function validate(...args: string[]) {
  const r = spawnSync('bin/labrun', ['validate', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const F = 'test/fixtures/labs';
const expected: Record<string, string[]> = {
  'bad-regex': [`${F}/bad-regex/steps/01-only.md:7:28: checks[0].expect[0].stdout.matches: invalid regex: Invalid regular expression: /hel(lo/m: Unterminated group`],
  'bad-terminal': [`${F}/bad-terminal/steps/01-only.md:6:1: code block: terminal=Web is not a terminal id (1-32 lowercase letters, digits, '-' or '_')`],
  'bad-yaml': [`${F}/bad-yaml/steps/01-only.md:5:10: YAML: Nested mappings are not allowed in compact mappings`],
  'missing-field': [`${F}/missing-field/lab.yaml:1:1: missing required field 'title'`, `${F}/missing-field/lab.yaml:2:10: minutes: Invalid input: expected number, received string`],
  'missing-step': [`${F}/missing-step/lab.yaml:7:5: step file steps/02-missing.md not found`],
  'unknown-expectation': [
    `${F}/unknown-expectation/steps/01-only.md:7:9: unknown expectation 'resolvez' (known: exitCode, stdout, stderr, resolves, reachable, running, absent, sharesNetns, ownNetns, netnsCount, publishes, mentions, answer)`,
  ],
  'unknown-question': [`${F}/unknown-question/steps/01-only.md:9:29: unknown question id 'web_addr' (this step's questions: web_ip)`],
  'unknown-service': [
    `${F}/unknown-service/steps/01-only.md:5:14: unknown service 'cache' (services in the lab's compose files: client, web)`,
    `${F}/unknown-service/steps/01-only.md:11:27: unknown service 'db' (services in the lab's compose files: client, web)`,
  ],
};

for (const [name, lines] of Object.entries(expected)) {
  test(`labrun validate ${F}/${name}: exact positions, exit 1`, () => {
    const r = validate(`${F}/${name}`);
    assert.equal(r.code, 1, r.stderr);
    const got = r.stderr.split('\n').filter((l) => l.startsWith(F));
    assert.deepEqual(got, lines);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  });
}

test('labrun validate on every fixture at once reports them all', () => {
  const r = validate(...Object.keys(expected).map((n) => `${F}/${n}`));
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith(F)).length, Object.values(expected).flat().length);
});

test('labrun validate (default ./labs) passes', () => {
  const r = validate();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok: \d+ labs?, \d+ steps, \d+ checks$/m);
});

test('labrun validate on a folder without lab.yaml says so', () => {
  const r = validate('test/fixtures');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^test\/fixtures\/lab\.yaml:1:1: lab\.yaml not found in this folder$/m);
});
