// Pure recipe logic: recipe.yaml parsing, the folder content hash, the keep/pull/build decision table,
// the builder's progress stream, Debian mirror discovery in apt sources, tag normalization, and the
// table mapping the image names labs use to the host images recipes build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BuildLog,
  ImageError,
  debianMirror,
  decide,
  hashRecipeFiles,
  imageNameTable,
  mapImageName,
  normalizeTag,
  parseRecipe,
  splitTag,
  type Action,
  type RecipeFileEntry,
} from '../../server/images/recipe.ts';

test('parseRecipe reads the three kinds of recipe and applies defaults', () => {
  assert.deepEqual(parseRecipe('tag: nginx:latest\npull: true\nbase: debian\n', 'r.yaml'), {
    tag: 'nginx:latest',
    provides: [],
    pull: true,
    base: 'debian',
  });
  assert.deepEqual(parseRecipe('tag: labrun/sandbox:latest\n', 'r.yaml'), { tag: 'labrun/sandbox:latest', provides: [], pull: false });
  assert.deepEqual(parseRecipe('tag: labrun/debian:bookworm\ndebootstrap:\n  suite: bookworm\n', 'r.yaml'), {
    tag: 'labrun/debian:bookworm',
    provides: [],
    pull: false,
    debootstrap: { suite: 'bookworm', variant: 'minbase' },
  });
});

test('parseRecipe reads provides: the names the image carries inside sandboxes', () => {
  assert.deepEqual(parseRecipe('tag: labrun/nginx:latest\nprovides: [nginx:latest, nginx:1]\n', 'r.yaml'), {
    tag: 'labrun/nginx:latest',
    provides: ['nginx:latest', 'nginx:1'],
    pull: false,
  });
});

const badRecipes: Array<{ name: string; text: string; expect: RegExp }> = [
  { name: 'unknown field, positioned at its key', text: 'tag: a:b\npul: true\n', expect: /^images\/x\/recipe\.yaml:2:1: pul: / },
  { name: 'missing tag', text: 'pull: true\n', expect: /recipe\.yaml:1:1: tag: / },
  { name: 'upper-case tag', text: 'tag: Nginx:latest\n', expect: /recipe\.yaml:1:6: tag: expected an image tag/ },
  { name: 'pull not a boolean', text: 'tag: a:b\npull: "yes"\n', expect: /recipe\.yaml:2:7: pull: / },
  { name: 'unknown base', text: 'tag: a:b\nbase: alpine\n', expect: /recipe\.yaml:2:7: base: / },
  { name: 'YAML syntax error', text: 'tag: [a\n', expect: /recipe\.yaml:\d+:\d+: YAML: / },
  {
    name: 'debootstrap with a base',
    text: 'tag: a:b\nbase: debian\ndebootstrap:\n  suite: bookworm\n',
    expect: /recipe\.yaml:2:7: base: a debootstrap recipe has no base image/,
  },
  { name: 'not a map', text: '- tag: a:b\n', expect: /recipe\.yaml:1:1: / },
  { name: 'provides not a list', text: 'tag: a:b\nprovides: nginx:latest\n', expect: /recipe\.yaml:2:11: provides: / },
  { name: 'provides an invalid name', text: 'tag: a:b\nprovides: [ok:1, Bad:1]\n', expect: /recipe\.yaml:2:\d+: provides\.1: expected an image tag/ },
];

for (const c of badRecipes) {
  test(`parseRecipe rejects: ${c.name}`, () => {
    assert.throws(
      () => parseRecipe(c.text, 'images/x/recipe.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof ImageError);
        assert.match(err.message, c.expect);
        assert.ok(err.hint.length > 0);
        return true;
      },
    );
  });
}

const file = (path: string, content: string, executable = false): RecipeFileEntry => ({
  path,
  executable,
  content: new TextEncoder().encode(content),
});

test('hashRecipeFiles is stable across file order and changes with any path, byte or mode', () => {
  const base = [file('Dockerfile', 'FROM x\n'), file('entry.sh', 'echo hi\n', true)];
  const h = hashRecipeFiles(base);
  assert.match(h, /^sha256:[0-9a-f]{64}$/);
  assert.equal(hashRecipeFiles([...base].reverse()), h);
  assert.equal(hashRecipeFiles(base.map((f) => ({ ...f, content: new Uint8Array(f.content) }))), h);
  const variants = [
    [file('Dockerfile', 'FROM y\n'), file('entry.sh', 'echo hi\n', true)],
    [file('Dockerfile', 'FROM x\n'), file('entry.sh', 'echo hi\n', false)],
    [file('Dockerfile', 'FROM x\n'), file('run.sh', 'echo hi\n', true)],
    [file('Dockerfile', 'FROM x\n'), file('entry.sh', 'echo hi\n', true), file('extra', '')],
    [file('Dockerfile', 'FROM x\n')],
  ];
  const hashes = new Set([h, ...variants.map(hashRecipeFiles)]);
  assert.equal(hashes.size, variants.length + 1);
});

test('hashRecipeFiles does not confuse where one file ends and the next begins', () => {
  assert.notEqual(hashRecipeFiles([file('a', 'bc')]), hashRecipeFiles([file('ab', 'c')]));
  assert.notEqual(hashRecipeFiles([file('a', 'x'), file('b', '')]), hashRecipeFiles([file('a', ''), file('b', 'x')]));
});

const H = 'sha256:current';
const decisions: Array<{ present: boolean; label?: string; recipe?: { pull: boolean }; action: Action }> = [
  { present: true, action: 'keep' }, // no recipe: whatever is there is used
  { present: false, action: 'pull' },
  { present: true, label: H, recipe: { pull: false }, action: 'keep' },
  { present: true, label: H, recipe: { pull: true }, action: 'keep' },
  { present: true, label: 'sha256:old', recipe: { pull: false }, action: 'build' },
  { present: true, label: 'sha256:old', recipe: { pull: true }, action: 'build' }, // we built it; our recipe changed
  { present: true, recipe: { pull: true }, action: 'keep' }, // a registry copy stands in
  { present: true, recipe: { pull: false }, action: 'refuse' }, // a local-only tag we did not build: never build over it
  { present: false, recipe: { pull: true }, action: 'pull-then-build' },
  { present: false, recipe: { pull: false }, action: 'build' },
];

for (const d of decisions) {
  const name = `present=${d.present} label=${d.label ?? '-'} recipe=${d.recipe ? `pull:${d.recipe.pull}` : 'none'}`;
  test(`decide: ${name} → ${d.action}`, () => {
    const got = decide({ present: d.present, labelHash: d.label }, d.recipe && { ...d.recipe, hash: H });
    assert.equal(got.action, d.action);
    assert.ok(got.reason.length > 0);
  });
}

test('BuildLog follows steps, keeps the current step output, and records the error', () => {
  const log = new BuildLog();
  assert.equal(log.push({ stream: 'Step 1/3 : FROM labrun/debian:bookworm\n' }), 'Step 1/3 : FROM labrun/debian:bookworm');
  assert.equal(log.push({ stream: ' ---> e361fd9fe27f\n' }), undefined);
  // A line may arrive split across events.
  assert.equal(log.push({ stream: 'Step 2/3 : RUN apt-get ins' }), undefined);
  assert.equal(log.push({ stream: 'tall -y nope\n ---> Running in 1234\n' }), 'Step 2/3 : RUN apt-get install -y nope');
  log.push({ stream: 'E: Unable to locate package nope\n' });
  log.push({ errorDetail: { code: 100, message: "The command '/bin/sh -c apt-get install -y nope' returned a non-zero code: 100" }, error: 'x' });
  log.push('not an object');
  assert.deepEqual(log.step, { n: 2, of: 3, instruction: 'RUN apt-get install -y nope' });
  log.push({ stream: 'Removing intermediate container 1234\n' });
  assert.deepEqual(log.tail(), ['E: Unable to locate package nope']);
  assert.match(log.error ?? '', /returned a non-zero code: 100/);
});

test('BuildLog keeps only the last lines of a long step', () => {
  const log = new BuildLog();
  log.push({ stream: 'Step 1/1 : RUN seq 100\n' });
  for (let i = 1; i <= 100; i++) log.push({ stream: `${i}\n` });
  const tail = log.tail();
  assert.ok(tail.length < 100 && tail.length > 3);
  assert.equal(tail.at(-1), '100');
});

// This machine's sources, verbatim in shape: a deb822 file with a snapshot comment and a security entry.
const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

const mirrors: Array<{ name: string; texts: string[]; suite: string; expect: string | undefined }> = [
  { name: 'deb822', texts: [DEB822], suite: 'bookworm', expect: 'http://deb.debian.org/debian' },
  { name: 'deb822 security suite only', texts: [DEB822.split('\n\n')[1] ?? ''], suite: 'bookworm', expect: undefined },
  {
    name: 'one-line with options and a trailing slash',
    texts: ['# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n'],
    suite: 'bookworm',
    expect: 'http://mirror.example/debian',
  },
  { name: 'deb-src lines are not archives for debootstrap', texts: ['deb-src http://src.example/debian bookworm main\n'], suite: 'bookworm', expect: undefined },
  {
    name: 'a third-party repo first, Debian second',
    texts: ['deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n', DEB822],
    suite: 'bookworm',
    expect: 'http://deb.debian.org/debian',
  },
  { name: 'disabled deb822 entry', texts: ['Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n'], suite: 'bookworm', expect: undefined },
  { name: 'other suite', texts: [DEB822], suite: 'trixie', expect: undefined },
];

for (const m of mirrors) {
  test(`debianMirror: ${m.name}`, () => {
    assert.equal(debianMirror(m.texts, m.suite), m.expect);
  });
}

test('splitTag and normalizeTag tell a tag from a registry port', () => {
  assert.deepEqual(splitTag('labrun/debian:bookworm'), { repo: 'labrun/debian', tag: 'bookworm' });
  assert.deepEqual(splitTag('localhost:5000/web'), { repo: 'localhost:5000/web', tag: 'latest' });
  assert.equal(normalizeTag('nginx'), 'nginx:latest');
  assert.equal(normalizeTag('nginx:latest'), 'nginx:latest');
  assert.equal(normalizeTag('localhost:5000/web:1'), 'localhost:5000/web:1');
});

const recipes = [
  { tag: 'labrun/nginx:latest', provides: ['nginx:latest'], dir: 'images/nginx' },
  { tag: 'labrun/sandbox:latest', provides: [], dir: 'images/sandbox' },
];

const mappings: Array<{ name: string; hostImage: string; normalized: string }> = [
  { name: 'nginx:latest', normalized: 'nginx:latest', hostImage: 'labrun/nginx:latest' },
  { name: 'nginx', normalized: 'nginx:latest', hostImage: 'labrun/nginx:latest' },
  { name: 'labrun/nginx:latest', normalized: 'labrun/nginx:latest', hostImage: 'labrun/nginx:latest' },
  { name: 'labrun/sandbox', normalized: 'labrun/sandbox:latest', hostImage: 'labrun/sandbox:latest' },
  { name: 'nginx:1.25', normalized: 'nginx:1.25', hostImage: 'nginx:1.25' }, // no recipe provides it
  { name: 'redis:7', normalized: 'redis:7', hostImage: 'redis:7' },
  { name: 'localhost:5000/nginx', normalized: 'localhost:5000/nginx:latest', hostImage: 'localhost:5000/nginx:latest' },
];

for (const m of mappings) {
  test(`mapImageName: ${m.name} → ${m.hostImage}`, () => {
    assert.deepEqual(mapImageName(imageNameTable(recipes), m.name), { name: m.normalized, hostImage: m.hostImage });
  });
}

test('imageNameTable: a name provided by two recipes is an error naming both', () => {
  const clash = [...recipes, { tag: 'labrun/other:1', provides: ['nginx'], dir: 'images/other' }];
  assert.throws(
    () => imageNameTable(clash),
    (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.match(err.message, /two recipes provide nginx:latest: images\/nginx and images\/other/);
      assert.match(err.hint, /provides/);
      return true;
    },
  );
});

test("imageNameTable: a recipe may not provide another recipe's host tag; listing its own is harmless", () => {
  assert.throws(() => imageNameTable([...recipes, { tag: 'x:1', provides: ['labrun/sandbox'], dir: 'images/x' }]), /two recipes provide labrun\/sandbox:latest/);
  const table = imageNameTable([{ tag: 'labrun/nginx:latest', provides: ['labrun/nginx:latest', 'nginx', 'nginx:latest'], dir: 'images/nginx' }]);
  assert.equal(table.get('nginx:latest'), 'labrun/nginx:latest');
});
