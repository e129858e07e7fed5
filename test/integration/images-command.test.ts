// `labrun images` as a user runs it: the real CLI, the real labs folder, the real engine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireDocker } from '../support/require.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmpDirs: string[] = [];

after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

function labrun(args: string[]) {
  const r = spawnSync(path.join(ROOT, 'bin/labrun'), ['images', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('labrun images --help prints usage; an unknown option is a usage error', () => {
  const help = labrun(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: labrun images \[--labs DIR\] \[TAG\.\.\.\]/);
  assert.match(help.stdout, /labrun\/nginx:trixie/);
  const bad = labrun(['--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /labrun images: .*--bogus/);
});

test('labrun images names the broken lab file and exits 1', async () => {
  const labs = await mkdtemp(path.join(os.tmpdir(), 'labrun-images-labs-'));
  tmpDirs.push(labs);
  await mkdir(path.join(labs, 'broken'));
  await writeFile(path.join(labs, 'broken', 'lab.yaml'), 'title: [unclosed\n');
  const r = labrun(['--labs', labs]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read the labs' image lists/);
  assert.match(r.stderr, /broken\/lab\.yaml:\d+:\d+: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user error');
});

test('labrun images with a missing labs folder says so and exits 1', () => {
  const r = labrun(['--labs', path.join(os.tmpdir(), `labrun-no-labs-${process.pid}`)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /labs folder not found/);
});

test('labrun images ensures the sandbox image and every image the seed labs declare', (t) => {
  if (!requireDocker(t)) return;
  const userNginx = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', 'nginx:latest'], { encoding: 'utf8' }).stdout;
  const r = labrun(['--labs', path.join(ROOT, 'labs')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^images: labrun\/sandbox:trixie: /m);
  assert.match(r.stdout, /^images: nginx:latest: provided by labrun\/nginx:trixie$/m);
  assert.match(r.stdout, /^images: labrun\/nginx:trixie: /m);
  assert.doesNotMatch(r.stdout, /^images: nginx:latest: (present|building|pulling)/m, 'the host nginx:latest is not ours to manage');
  assert.match(r.stdout, /^images: ready \(\d+ images\) in [\d.]+s$/m);
  const after = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', 'nginx:latest'], { encoding: 'utf8' }).stdout;
  assert.equal(after, userNginx, 'the host nginx:latest (or its absence) is left as it was');
  for (const tag of ['labrun/sandbox:trixie', 'labrun/nginx:trixie']) {
    const inspect = spawnSync('docker', ['image', 'inspect', tag], { encoding: 'utf8' });
    assert.equal(inspect.status, 0, `${tag} is missing after labrun images`);
  }
});
