// ensureImages against the real engine: a present image is left alone, a lab's image name is built
// under its recipe's own tag while a foreign image of that name stays untouched, a foreign image
// under a recipe's tag is refused, a throwaway recipe is built on the offline base and labeled with its
// hash, rebuilt when a file changes, and a failing Dockerfile gives an error naming the recipe and the
// step. Every image made here is removed afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { ImageError, ensureImages } from '../../server/images/ensure-images.ts';
import { RECIPE_HASH_LABEL, RECIPE_NAME_LABEL } from '../../server/images/recipe.ts';
import { resolveImageNames } from '../../server/images/recipes.ts';
import { requireDocker } from '../support/require.ts';

const docker = new Docker();
const run = `${process.pid}-${Date.now().toString(36)}`;
const createdImages = new Set<string>();
const tmpDirs: string[] = [];

after(async () => {
  for (const ref of createdImages) {
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => {});
  }
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function recipesDir(recipes: Record<string, Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'labrun-images-test-'));
  tmpDirs.push(dir);
  for (const [name, files] of Object.entries(recipes)) {
    await mkdir(path.join(dir, name));
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, name, file), text);
  }
  return dir;
}

async function imageInfo(tag: string): Promise<{ id: string; labels: Record<string, string> } | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    return { id: info.Id, labels: info.Config.Labels ?? {} };
  } catch {
    return undefined;
  }
}

async function runIn(tag: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({ Image: tag, Cmd: cmd, Labels: { 'labrun.test': 'images' } });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: false });
    // Non-tty logs are multiplexed: 8-byte frame headers before each chunk.
    let out = '';
    for (let i = 0; i + 8 <= logs.length; ) {
      const len = logs.readUInt32BE(i + 4);
      out += logs.subarray(i + 8, i + 8 + len).toString();
      i += 8 + len;
    }
    return out;
  } finally {
    await container.remove({ force: true });
  }
}

/** Makes an image no recipe built (no labels), as a user's own image would be: `docker import` of one file. */
async function foreignImage(tag: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'labrun-foreign-'));
  tmpDirs.push(dir);
  await writeFile(path.join(dir, 'mine.txt'), `a user's own ${tag}\n`);
  const tar = spawnSync('tar', ['-C', dir, '-cf', '-', '.']);
  const r = spawnSync('docker', ['import', '-', tag], { input: tar.stdout, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  createdImages.add(tag);
  const info = await imageInfo(tag);
  assert.ok(info);
  assert.equal(info.labels[RECIPE_HASH_LABEL], undefined);
  return info.id;
}

test('the repository recipes map nginx:latest to labrun/nginx:trixie and other names to themselves', async () => {
  assert.deepEqual(await resolveImageNames(['nginx:latest', 'nginx', 'labrun/sandbox:trixie', 'redis:7']), [
    { name: 'nginx:latest', hostImage: 'labrun/nginx:trixie' },
    { name: 'labrun/sandbox:trixie', hostImage: 'labrun/sandbox:trixie' },
    { name: 'redis:7', hostImage: 'redis:7' },
  ]);
});

test("ensureImages(['nginx:latest']) keeps a current labrun/nginx:trixie and never touches the host's nginx:latest", async (t) => {
  if (!requireDocker(t)) return;
  const before = await imageInfo('labrun/nginx:trixie');
  if (!before) {
    t.skip('labrun/nginx:trixie is not on this engine; run bin/labrun images first');
    return;
  }
  const userNginx = await imageInfo('nginx:latest');
  const lines: string[] = [];
  const mapped = await ensureImages(['nginx:latest', 'nginx'], { onProgress: (l) => lines.push(l) });
  assert.deepEqual(mapped, [{ name: 'nginx:latest', hostImage: 'labrun/nginx:trixie' }]);
  assert.equal((await imageInfo('labrun/nginx:trixie'))?.id, before.id);
  assert.equal((await imageInfo('nginx:latest'))?.id, userNginx?.id);
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.equal(lines[0], 'nginx:latest: provided by labrun/nginx:trixie');
  assert.match(lines[1] ?? '', /^labrun\/nginx:trixie: present, recipe unchanged/);
});

test("a foreign image under a lab's image name survives ensureImages; the recipe builds under its own tag", async (t) => {
  if (!requireDocker(t)) return;
  const hostTag = `labrun/test-x-${run}:1`;
  const name = `lrtest/x-${run}:1`;
  const dir = await recipesDir({
    [`x-${run}`]: {
      'recipe.yaml': `tag: ${hostTag}\nprovides: [${name}]\n`,
      Dockerfile: 'FROM labrun/debian:trixie\nCMD ["true"]\n',
    },
  });
  createdImages.add(hostTag);
  const foreignId = await foreignImage(name);
  const lines: string[] = [];
  const mapped = await ensureImages([name], { recipesDir: dir, onProgress: (l) => lines.push(l) });
  assert.deepEqual(mapped, [{ name, hostImage: hostTag }]);
  const foreign = await imageInfo(name);
  assert.equal(foreign?.id, foreignId, `${name} was replaced:\n${lines.join('\n')}`);
  assert.equal(foreign.labels[RECIPE_HASH_LABEL], undefined);
  const built = await imageInfo(hostTag);
  assert.ok(built, lines.join('\n'));
  createdImages.add(built.id);
  assert.notEqual(built.id, foreignId);
  assert.match(built.labels[RECIPE_HASH_LABEL] ?? '', /^sha256:/);
  assert.ok(lines.includes(`${name}: provided by ${hostTag}`), lines.join('\n'));
});

test("a foreign image under a local-only recipe's own tag is refused, not built over", async (t) => {
  if (!requireDocker(t)) return;
  const hostTag = `labrun/test-y-${run}:1`;
  const dir = await recipesDir({
    [`y-${run}`]: { 'recipe.yaml': `tag: ${hostTag}\n`, Dockerfile: 'FROM labrun/debian:trixie\nCMD ["true"]\n' },
  });
  const foreignId = await foreignImage(hostTag);
  await assert.rejects(ensureImages([hostTag], { recipesDir: dir }), (err: unknown) => {
    assert.ok(err instanceof ImageError, String(err));
    assert.match(err.message, /is on this engine but was not built by labrun/);
    assert.match(err.hint, /docker rmi/);
    return true;
  });
  assert.equal((await imageInfo(hostTag))?.id, foreignId);
});

test('a local recipe on the Debian base is built, labeled, kept, and rebuilt when a file changes', async (t) => {
  if (!requireDocker(t)) return;
  const tag = `labrun-test/images-${run}:built`;
  const name = `hello-${run}`;
  const dir = await recipesDir({
    [name]: {
      'recipe.yaml': `tag: ${tag}\npull: false\nbase: debian\n`,
      // The default base needs a registry: the build only works if ensureImages passes BASE.
      Dockerfile: 'ARG BASE=debian:trixie-slim\nFROM ${BASE}\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n',
      'hello.txt': 'first\n',
    },
  });
  createdImages.add(tag);

  const lines: string[] = [];
  await ensureImages([tag], { recipesDir: dir, onProgress: (l) => lines.push(l) });
  const first = await imageInfo(tag);
  assert.ok(first, `${tag} was not built:\n${lines.join('\n')}`);
  createdImages.add(first.id);
  assert.equal(first.labels[RECIPE_NAME_LABEL], name);
  assert.match(first.labels[RECIPE_HASH_LABEL] ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.ok(lines.some((l) => /Step 3\/\d+ : COPY hello\.txt/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /built in/.test(l)), lines.join('\n'));
  assert.equal(await runIn(tag, ['cat', '/hello.txt']), 'first\n');

  lines.length = 0;
  await ensureImages([tag], { recipesDir: dir, onProgress: (l) => lines.push(l) });
  assert.equal((await imageInfo(tag))?.id, first.id, 'an unchanged recipe must not rebuild');
  assert.ok(lines.some((l) => /recipe unchanged/.test(l)), lines.join('\n'));

  await writeFile(path.join(dir, name, 'hello.txt'), 'second\n');
  lines.length = 0;
  await ensureImages([tag], { recipesDir: dir, onProgress: (l) => lines.push(l) });
  const second = await imageInfo(tag);
  assert.ok(second);
  createdImages.add(second.id);
  assert.notEqual(second.id, first.id);
  assert.notEqual(second.labels[RECIPE_HASH_LABEL], first.labels[RECIPE_HASH_LABEL]);
  assert.ok(lines.some((l) => /recipe changed/.test(l)), lines.join('\n'));
  assert.equal(await runIn(tag, ['cat', '/hello.txt']), 'second\n');
  assert.ok(lines.some((l) => /removed the image it replaced/.test(l)), lines.join('\n'));
  assert.equal(await imageInfo(first.id), undefined, 'the replaced image is not left behind');
});

test('a failing Dockerfile gives an error naming the recipe, the step and its last output', async (t) => {
  if (!requireDocker(t)) return;
  const tag = `labrun-test/images-${run}:broken`;
  const name = `broken-${run}`;
  const dir = await recipesDir({
    [name]: {
      'recipe.yaml': `tag: ${tag}\n`,
      // Failing in the first step after FROM leaves no intermediate image behind to clean up.
      Dockerfile: 'FROM labrun/debian:trixie\nRUN echo about-to-fail && exit 7\n',
    },
  });
  createdImages.add(tag);
  await assert.rejects(ensureImages([tag], { recipesDir: dir }), (err: unknown) => {
    assert.ok(err instanceof ImageError, String(err));
    assert.match(err.message, new RegExp(`building ${tag.replace(/[.:/]/g, '\\$&')} from \\S*${name} failed`));
    assert.match(err.message, /at Step 2\/\d+ : RUN echo about-to-fail && exit 7/);
    assert.match(err.message, /non-zero code: 7/);
    assert.match(err.message, /last output:\n\s+about-to-fail$/);
    assert.match(err.hint, /Dockerfile/);
    return true;
  });
  assert.equal(await imageInfo(tag), undefined);
});

test('a broken recipe.yaml is reported with its file and line before anything is built', async (t) => {
  if (!requireDocker(t)) return;
  const dir = await recipesDir({ [`typo-${run}`]: { 'recipe.yaml': 'tag: labrun-test/x:y\npul: false\n', Dockerfile: 'FROM scratch\n' } });
  await assert.rejects(ensureImages(['labrun-test/x:y'], { recipesDir: dir }), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.match(err.message, /typo-[^/]+\/recipe\.yaml:2:1: pul: /);
    return true;
  });
});

test('an engine that does not answer gives a clear error, not a hang', async () => {
  const engine = new Docker({ socketPath: path.join(os.tmpdir(), `labrun-no-engine-${run}.sock`) });
  await assert.rejects(ensureImages(['nginx:latest'], { engine }), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.match(err.message, /no Docker engine answers/);
    assert.match(err.hint, /ensure-docker\.sh/);
    return true;
  });
});

// A registry address on loopback where nothing listens: pulls fail at once, with no traffic leaving the host.
const DEAD_REGISTRY = '127.0.0.1:1';

test('a pull: true recipe whose registry does not answer is built instead', async (t) => {
  if (!requireDocker(t)) return;
  const tag = `${DEAD_REGISTRY}/labrun-test/images-${run}:pulled`;
  const dir = await recipesDir({
    [`pullable-${run}`]: {
      'recipe.yaml': `tag: ${tag}\npull: true\n`,
      Dockerfile: 'FROM labrun/debian:trixie\nCMD ["true"]\n',
    },
  });
  createdImages.add(tag);
  const lines: string[] = [];
  await ensureImages([tag], { recipesDir: dir, onProgress: (l) => lines.push(l) });
  const built = await imageInfo(tag);
  assert.ok(built, lines.join('\n'));
  createdImages.add(built.id);
  const text = lines.join('\n');
  assert.match(text, /: pulling/);
  assert.match(text, /: no registry copy \(.+\); building/);
  assert.match(text, /: built in/);
});

test('a missing image with no recipe and no registry is an error saying both', async (t) => {
  if (!requireDocker(t)) return;
  const dir = await recipesDir({});
  const tag = `${DEAD_REGISTRY}/labrun-test/images-${run}:nowhere`;
  await assert.rejects(ensureImages([tag], { recipesDir: dir }), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.match(err.message, /is not on this engine, no recipe builds it, and pulling it failed: /);
    assert.match(err.hint, /recipe folder/);
    return true;
  });
});
