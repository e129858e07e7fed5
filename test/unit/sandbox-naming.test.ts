import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LABEL,
  assertWorkspaceName,
  composeProjectName,
  parseSandboxLabels,
  resourceName,
  sandboxIdFromName,
  sandboxLabels,
} from '../../server/sandbox/naming.ts';

test('compose project names follow compose v1 normalisation', () => {
  const cases: Array<[string, string]> = [
    ['linuxnetworks', 'linuxnetworks'],
    ['LinuxNetworks', 'linuxnetworks'],
    ['my lab.v2', 'mylabv2'],
    ['a_b-c', 'a_b-c'],
  ];
  for (const [folder, project] of cases) assert.equal(composeProjectName(folder), project, folder);
});

test('workspace names are limited to a path- and compose-safe alphabet', () => {
  for (const ok of ['linuxnetworks', 'lab-1', 'a_b', '0x']) assert.doesNotThrow(() => assertWorkspaceName(ok), ok);
  for (const bad of ['', '../etc', 'Upper', 'has space', '-lead', 'x'.repeat(64), 'a/b']) {
    assert.throws(() => assertWorkspaceName(bad), /workspace name/, bad);
  }
});

test('labels round-trip to the identity a restarted server adopts', () => {
  const createdAt = new Date('2026-11-27T18:00:00.123Z');
  const labels = sandboxLabels({ labId: 'linux-networks', learnerId: 'learner-7', workspace: 'linuxnetworks' }, createdAt);
  assert.equal(labels[LABEL.sandbox], '1');
  const identity = parseSandboxLabels({ ...labels, 'com.example.other': 'x' });
  assert.deepEqual(identity, { labId: 'linux-networks', learnerId: 'learner-7', workspace: 'linuxnetworks', createdAt, version: '1' });
});

test('labels that are not ours or are damaged are rejected, not guessed', () => {
  const good = sandboxLabels({ labId: 'l', learnerId: 'u', workspace: 'w' }, new Date());
  assert.equal(parseSandboxLabels(undefined), undefined);
  assert.equal(parseSandboxLabels({}), undefined);
  assert.equal(parseSandboxLabels({ ...good, [LABEL.sandbox]: '0' }), undefined);
  assert.equal(parseSandboxLabels({ ...good, [LABEL.createdAt]: 'yesterday' }), undefined);
  assert.equal(parseSandboxLabels({ ...good, [LABEL.workspace]: '../x' }), undefined);
});

test('resource names carry the sandbox id and only ours parse back', () => {
  assert.equal(resourceName('ab12'), 'labrun-sb-ab12');
  assert.equal(sandboxIdFromName('/labrun-sb-ab12'), 'ab12');
  assert.equal(sandboxIdFromName('labrun-sb-ab12'), 'ab12');
  assert.equal(sandboxIdFromName('labrun-golden-ab12'), undefined);
  assert.equal(sandboxIdFromName('/nginx'), undefined);
});
