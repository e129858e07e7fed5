// Starting an exec with stdin attached in a container that stopped after the exec was made (a sandbox
// being removed while a terminal opens or a command runs): the engine refuses, and the request must
// not stay open. dockerode leaves it open, and that one socket kept `labrun serve` and test processes
// from exiting. Real Docker; the same refusal is shown leaking without startExec, so the test can fail.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { startExec } from '../../server/sandbox/engine-exec.ts';
import { requireDocker } from '../support/require.ts';

const docker = new Docker();
const NAME = `labrun-test-exec-start-${randomBytes(3).toString('hex')}`;
const IMAGE = 'labrun/debian:trixie';

after(async () => {
  await docker.getContainer(NAME).remove({ force: true }).catch(() => {});
});

/** The sockets of requests to start this exec that are still open in this process. */
function openStartRequests(execId: string): Array<{ destroy(): void }> {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is { destroy(): void } => {
    const message = (h as { _httpMessage?: { path?: string } })._httpMessage;
    return typeof message?.path === 'string' && message.path.includes(`/exec/${execId}/start`);
  });
}

/** The same, after giving a torn-down request's socket a second to close. */
async function openAfterAMoment(execId: string): Promise<Array<{ destroy(): void }>> {
  for (let i = 0; i < 50 && openStartRequests(execId).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return openStartRequests(execId);
}

async function execInStoppedContainer(): Promise<Docker.Exec> {
  const container = docker.getContainer(NAME);
  await container.start().catch(() => {});
  const exec = await container.exec({ Cmd: ['cat'], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
  await container.kill();
  await container.wait();
  return exec;
}

test('a refused exec start leaves no request open (and dockerode alone would)', async (t) => {
  if (!requireDocker(t)) return;
  await docker.createContainer({ name: NAME, Image: IMAGE, Cmd: ['sleep', '300'], Labels: { 'labrun.test': 'exec-start' } });

  const unguarded = await execInStoppedContainer();
  await assert.rejects(unguarded.start({ hijack: true, stdin: true }));
  const leaked = await openAfterAMoment(unguarded.id);
  assert.equal(leaked.length, 1, 'without startExec the refused request stays open (the failure this guards against)');
  for (const socket of leaked) socket.destroy();

  const guarded = await execInStoppedContainer();
  await assert.rejects(startExec(guarded, { stdin: true }));
  assert.equal((await openAfterAMoment(guarded.id)).length, 0, 'startExec left the refused request open');
});
