// The shipped labs load, and the seed lab keeps its contract: the article's compose file verbatim, the
// workspace that names the network linuxnetworks_default, and runnable commands in every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { LabError, loadCatalog } from '../../server/labs/catalog.ts';

test('labs/ loads; the seed lab is found by id', async () => {
  const catalog = await loadCatalog('labs');
  const lab = catalog.byId('linux-networks');
  assert.ok(lab, 'linux-networks lab missing');
  assert.equal(lab.workspace, 'linuxnetworks');
  assert.deepEqual(lab.images, ['nginx:latest']);
  assert.deepEqual(lab.services, ['nginx_a', 'nginx_b']);
  assert.ok(lab.filesDir?.endsWith('labs/linux-networks/files'));
  assert.ok(lab.steps.length >= 6 && lab.steps.length <= 8, `${lab.steps.length} steps`);
  assert.deepEqual(lab.steps.map((s) => s.index), lab.steps.map((_, i) => i));
  assert.equal(lab.steps[0]?.id, 'one-container');
  assert.equal(catalog.byId('nope'), undefined);
  for (const step of lab.steps) {
    assert.match(step.html, /<pre data-lang="bash" data-run/, `step ${step.id} has no runnable command`);
    assert.ok(step.checks.length > 0, `step ${step.id} has no checks`);
  }
});

test("the seed lab's compose file is the top-level one, byte for byte", async () => {
  const top = await readFile('docker-compose.yaml', 'utf8');
  const copy = await readFile('labs/linux-networks/files/docker-compose.yaml', 'utf8');
  assert.equal(copy, top);
});

test('a folder of broken labs throws LabError listing every problem', async () => {
  await assert.rejects(loadCatalog('test/fixtures/labs'), (err: unknown) => {
    assert.ok(err instanceof LabError);
    assert.ok(err.issues.length >= 7, `${err.issues.length} issues`);
    assert.match(err.message, /^test\/fixtures\/labs\/bad-regex\/steps\/01-only\.md:7:28: /);
    return true;
  });
});
