// Imported labs run end to end in real sandboxes. Through the CLI, as an author runs it:
// `labrun test --strict` on our Killercoda scenario and Instruqt tracks, read as they are (converted at
// load): every verify/check script fails before its solution and passes after it (the Killercoda
// verify also needs its step's background to have run). Through HTTP, as a learner meets it: a failed
// Instruqt check shows the script's FAIL: line as its evidence, and an image is served from the lab.
// And the import checks the images a scenario names against the recipes and the host engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StepResult } from '../../shared/api.ts';
import { requireDocker } from '../support/require.ts';
import { call, copyLab, signIn, startServer } from './http-fixture.ts';

function labrunTest(...dirs: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bin/labrun', ['test', '--strict', ...dirs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('labrun test --strict proves the imported Killercoda scenario: background, verify before and after the solution', async (t) => {
  if (!requireDocker(t)) return;
  const r = await labrunTest('test/fixtures/killercoda/file-basics');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /write-a-greeting\s+step1\/verify\.sh exits 0\s+fail \(good\)\s+pass/);
  assert.match(r.out, /run-the-helper\s+step2\/verify\.sh exits 0\s+fail \(good\)\s+pass/);
  assert.match(r.out, /before solve: 2 fail \(good\), 0 pass \(declared\), 0 PASS \(vacuous\); after solve: 2 pass, 0 FAIL/);
});

test('labrun test --strict proves both Instruqt layouts: check- fails, solve-, check- passes; the quiz needs its answer', async (t) => {
  if (!requireDocker(t)) return;
  const r = await labrunTest('test/fixtures/instruqt/project-folders', 'test/fixtures/instruqt/legacy-track');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /make-a-project\s+check-workstation passes\s+fail \(good\)\s+pass/);
  assert.match(r.out, /config-file\s+check-workstation passes\s+fail \(good\)\s+pass/);
  assert.match(r.out, /which-command\s+quiz answer\s+fail \(good\)\s+pass/);
  assert.match(r.out, /write-motd\s+check-shell passes\s+fail \(good\)\s+pass/);
  assert.match(r.out, /lab project-folders: ok/);
  assert.match(r.out, /lab legacy-track: ok/);
});

test('a learner checks an imported Instruqt challenge over HTTP: the FAIL: line is the evidence; images are served', async (t) => {
  if (!requireDocker(t)) return;
  const fx = copyLab(t, path.resolve('test/fixtures/instruqt/project-folders'));
  const server = await startServer(t, fx, { reapSandboxes: true });
  const cookie = await signIn(server.url);
  const lab = await call(server.url, cookie, 'GET', `/api/labs/${fx.labId}`);
  assert.equal(lab.status, 200);
  const check = await call(server.url, cookie, 'POST', `/api/labs/${fx.labId}/steps/make-a-project/check`, {});
  assert.equal(check.status, 200, JSON.stringify(check.body));
  const result = StepResult.parse(check.body);
  assert.equal(result.passed, false);
  // Only the first failure: the challenge's setup (run when the step opened) made the second pass.
  assert.equal(result.checks[0]?.stdout, 'FAIL: There is no /root/projects/demo folder yet.\n');
  assert.equal(result.checks[0]?.expectations[1]?.got, 'FAIL: There is no /root/projects/demo folder yet.');

  const img = await fetch(`${server.url}/api/labs/${fx.labId}/assets/assets/tree.png`, { headers: { cookie } });
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/png');
  const png = Buffer.from(await img.arrayBuffer());
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  for (const bad of ['..%2flab.yaml', '.hidden', 'nope.png']) {
    const res = await fetch(`${server.url}/api/labs/${fx.labId}/assets/${bad}`, { headers: { cookie } });
    assert.equal(res.status, 404, bad);
  }
  const anonymous = await fetch(`${server.url}/api/labs/${fx.labId}/assets/assets/tree.png`);
  assert.equal(anonymous.status, 401);
});

test('labrun import checks the images a scenario names: one a recipe provides is preloaded, a missing one is reported', async (t) => {
  if (!requireDocker(t)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'labrun-import-images-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ title: 'Images', details: { steps: [{ text: 's.md' }] } }));
  writeFileSync(path.join(dir, 's.md'), '`docker run -d nginx:latest`{{exec}}\n\n```\ndocker run --rm labrun-test-missing/none:1 true\n```{{exec}}\n');
  const r = spawnSync('bin/labrun', ['import', 'killercoda', dir, '--out', path.join(dir, 'lab')], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /missing image: labrun-test-missing\/none:1 \(not on the host engine, and pulling it failed: /);
  assert.match(r.stdout, /wrote .*: 1 steps, 0 checks, images nginx:latest/);
  assert.match(readFileSync(path.join(dir, 'lab', 'lab.yaml'), 'utf8'), /images:\n {2}- nginx:latest\n/);
});
