// `labrun import` and `labrun validate` on other platforms' folders, spawned through bin/labrun as a
// user runs them: malformed sources print file:line:col: message and exit 1 with no stack trace; our
// fixtures import, the written labs validate, and the source folders validate as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

function labrun(...args: string[]) {
  const r = spawnSync('bin/labrun', args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function tempTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'labrun-import-cli-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at |TypeError|SyntaxError/, 'no stack trace');

test('labrun import killercoda: a malformed index.json → file:line:col: message, exit 1', async () => {
  const dir = await tempTree({ 'index.json': '{\n  "title": "x",\n  "details": { "steps": [ { "text": "a.md" } ] \n' });
  const r = labrun('import', 'killercoda', dir, '--out', path.join(dir, 'out'));
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.split('\n')[0], `${dir}/index.json:4:1: JSON: expected '}'`);
  assert.match(r.stderr, /not imported: 1 problem/);
  noStack(r.stderr);
  assert.deepEqual(await readdir(dir), ['index.json'], 'nothing written');
});

test('labrun import killercoda: a Kubernetes scenario is refused naming backend.imageid', async () => {
  const dir = await tempTree({ 'index.json': '{\n  "title": "k",\n  "details": { "steps": [ { "text": "s.md" } ] },\n  "backend": { "imageid": "kubernetes-kubeadm-2nodes" }\n}\n', 's.md': 'x' });
  const r = labrun('import', 'killercoda', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${dir}/index.json:4:16: backend.imageid 'kubernetes-kubeadm-2nodes' is a Kubernetes environment: not supported`));
  noStack(r.stderr);
});

test('labrun import instruqt: a malformed track.yml → file:line:col: message, exit 1', async () => {
  const dir = await tempTree({ 'track.yml': 'slug: t\ntitle: T\nchallenges:\n- slug: a\n   title: bad indent\n' });
  const r = labrun('import', 'instruqt', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr.split('\n')[0] ?? '', new RegExp(`^${dir}/track.yml:4:\\d+: YAML: `));
  noStack(r.stderr);
});

test('labrun import instruqt: a two-host track is refused naming config.yml', async () => {
  const dir = await tempTree({ 'track.yml': 'slug: t\ntitle: T\n', 'config.yml': 'containers:\n- name: a\n  image: x\n- name: b\n  image: y\n' });
  const r = labrun('import', 'instruqt', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${dir}/config.yml:4:3: containers: 2 hosts \\(a, b\\); only a single container host is supported`));
});

test('labrun import: usage errors exit 2', () => {
  assert.equal(labrun('import').code, 2);
  assert.match(labrun('import', 'katacoda', 'x').stderr, /say which format: killercoda or instruqt/);
  assert.equal(labrun('import', 'killercoda').code, 2);
  const missing = labrun('import', 'killercoda', 'test/fixtures/nope');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^test\/fixtures\/nope\/index.json:1:1: index.json not found: not a Killercoda scenario folder/);
});

test('labrun import writes labs that validate; a course writes one per scenario; an existing folder is kept', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'labrun-import-out-'));
  const one = labrun('import', 'killercoda', 'test/fixtures/killercoda/file-basics', '--out', `${out}/fb`);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /wrote .*fb: 4 steps, 2 checks/);
  assert.match(await readFile(`${out}/fb/steps/02-write-a-greeting.md`, 'utf8'), /```bash run interrupt\ncat ~\/greeting.txt\n```/);
  const course = labrun('import', 'killercoda', 'test/fixtures/killercoda/course', '--out', `${out}/course`);
  assert.equal(course.code, 0, course.stderr);
  assert.deepEqual(await readdir(`${out}/course`), ['first-scenario', 'second-scenario']);
  const track = labrun('import', 'instruqt', 'test/fixtures/instruqt/project-folders', '--out', `${out}/pf`);
  assert.equal(track.code, 0, track.stderr);
  assert.match(track.stdout, /note: host 'workstation'/);
  const v = labrun('validate', `${out}/fb`, `${out}/course/first-scenario`, `${out}/pf`);
  assert.equal(v.code, 0, v.stderr);
  const again = labrun('import', 'killercoda', 'test/fixtures/killercoda/file-basics', '--out', `${out}/fb`);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists and is not empty/);
});

test('labrun validate reads Killercoda and Instruqt folders as they are, positioned errors included', async () => {
  const ok = labrun('validate', 'test/fixtures/killercoda/file-basics', 'test/fixtures/killercoda/course', 'test/fixtures/instruqt/project-folders', 'test/fixtures/instruqt/legacy-track');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: 5 labs, 10 steps, 8 checks/);
  const dir = await tempTree({ 'index.json': '{ "title": "x", "details": { "steps": [ { "text": "missing.md" } ] } }' });
  const bad = labrun('validate', dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.split('\n')[0], `${dir}/index.json:1:43: text: file 'missing.md' not found in the scenario folder`);
});
