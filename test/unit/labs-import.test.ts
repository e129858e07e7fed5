// The importers without Docker: our fixtures in Killercoda's, Katacoda's and Instruqt's formats become
// the steps, scripts, checks and files they should; unsupported environments and malformed files give
// positioned problems. (Running the result in a sandbox is test/integration/labs-import.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImportError, asShellScript, imagesNamedIn } from '../../server/labs/import/draft.ts';
import { importKillercoda } from '../../server/labs/import/killercoda.ts';
import { importInstruqt } from '../../server/labs/import/instruqt.ts';
import { JsonSource } from '../../server/labs/import/json-source.ts';
import { loadLab } from '../../server/labs/catalog.ts';

const KC = 'test/fixtures/killercoda';
const IQ = 'test/fixtures/instruqt';

async function tempTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'labrun-import-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

async function importIssues(run: () => Promise<unknown>): Promise<string[]> {
  try {
    await run();
  } catch (err) {
    if (err instanceof ImportError) return err.issues.map((i) => `${path.basename(i.file)}:${i.line}:${i.col}: ${i.message}`);
    throw err;
  }
  assert.fail('expected an ImportError');
}

test('killercoda: intro, steps and finish become steps with background as setup, foreground, verify as a check', async () => {
  const [d] = await importKillercoda(`${KC}/file-basics`);
  assert.ok(d);
  assert.equal(d.title, 'Files and permissions, imported');
  assert.deepEqual(d.steps.map((s) => s.fileName), ['01-welcome.md', '02-write-a-greeting.md', '03-run-the-helper.md', '04-finish.md']);
  const [intro, s1, s2, finish] = d.steps;
  assert.match(intro?.setup ?? '', /date \+%s > \/tmp\/intro-background-ran/);
  assert.equal(intro?.foreground, 'cd ~\necho "foreground-typed-$((6 * 7))"\n');
  assert.match(s1?.setup ?? '', /echo ready > \/tmp\/step1\/background-ran/);
  assert.deepEqual(s1?.checks.map((c) => [c.name, c.expect, c.timeout]), [['step1/verify.sh exits 0', [{ exitCode: 0 }], 60]]);
  assert.match(s1?.checks[0]?.run ?? '', /grep -qx hello ~\/greeting.txt/);
  // Solutions: a solution.sh beside the step's files, and the Run blocks of a Solution dropdown.
  assert.match(s1?.solve ?? '', /echo hello > ~\/greeting.txt/);
  assert.equal(s2?.solve, 'cd ~\n~/bin/stamp.sh\n');
  assert.equal(s2?.foreground, 'echo "step two: run the helper"\n');
  assert.equal(finish?.checks.length, 0);
  assert.equal(d.minutes, 15);
});

test('killercoda: assets are staged in the workspace and installed to their targets by the first setup', async () => {
  const [d] = await importKillercoda(`${KC}/file-basics`);
  assert.deepEqual(d?.files.map((f) => [path.basename(f.from), f.to]), [['first.txt', '.labrun-assets/0'], ['stamp.sh', '.labrun-assets/1']]);
  const setup = d?.steps[0]?.setup ?? '';
  assert.match(setup, /install -D -m 0644 '\/root\/file-basics\/\.labrun-assets\/0' '\/root\/notes\/first\.txt'\n {2}chmod \+w '\/root\/notes\/first\.txt'/);
  assert.match(setup, /chmod \+x '\/root\/bin\/stamp\.sh'/);
  assert.match(setup, /rm -rf \/root\/file-basics\/\.labrun-assets/);
  assert.deepEqual(d?.assets.map((a) => a.to), ['images/diagram.png']);
});

test('killercoda: an asset target a sandbox cannot write is noted', async () => {
  const dir = await tempTree({
    'index.json': JSON.stringify({ title: 't', details: { steps: [{ text: 's.md' }], assets: { host01: [{ file: 'a.sh', target: '/usr/local/bin' }] } } }),
    's.md': 'x',
    'assets/a.sh': 'echo',
  });
  const [d] = await importKillercoda(dir);
  assert.match(d?.notes.join('\n') ?? '', /target \/usr\/local\/bin is outside \/root, \/tmp, \/run/);
});

test("katacoda: courseData is background, code is foreground, answer is a hint and the solve, environment noted", async () => {
  const [d] = await importKillercoda(`${KC}/katacoda-legacy`);
  assert.equal(d?.minutes, 10);
  const step = d?.steps[1];
  assert.match(step?.setup ?? '', /echo "step one" > \/tmp\/katacoda-step1/);
  assert.equal(step?.foreground, 'echo "make the marker"\n');
  assert.equal(step?.solve, 'cd ~\ntouch ~/marker\n');
  assert.deepEqual(step?.hints, ['Run `touch ~/marker` in the terminal.']);
  assert.match(d?.steps[0]?.setup ?? '', /echo "env ready" > \/tmp\/katacoda-env/);
  assert.match(d?.steps[0]?.setup ?? '', /'\/root\/hello\.txt'/);
  assert.match(d?.notes.join('\n') ?? '', /environment \(uilayout, showdashboard\)/);
});

test('killercoda: a course (structure.json) is one lab per scenario', async () => {
  const drafts = await importKillercoda(`${KC}/course`);
  assert.deepEqual(drafts.map((d) => d.id), ['first-scenario', 'second-scenario']);
});

test('killercoda: a Kubernetes backend is not supported, named at backend.imageid', async () => {
  const dir = await tempTree({ 'index.json': '{\n  "title": "k",\n  "details": { "steps": [] },\n  "backend": {\n    "imageid": "kubernetes-kubeadm-1node"\n  }\n}\n' });
  const issues = await importIssues(() => importKillercoda(dir));
  assert.equal(issues.length, 2);
  assert.match(issues[0] ?? '', /^index\.json:5:5: backend\.imageid 'kubernetes-kubeadm-1node' is a Kubernetes environment: not supported/);
  assert.match(issues[1] ?? '', /^index\.json:3:3: the scenario has no intro, steps or finish/);
});

test('killercoda: malformed index.json, missing files and bad fields are positioned', async () => {
  const broken = await tempTree({ 'index.json': '{\n  "title": "x",\n  "details": {\n    "steps": [\n      { "text": "a.md" }\n    ],\n  }\n}\n' });
  assert.deepEqual(await importIssues(() => importKillercoda(broken)), ['index.json:7:3: JSON: expected a property name in double quotes']);
  const missing = await tempTree({ 'index.json': '{\n  "title": "x",\n  "details": {\n    "steps": [\n      { "text": "a.md", "verify": "v.sh" }\n    ]\n  }\n}\n' });
  assert.deepEqual(await importIssues(() => importKillercoda(missing)), [
    "index.json:5:9: text: file 'a.md' not found in the scenario folder",
    "index.json:5:25: verify: file 'v.sh' not found in the scenario folder",
  ]);
  const typed = await tempTree({ 'index.json': '{\n  "details": {\n    "steps": [ { "text": 3 } ]\n  }\n}\n' });
  assert.deepEqual(await importIssues(() => importKillercoda(typed)), [
    "index.json:1:1: missing required field 'title'",
    'index.json:3:18: details.steps[0].text: Invalid input: expected string, received number',
  ]);
  const course = await tempTree({ 'structure.json': '{\n  "items": [\n    { "path": "nope" }\n  ]\n}\n' });
  assert.deepEqual(await importIssues(() => importKillercoda(course)), ["structure.json:3:7: no scenario at 'nope' (expected nope/index.json inside the course folder)"]);
});

test('JsonSource: positions of syntax errors and of paths', () => {
  const src = new JsonSource('f.json', '{\n  "a": [1,\n    {"b": tru}\n  ]\n}');
  assert.deepEqual(src.syntaxIssues.map((i) => `${i.line}:${i.col}: ${i.message}`), ['3:11: JSON: unexpected character']);
  const ok = new JsonSource('g.json', '{\n  "a": {\n    "b": [10, 20]\n  }\n}\n');
  assert.deepEqual(ok.pos(['a', 'b', 1]), { line: 3, col: 15 });
  assert.deepEqual(ok.pos(['a', 'b']), { line: 3, col: 5 });
  assert.deepEqual(ok.pos(['a', 'zzz']), { line: 2, col: 3 });
});

test('instruqt (current layout): challenges, scripts, fail-message, quiz, tabs, notes and images', async () => {
  const d = await importInstruqt(`${IQ}/project-folders`);
  assert.equal(d.minutes, 20);
  assert.deepEqual(d.steps.map((s) => s.fileName), ['01-make-a-project.md', '02-config-file.md', '03-which-command.md']);
  const [one, two, quiz] = d.steps;
  // track_scripts/setup first, then the challenge's setup; cleanup runs with the next step's setup.
  assert.ok((one?.setup ?? '').indexOf('track setup ran') < (one?.setup ?? '').indexOf('challenge one'));
  assert.match(two?.setup ?? '', /echo "cleaned" > \/tmp\/challenge-one-cleanup/);
  assert.deepEqual(one?.checks[0]?.expect, [{ exitCode: 0 }, { stdout: { matches: '^FAIL:', not: true } }]);
  assert.match(one?.checks[0]?.run ?? '', /#!\/bin\/bash\nfail-message\(\) \{ echo "FAIL: \$\*"; exit 1; \}\n/);
  assert.match(two?.solve ?? '', /perl "\$script" <\/dev\/null/);
  assert.match(one?.body ?? '', /^Every project in this track lives under `\/root\/projects`\.\n\n---\n\n/);
  assert.match(one?.body ?? '', /\[Web preview\]\(port:8000\)/);
  assert.match(one?.body ?? '', /!\[Folder tree\]\(assets\/tree\.png\)/);
  assert.deepEqual(d.assets.map((a) => a.to), ['assets/tree.png']);
  assert.deepEqual(quiz?.questions, [{ id: 'answer', prompt: 'Your answer (one of: touch | mkdir -p | ls)' }]);
  assert.equal(quiz?.checks[0]?.expect[0]?.answer?.equals.outputOf?.run, "printf '%s\\n' 'mkdir -p'");
  assert.match(d.notes.join('\n'), /host 'workstation' \(image labrun\/fixture-workstation:1\)/);
});

test('instruqt (older layout): the challenges list in track.yml, scripts in folders named by slug', async () => {
  const d = await importInstruqt(`${IQ}/legacy-track`);
  assert.equal(d.steps.length, 1);
  assert.match(d.steps[0]?.body ?? '', /Put the text `welcome` into `\/root\/motd`/);
  assert.match(d.steps[0]?.checks[0]?.run ?? '', /fail-message "\/root\/motd does not say welcome"/);
  assert.match(d.steps[0]?.solve ?? '', /echo welcome > \/root\/motd/);
});

test('instruqt: several hosts, virtual machines and cloud accounts are not supported, named where they are', async () => {
  const dir = await tempTree({
    'track.yml': 'slug: t\ntitle: T\nchallenges:\n- slug: a\n  title: A\n',
    'config.yml': 'version: "3"\ncontainers:\n- name: one\n  image: a\n- name: two\n  image: b\nvirtualmachines:\n- name: vm\n  image: x\ngcp_projects:\n- name: p\n',
  });
  assert.deepEqual(await importIssues(() => importInstruqt(dir)), [
    'config.yml:11:1: gcp_projects: cloud accounts are not supported (a labrun sandbox is one Linux machine with Docker)',
    'config.yml:8:1: virtualmachines (vm): virtual machines are not supported; labrun runs one container host',
    "config.yml:5:3: containers: 2 hosts (one, two); only a single container host is supported",
  ]);
});

test('instruqt: malformed track.yml and assignment front matter are positioned', async () => {
  const yaml = await tempTree({ 'track.yml': 'slug: t\ntitle: [unclosed\n' });
  const got = await importIssues(() => importInstruqt(yaml));
  assert.equal(got.length >= 1, true);
  assert.match(got[0] ?? '', /^track\.yml:\d+:\d+: YAML: /);
  const fm = await tempTree({ 'track.yml': 'slug: t\ntitle: T\n', '01-a/assignment.md': '---\nslug: a\ntitle: 7\ntype: quiz\nanswers: [x]\n---\nbody\n' });
  assert.deepEqual(await importIssues(() => importInstruqt(fm)), [
    'assignment.md:3:8: title: Invalid input: expected string, received number',
  ]);
  const quiz = await tempTree({ 'track.yml': 'slug: t\ntitle: T\n', '01-a/assignment.md': '---\nslug: a\ntitle: Q\ntype: quiz\nanswers: [x, y]\n---\nbody\n' });
  assert.deepEqual(await importIssues(() => importInstruqt(quiz)), ["assignment.md:5:10: quiz 'a' needs 'answers' and a 'solution' listing indexes into them"]);
  const other = await tempTree({ 'track.yml': 'slug: t\ntitle: T\n', 'config.yml': 'containers:\n- name: shell\n  image: x\n', '01-a/assignment.md': '---\nslug: a\ntitle: A\n---\n', '01-a/check-db': 'true\n' });
  assert.deepEqual(await importIssues(() => importInstruqt(other)), ["check-db:1:1: script for host 'db', but config.yml's only host is 'shell': a second host is not supported"]);
});

test('the loader reads the source folders as they are (converted at load) and they validate', async () => {
  for (const dir of [`${KC}/file-basics`, `${KC}/katacoda-legacy`, `${KC}/course/first-scenario`, `${IQ}/project-folders`, `${IQ}/legacy-track`]) {
    const r = await loadLab(dir);
    assert.deepEqual(r.issues, [], dir);
    assert.ok(r.lab, dir);
  }
  const r = await loadLab(`${KC}/file-basics`);
  assert.equal(r.lab?.id, 'file-basics');
  assert.equal(r.lab?.steps[0]?.foreground, 'cd ~\necho "foreground-typed-$((6 * 7))"\n');
  assert.match(r.lab?.steps[1]?.html ?? '', /<pre data-lang="bash" data-run="" data-interrupt=""><code>cat ~\/greeting.txt/);
});

test('scripts keep their interpreter and meaning: own file, stdin closed, exit code kept', () => {
  assert.match(asShellScript('#!/usr/bin/env python3\nprint(1)\n'), /\npython3 "\$script" <\/dev\/null \|\| rc=\$\?\n/);
  assert.match(asShellScript('#!/bin/sh\ntrue\n'), /\nbash "\$script"/);
  assert.match(asShellScript('echo LABRUN_SCRIPT'), /<<'LABRUN_SCRIPT_'\n/);
  assert.deepEqual(
    imagesNamedIn('docker run -d -p 80:80 --name web nginx:alpine\ndocker pull redis\ndocker run --rm -it -v /a:/b busybox:1 sh\ndocker run --network=host $IMG\n  image: "postgres:16"\n'),
    ['nginx:alpine', 'redis:latest', 'busybox:1', 'postgres:16'],
  );
});

test('a labs folder mixing formats loads as a catalog; a course stands for its scenarios; a source folder alone is a catalog', async () => {
  const { loadCatalog } = await import('../../server/labs/catalog.ts');
  const all = await loadCatalog(KC);
  assert.deepEqual(all.labs.map((l) => l.id), ['first-scenario', 'second-scenario', 'file-basics', 'katacoda-legacy']);
  const one = await loadCatalog(`${IQ}/legacy-track`);
  assert.deepEqual(one.labs.map((l) => l.id), ['legacy-track']);
  const twins = await tempTree({
    'a/index.json': JSON.stringify({ title: 'A', details: { steps: [{ text: 's.md' }] } }),
    'a/s.md': 'x',
    'b/structure.json': JSON.stringify({ items: [{ path: 'a' }] }),
    'b/a/index.json': JSON.stringify({ title: 'B', details: { steps: [{ text: 's.md' }] } }),
    'b/a/s.md': 'y',
  });
  await assert.rejects(loadCatalog(twins), /lab id 'a' is also the id of/);
});
