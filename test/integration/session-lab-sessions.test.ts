// LabSessions over the real DindDriver: one sandbox per (learner, lab) even under concurrent asks,
// progress reported while it starts, a step's setup run once, and a dead sandbox replaced with a notice.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCatalog } from '../../server/labs/catalog.ts';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { resourceName } from '../../server/sandbox/naming.ts';
import { LabSessions, type SessionEvent } from '../../server/session/lab-sessions.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { makeFixture, reapFixtureSandboxes } from './http-fixture.ts';

test('lab sessions: create once, set up once, replace a dead sandbox', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t);
  t.after(() => reapFixtureSandboxes(fx));
  const catalog = await loadCatalog(fx.labsDir);
  const lab = catalog.byId(fx.labId);
  assert.ok(lab);
  const step = lab.steps[0];
  assert.ok(step);
  // Give the first step a setup script that leaves a trace, to count its runs.
  const withSetup = { ...step, setup: 'echo x >> .setup-runs' };

  const sessions = new LabSessions({ driver: new DindDriver({ stateDir: path.join(fx.dataDir, 'sandboxes') }), healthTtlMs: 0 });
  t.after(() => sessions.dispose());
  const events: SessionEvent[] = [];
  sessions.subscribe((e) => events.push(e));

  assert.equal(sessions.status('local', lab.id).state, 'none');
  const [a, b] = await Promise.all([sessions.ensure('local', lab), sessions.ensure('local', lab)]);
  assert.equal(a, b, 'two concurrent asks share one sandbox');
  assert.equal(sessions.status('local', lab.id).state, 'ready');
  assert.ok(events.some((e) => e.status.state === 'starting' && e.status.progress?.step === 'container'), 'progress was reported');

  await Promise.all([sessions.openStep('local', lab, withSetup), sessions.openStep('local', lab, withSetup)]);
  await sessions.openStep('local', lab, withSetup);
  const runs = await a.exec({ argv: ['cat', '.setup-runs'] });
  assert.equal(runs.stdout, 'x\n', 'setup ran exactly once');

  // The sandbox dies (as after a host reboot or an OOM kill).
  execFileSync('docker', [...SANDBOX_DOCKER, 'rm', '-f', resourceName(a.id)], { stdio: 'pipe' });
  const c = await sessions.ensure('local', lab);
  assert.notEqual(c.id, a.id, 'a new sandbox replaced the dead one');
  const status = sessions.status('local', lab.id);
  assert.equal(status.state, 'ready');
  assert.match(status.notice ?? '', /progress is kept/);
  await sessions.openStep('local', lab, withSetup);
  assert.equal((await c.exec({ argv: ['cat', '.setup-runs'] })).stdout, 'x\n', 'setup ran again in the new sandbox');
  assert.equal(existsSync(path.join(fx.dataDir, 'sandboxes', a.id)), false, 'the dead sandbox was cleaned up');
});
