// Noisy neighbour: a fork bomb in one learner's sandbox (held by its pids and CPU limits) leaves
// another learner's terminal and checks responsive, and ending the class still removes both sandboxes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { LABEL } from '../../server/sandbox/naming.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { TermClient } from './http-clients.ts';
import { call, field, makeFixture, signIn, startServer } from './http-fixture.ts';

/** Long enough for the bomb to hit the sandbox's pids limit and saturate its CPU share. */
const BOMB_RAMP_MS = 5000;

test('a fork bomb in one sandbox leaves another learner responsive', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t);
  const server = await startServer(t, fx, { reapSandboxes: true });
  const { url } = server;
  const ws = url.replace('http', 'ws');
  const owner = await signIn(url);
  const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId });
  const classId = field(created.body, 'id');
  const code = field(created.body, 'joinCode');

  const open = async (name: string): Promise<{ id: string; cookie: string; term: TermClient }> => {
    const res = await call(url, undefined, 'POST', `/api/join/${code}`, { name });
    assert.equal(res.status, 201);
    const cookie = (res.setCookie ?? '').split(';')[0] ?? '';
    const term = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, { Origin: url, Cookie: cookie });
    return { id: field(res.body, 'learnerId'), cookie, term };
  };
  const [noisy, quiet] = await Promise.all([open('Noisy'), open('Quiet')]);

  noisy.term.type('bomb() { bomb | bomb & }; bomb\r');
  await new Promise((r) => setTimeout(r, BOMB_RAMP_MS));
  // The bomb really went off: its sandbox is at (or near) its process limit.
  const bombed = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '--filter', `label=${LABEL.learner}=${noisy.id}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
  const pids = Number(execFileSync('docker', [...SANDBOX_DOCKER, 'stats', '--no-stream', '--format', '{{.PIDs}}', bombed], { encoding: 'utf8' }).trim());
  assert.ok(pids > 500, `the bombed sandbox runs ${pids} processes`);

  quiet.term.type('echo alive-$((6*7))\r');
  await quiet.term.waitFor(/alive-42/);
  quiet.term.type('echo hello > greeting.txt && echo wrote-$((20+22))\r');
  await quiet.term.waitFor(/wrote-42/);
  const check = await call(url, quiet.cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {});
  assert.equal(check.status, 200);
  assert.equal(Reflect.get(Object(check.body), 'passed'), true, JSON.stringify(check.body).slice(0, 1000));
  assert.equal((await fetch(`${url}/healthz`)).status, 200);

  const ended = await call(url, owner, 'POST', `/api/classes/${classId}/end`, {});
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  const left = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '-a', '--filter', `label=${LABEL.lab}=${fx.labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
  assert.equal(left, '', 'both sandboxes removed, the bombed one included');
});
